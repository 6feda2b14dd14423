"""The command line as a user runs it: a subprocess, its exit code, stdout and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def domaintune(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "domaintune", *args],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=timeout,
    )


def test_help_and_version():
    result = domaintune("--help")
    assert result.returncode == 0 and "sweep" in result.stdout and "domains" in result.stdout
    assert domaintune("--version").stdout.startswith("domaintune ")


def test_help_does_not_import_heavy_libraries():
    code = "import sys, domaintune.cli; print(sorted(m for m in ('torch','ray','mlflow','transformers','peft') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_domains_and_spaces_listings_as_json():
    domains = json.loads(domaintune("domains", "list", "--json").stdout)
    assert "jargon" in {d["name"] for d in domains}
    shown = json.loads(domaintune("domains", "show", "jargon", "--json").stdout)
    assert shown["fingerprint"] == [d for d in domains if d["name"] == "jargon"][0]["fingerprint"]
    spaces = json.loads(domaintune("spaces", "list", "--json").stdout)
    assert {"greybox", "whitebox", "hybrid"} <= {s["name"] for s in spaces}
    assert json.loads(domaintune("spaces", "show", "whitebox", "--json").stdout)["adapter"] == ["lora", "full"]


@pytest.mark.parametrize(
    ("text", "key"),
    [("search:\n  num_sampels: 4\n", "search.num_sampels"), ("runner:\n  eval_every: big\n", "runner.eval_every"),
     ("space:\n  learning_rate: {low: 0.1, high: 0.01}\n", "space.learning_rate")],
)
def test_bad_config_exits_2_naming_the_key(tmp_path, text, key):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = domaintune("sweep", str(path))
    assert result.returncode == 2
    assert key in result.stderr and "Traceback" not in result.stderr


def test_unknown_domain_and_unreachable_server_are_clean_errors(tmp_path):
    result = domaintune("domains", "show", "atlantis")
    assert result.returncode == 2 and "unknown domain 'atlantis'" in result.stderr
    result = domaintune(
        "sweep", str(ROOT / "experiments" / "quickstart.yaml"), cwd=tmp_path,
        env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"},
    )
    assert result.returncode == 1 and "http://127.0.0.1:9 is unreachable" in result.stderr
