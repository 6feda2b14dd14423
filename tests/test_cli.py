"""The command line as a user runs it: a subprocess, its exit code, stdout and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from domaintune.config import DEFAULT_LEARNER

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


@pytest.mark.heavy
def test_meta_eval_reproduces_the_shipped_json_exactly():
    """`domaintune meta eval --json` (no flags: the shipped history, the default features, seeds and
    bootstrap) prints benchmarks/results/meta_eval.json byte for byte: the meta-features need no
    model and no hub, and every seeded step is seeded."""
    shipped = (Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "meta_eval.json").read_text()
    done = domaintune("meta", "eval", "--json", timeout=1800)
    assert done.returncode == 0, done.stderr
    assert done.stdout == shipped
    data = json.loads(done.stdout)
    assert data["on"] == "evaluation" and data["features"] == ["data", "corpus", "task"]
    assert data["default_learner"] == DEFAULT_LEARNER  # the default is what the benchmark ranks first
    cells = [c for m in data["methods"].values() for c in m.values() if c["regret"] is not None]
    assert cells and all(c["ci_low"] <= c["regret"] <= c["ci_high"] for c in cells)
    assert {(p["baseline"], p["k"]) for p in data["paired"]} >= {("single-best", 1), ("single-best", 3)}
    text = domaintune("meta", "eval", "--bootstrap", "0", "--features", "data")
    assert text.returncode == 0 and "| portfolio |" in text.stdout and "Table view (secondary)" in text.stdout


def test_meta_winners_reports_each_tasks_best_against_its_familys_single_best():
    done = domaintune("meta", "winners", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["tasks"] == len(report["per_task"]) >= 20 and report["cells"] >= 320
    assert 0 <= report["beyond_noise"] <= report["testable"] <= report["tasks"] and report["distinct_winners"] >= 1
    assert all(r["best_value"] >= r["single_best_value"] for r in report["per_task"])
    assert set(report["levels"]) == {"none", "black", "grey", "white"}
    text = domaintune("meta", "winners")
    assert text.returncode == 0 and "beyond noise" in text.stdout
    assert all(entry["label"] in text.stdout for entry in report["single_best"].values())
    missing = domaintune("meta", "winners", "--history", "no/such/history.jsonl")
    assert missing.returncode == 2 and "no/such/history.jsonl" in missing.stderr


def test_a_domain_in_two_views_is_two_tasks(tmp_path):
    from domaintune.history import SEED_HISTORY, History

    seed = History.load(SEED_HISTORY)
    shipped = {r.task for r in seed if r.domain == "gcide-law"}  # one task per base model
    law = [r for r in seed if r.task == min(shipped) and r.stage == "screening"]
    other = [r.model_copy(update={"view": "term_to_definition"}) for r in law]
    mixed = History(list(seed) + other).to_jsonl(tmp_path / "mixed.jsonl")
    done = domaintune("meta", "winners", "--json", "--history", str(mixed))
    assert done.returncode == 0, done.stderr
    tasks = {r["task"] for r in json.loads(done.stdout)["per_task"] if r["domain"] == "gcide-law"}
    assert tasks == shipped | {other[0].task} and len(tasks) == len(shipped) + 1


def test_propose_prints_reasons_and_costs():
    done = domaintune("propose", "--domain", "gcide-astronomy", "--view", "definition_to_term", "-n", "3", "--learner", "nearest", "--json")
    assert done.returncode == 0, done.stderr
    proposals = json.loads(done.stdout)
    assert len(proposals) == 3 and all("nearest tasks" in p["reason"] and p["predicted_cost_seconds"] > 0 for p in proposals)
    assert all(p["caveats"] == [] for p in proposals)  # a glossary, multiple choice, the built-in model: all in the history
    done = domaintune("propose", "--domain", "no-such-domain", "-n", "3")
    assert done.returncode == 2 and "no-such-domain" in done.stderr
