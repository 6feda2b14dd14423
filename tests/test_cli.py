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


@pytest.mark.heavy
def test_meta_eval_reproduces_the_shipped_benchmark_table():
    """`domaintune meta eval` on the shipped seed history gives docs/results/meta_lodo.md's figures for the
    methods that do not depend on the seed (one seed here; the full table with five seeds and
    1000 replicates is benchmarks/meta_lodo.py's job)."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "results" / "meta_lodo.md").read_text()
    done = domaintune("meta", "eval", "--json", "--seeds", "1", "--bootstrap", "100")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["domains"] >= 20 and data["seeds"] == [0] and data["features"] == ["data", "corpus"]
    assert data["cells"] >= 320 and data["bootstrap"]["over"] == ["domains", "questions"]
    assert {"random", "single-best", "tpe", "nearest", "portfolio", "surrogate", "tpe+nearest"} <= set(data["methods"])
    for method in data["methods"].values():
        assert 0.0 <= method["1"]["regret"] <= 1.0 and method["1"]["rank"] >= 1.0 and 0.0 <= method["1"]["within_noise"] <= 1.0
        assert method["1"]["ci_low"] <= method["1"]["regret"] <= method["1"]["ci_high"]
    assert data["methods"]["random"]["1"]["regret"] == pytest.approx(0.479, abs=0.001)  # the exact expectation
    rows: dict[str, list[str]] = {}
    for line in docs.splitlines():
        if line.startswith("| "):
            rows.setdefault(line.split("|")[1].strip(), line.split("|")[2:6])  # the main table comes first
    for name in ("random", "single-best", "nearest", "portfolio"):  # deterministic: one seed gives the five seeds' mean
        for k, cell in zip(("1", "3", "5", "10"), rows[name]):
            assert f"{data['methods'][name][k]['regret']:.3f}" == cell.split()[0], (name, k)
    assert [(p["baseline"], p["k"]) for p in data["paired"]][:2] == [("single-best", 1), ("single-best", 3)]
    assert all({"learner", "k", "difference", "ci_low", "ci_high"} <= set(p) for p in data["paired"])
    text = domaintune("meta", "eval", "--seeds", "1", "--bootstrap", "0", "--features", "data")
    assert text.returncode == 0 and "| portfolio |" in text.stdout


def test_meta_winners_reports_each_domains_best_against_the_single_best():
    done = domaintune("meta", "winners", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["domains"] == len(report["per_domain"]) >= 20 and report["cells"] >= 320
    assert 0 <= report["beyond_noise"] <= report["domains"] and report["distinct_winners"] >= 1
    assert all(r["best_value"] >= r["single_best_value"] for r in report["per_domain"])
    assert set(report["levels"]) == {"none", "black", "grey", "white"}
    text = domaintune("meta", "winners")
    assert text.returncode == 0 and "beyond noise" in text.stdout and report["single_best"]["label"] in text.stdout
    missing = domaintune("meta", "winners", "--history", "no/such/history.jsonl")
    assert missing.returncode == 2 and "no/such/history.jsonl" in missing.stderr


def test_meta_commands_refuse_a_domain_in_two_views_until_one_is_chosen(tmp_path):
    from domaintune.history import SEED_HISTORY, History

    seed = History.load(SEED_HISTORY)
    (domain, view), = {r.task for r in seed if r.domain == "gcide-law"}
    other = [r.model_copy(update={"view": "term_to_definition"}) for r in seed if r.domain == "gcide-law"]
    mixed = History(list(seed) + other).to_jsonl(tmp_path / "mixed.jsonl")
    refused = domaintune("meta", "winners", "--history", str(mixed))
    assert refused.returncode == 2 and "gcide-law" in refused.stderr and "--view" in refused.stderr
    chosen = domaintune("meta", "winners", "--json", "--history", str(mixed), "--view", view)
    assert chosen.returncode == 0, chosen.stderr
    assert json.loads(chosen.stdout) == json.loads(domaintune("meta", "winners", "--json").stdout)


def test_propose_prints_reasons_and_costs():
    done = domaintune("propose", "--domain", "gcide-astronomy", "--view", "definition_to_term", "-n", "3", "--learner", "nearest", "--json")
    assert done.returncode == 0, done.stderr
    proposals = json.loads(done.stdout)
    assert len(proposals) == 3 and all("nearest domains" in p["reason"] and p["predicted_cost_seconds"] > 0 for p in proposals)
    done = domaintune("propose", "--domain", "no-such-domain", "-n", "3")
    assert done.returncode == 2 and "no-such-domain" in done.stderr
