"""Scripts that cannot rot: every script in benchmarks/ and experiments/ runs against the
current code at its smallest setting (a tiny model, a few questions, or the replay runner).
A refactor that breaks one fails here. Their real figures come from running them in full."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from domaintune.strategy import Strategy

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.relative_to(ROOT).as_posix() for folder in ("benchmarks", "experiments") for p in (ROOT / folder).glob("*.py"))


def run(script: str, *args: str, cwd: Path, timeout: int = 600) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}"}
    done = subprocess.run([sys.executable, str(ROOT / script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture
def tiny_design(tmp_path, tiny_model_dir) -> Path:
    design = {
        "view": "definition_to_term",
        "questions": 3,
        "runner": {"model": tiny_model_dir, "eval_every": 2},
        "domains": ["jargon"],
        "strategies": [{"template": "plain"}, {"template": "instruction", "adapter": "lora", "steps": 2, "batch_size": 2}],
    }
    path = tmp_path / "design.yaml"
    path.write_text(yaml.safe_dump(design))
    return path


def test_meta_dataset_scripts_measure_build_and_export(tmp_path, tiny_design):
    cells = tmp_path / "cells.jsonl"
    out = run("experiments/01_measure_cost.py", "--design", str(tiny_design), "--out", str(cells), "--workers", "1", cwd=tmp_path)
    assert "CPU-hours" in out and len(cells.read_text().splitlines()) == 2
    run("experiments/02_build_meta_dataset.py", "--design", str(tiny_design), "--out", str(cells), "--workers", "1", cwd=tmp_path)
    assert len(cells.read_text().splitlines()) == 2  # resumed: nothing to redo
    history, markdown = tmp_path / "seed.jsonl", tmp_path / "meta_dataset.md"
    run("experiments/03_export_history.py", "--design", str(tiny_design), "--cells", str(cells), "--out", str(history), "--markdown", str(markdown), cwd=tmp_path)
    records = [json.loads(line) for line in history.read_text().splitlines()]
    assert len(records) == 2 and all(len(r["outcomes"]) == len(r["question_ids"]) == 3 for r in records)
    text = markdown.read_text()
    assert "jargon" in text and text.startswith("# Meta-dataset dataset")  # not titled (or written) as the shipped one
    assert "from `experiments/design.yaml`" in text and f"Exported as `{history}`" in text


def test_a_halving_design_builds_domain_by_domain_and_exports_its_winners(tmp_path, tiny_model_dir):
    design = {
        "view": "definition_to_term",
        "questions": 6,
        "runner": {"model": tiny_model_dir},
        "halving": [{"questions": 3}, {"questions": 6, "keep": 1}],
        "domains": ["jargon", "vera"],
        "strategies": [{"template": "plain"}, {"template": "instruction", "scoring": "calibrated"}, {"retrieval": "bm25", "top_k": 1}],
    }
    path = tmp_path / "meta_design_tiny.yaml"
    path.write_text(yaml.safe_dump(design))
    out = run("experiments/02_build_meta_dataset.py", "--design", str(path), "--workers", "0", "--out", str(tmp_path / "cells.jsonl"), cwd=tmp_path)
    assert out.index("[1/2] rung 1 jargon") < out.index("[2/2] rung 0 vera")  # a domain's rungs, then the next domain
    cells = [json.loads(line) for line in (tmp_path / "cells.jsonl").read_text().splitlines()]
    assert len(cells) == 2 * (3 + 1) and {c["rung"] for c in cells} == {0, 1}
    history, markdown = tmp_path / "history.jsonl", tmp_path / "report.md"
    printed = run("experiments/03_export_history.py", "--design", str(path), "--cells", str(tmp_path / "cells.jsonl"),
                  "--out", str(history), "--markdown", str(markdown), cwd=tmp_path)
    records = [json.loads(line) for line in history.read_text().splitlines()]
    assert len(records) == 2 * 3 and sorted(r["questions"] for r in records) == [3, 3, 3, 3, 6, 6]
    text = markdown.read_text()
    assert "2 of 2 tasks complete" in text and "beyond noise" in text and "| all | | 8 |" in text and text in printed


def test_confirm_on_test_chooses_on_validation_and_scores_only_the_two_chosen_on_test(tmp_path, tiny_model_dir):
    from domaintune.domains import load_domain
    from domaintune.history import History, Record

    lora = {"adapter": "lora", "steps": 2, "batch_size": 2, "lora_layers": "top:1"}
    values = [({"template": "plain"}, 0.5), ({"template": "instruction"}, 0.7), (lora, 0.6), ({**lora, "steps": 3}, 0.4)]
    fingerprint = load_domain("jargon").fingerprint
    history = tmp_path / "history.jsonl"
    History([Record(domain="jargon", fingerprint=fingerprint, view="definition_to_term", metric="accuracy", value=v,
                    strategy=Strategy.from_dict(s).active()) for s, v in values]).to_jsonl(history)
    cells = tmp_path / "cells.jsonl"
    args = ("--history", str(history), "--domains", "jargon", "--level", "white", "--questions", "3", "--model", tiny_model_dir, "--out", str(cells))
    earlier = {"domain": "vera", "level": "white", "verdict": "tie"}  # an earlier run's domain stays in the summary
    cells.with_suffix(".summary.json").write_text(json.dumps([earlier]))
    out = run("experiments/06_confirm_on_test.py", *args, cwd=tmp_path)
    scored = [json.loads(line) for line in cells.read_text().splitlines()]
    # the validation bests of each side (instruction; the 2-step LoRA), nothing else, on the same test questions
    assert [Strategy.from_dict(c["strategy"]).trains for c in scored] == [True, False] and {c["split"] for c in scored} == {"test"}
    assert scored[0]["strategy"]["steps"] == 2 and scored[1]["strategy"]["template"] == "instruction"
    assert scored[0]["question_ids"] == scored[1]["question_ids"] and len(scored[0]["question_ids"]) == 3
    summary, kept = json.loads(cells.with_suffix(".summary.json").read_text())  # sorted by domain
    assert kept == earlier and summary["domain"] == "jargon"
    assert summary["with_validation"] == 0.6 and summary["without_validation"] == 0.7 and summary["test_questions"] == 3
    assert "| jargon |" in out and summary["verdict"] in ("tie", "white better", "white worse")
    run("experiments/06_confirm_on_test.py", *args, cwd=tmp_path)
    assert len(cells.read_text().splitlines()) == 2  # resumed: nothing scored again
    assert [s["domain"] for s in json.loads(cells.with_suffix(".summary.json").read_text())] == ["jargon", "vera"]


@pytest.mark.heavy
def test_warm_vs_cold_runs_on_a_held_out_domain_and_resumes(tmp_path):
    from domaintune.history import load_history

    others = tmp_path / "others.jsonl"
    load_history().without_domain("gcide-law").to_jsonl(others)
    config = yaml.safe_load((ROOT / "experiments" / "replay_sweep.yaml").read_text())
    config.update(warm_start={"learner": "portfolio", "n": 2, "history": [str(others)]}, storage=str(tmp_path / "ray"))
    config["search"].update(num_samples=3, scheduler="fifo")
    path = tmp_path / "warm.yaml"
    path.write_text(yaml.safe_dump(config))
    results = tmp_path / "results"
    args = ("--config", str(path), "--domains", "gcide-law", "--results", str(results))
    out = run("experiments/04_warm_vs_cold.py", *args, cwd=tmp_path)
    pair = json.loads((results / "gcide-law_seed0.json").read_text())
    assert pair["domain"] == "gcide-law" and pair["proposals"] == 2 and len(pair["cold_best_so_far"]) == len(pair["warm_best_so_far"]) == 3
    summary = json.loads((results / "summary.json").read_text())
    assert summary["pairs"] == 1 and summary["domains"] == ["gcide-law"] and "95% interval" in out
    assert [r["measure"] for r in summary["rows"]][:2] == ["best within 1 trials", "best within 3 trials"]
    again = run("experiments/04_warm_vs_cold.py", *args, cwd=tmp_path)  # on record: nothing runs again
    assert "on record" in again and json.loads((results / "summary.json").read_text()) == summary
    refused = subprocess.run([sys.executable, str(ROOT / "experiments" / "04_warm_vs_cold.py"), "--config", str(path), "--domains", "jargon"],
                             cwd=tmp_path, capture_output=True, text=True)
    assert refused.returncode == 2 and "jargon is in the learner's history" in refused.stderr


def test_warm_vs_cold_summary_resamples_domains_then_seeds():
    import runpy

    summarize = runpy.run_path(str(ROOT / "experiments" / "04_warm_vs_cold.py"))["summarize"]

    def pair(domain, warm, cold):
        return {"domain": domain, "warm_best_so_far": warm, "cold_best_so_far": cold, "warm_test_score": warm[-1], "cold_test_score": cold[-1]}

    ahead = [pair(d, [0.8, 0.8], [0.5, 0.8]) for d in ("a", "b", "c") for _ in range(3)]
    summary = summarize(ahead, [1, 2], replicates=500)
    first, last = summary["rows"][0], summary["rows"][1]
    assert first["difference"] == pytest.approx(0.3) and first["ci_low"] == pytest.approx(0.3) and first["verdict"] == "warm better"
    assert last["difference"] == 0.0 and last["verdict"] == "tie" and summary["seeds_per_domain"] == {"a": 3, "b": 3, "c": 3}
    mixed = summarize([pair("a", [0.9], [0.5]), pair("b", [0.5], [0.9]), pair("c", [0.7], [0.7])], [1], replicates=500)
    assert mixed["rows"][0]["ci_low"] < 0 < mixed["rows"][0]["ci_high"] and mixed["rows"][0]["verdict"] == "tie"
    # the domain is the unit: a domain with three seeds weighs as much as one with one seed
    uneven = summarize([pair("a", [0.9], [0.5])] * 3 + [pair("b", [0.5], [0.7])], [1], replicates=200)
    assert uneven["rows"][0]["difference"] == pytest.approx((0.4 - 0.2) / 2) and uneven["seeds_per_domain"] == {"a": 3, "b": 1}


@pytest.mark.heavy
def test_overhead_benchmark_prints_its_ratio(tmp_path, tiny_model_dir):
    out = run("benchmarks/overhead.py", "--questions", "2", "--steps", "2", "--model", tiny_model_dir, "--out", str(tmp_path / "o.json"), cwd=tmp_path)
    assert "ratio" in out and json.loads((tmp_path / "o.json").read_text())["rows"]


@pytest.mark.heavy
def test_zero_shot_and_levels_benchmarks_at_their_smallest(tmp_path, tiny_model_dir):
    cells = tmp_path / "zero_shot.jsonl"
    run("benchmarks/zero_shot.py", "--domains", "jargon", "--views", "definition_to_term", "--questions", "2", "--workers", "1",
        "--model", tiny_model_dir, "--out", str(cells), cwd=tmp_path)
    assert "| jargon |" in run("benchmarks/zero_shot.py", "--table", "--out", str(cells), cwd=tmp_path)
    levels = tmp_path / "levels.jsonl"
    run("benchmarks/levels.py", "--domains", "jargon", "--levels", "none,grey", "--questions", "2", "--workers", "1",
        "--model", tiny_model_dir, "--out", str(levels), cwd=tmp_path)
    rows = [json.loads(line) for line in levels.read_text().splitlines()]
    assert {r["split"] for r in rows} == {"validation", "test"} and sum(r["split"] == "test" for r in rows) == 2
    assert "| jargon |" in run("benchmarks/levels.py", "--table", "--out", str(levels), cwd=tmp_path)
    run("benchmarks/levels.py", "--history", "--out", str(levels), cwd=tmp_path)
    assert (tmp_path / "levels_history.jsonl").exists()


def test_meta_lodo_benchmark_on_a_small_history(tmp_path):
    from domaintune.history import History, load_history

    seed = load_history()
    small = History([r for r in seed if r.domain in seed.domains()[:5]]).to_jsonl(tmp_path / "small.jsonl")
    out = tmp_path / "lodo.md"
    printed = run("benchmarks/meta_lodo.py", "--no-ablation", "--history", str(small), "--out", str(out), cwd=tmp_path)
    assert "portfolio" in printed and "portfolio" in out.read_text()


def test_knowledge_curve_on_a_small_history(tmp_path):
    from domaintune.history import History, load_history

    seed = load_history()
    first = {d: min(r.task for r in seed if r.domain == d) for d in seed.domains()[:4]}  # one task per domain
    small = History([r for r in seed if r.task in first.values()]).to_jsonl(tmp_path / "small.jsonl")
    out, data = tmp_path / "curve.md", tmp_path / "curve.json"
    printed = run("benchmarks/knowledge_curve.py", "--draws", "1", "--history", str(small), "--out", str(out), "--json", str(data), cwd=tmp_path)
    curve = json.loads(data.read_text())
    assert curve["sizes"] == [1, 2, 3] and [e["tasks"] for e in curve["curve"]] == [4, 4, 4]
    assert all(e["ci"]["1"][0] <= e["regret"]["1"] <= e["ci"]["1"][1] for e in curve["curve"])
    assert "Knowledge curve" in printed and "| 3 | 4 |" in out.read_text()


# As if ray, mlflow, optuna and gguf were not installed (a bare GPU machine): the path finder misses them.
BLOCK = """
import importlib.machinery
_find = importlib.machinery.PathFinder.find_spec
def _hidden(name, path=None, target=None):
    return None if name.split('.')[0] in {'ray', 'mlflow', 'optuna', 'gguf'} else _find(name, path, target)
importlib.machinery.PathFinder.find_spec = staticmethod(_hidden)
"""


def test_gpu_benchmark_runs_bare_without_ray_mlflow_optuna_or_gguf(tmp_path, tiny_model_dir, monkeypatch):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK)
    monkeypatch.setenv("PYTHONPATH", f"{blocker}{os.pathsep}{ROOT}")
    out = tmp_path / "gpu.json"
    printed = run("benchmarks/gpu.py", "run", "--model", tiny_model_dir, "--device", "cpu", "--questions", "2",
                  "--out", str(out), "--baseline", str(tmp_path / "none.json"), cwd=tmp_path)
    report = json.loads(out.read_text())
    assert "train tok/s" in printed and report["resolved"] == "cpu" and len(report["rows"]) == 5
    assert sum(bool(r["train_tokens_per_s"]) for r in report["rows"]) == 2 and all(r["questions_per_s"] > 0 for r in report["rows"])


def test_model_cost_prints_seconds_per_question_and_ratios(tmp_path, tiny_model_dir):
    printed = run("benchmarks/model_cost.py", "--models", tiny_model_dir, tiny_model_dir, "--questions", "2",
                  "--cases", "mc", "qa", "--domain", "jargon", cwd=tmp_path)
    assert "eval s/q" in printed and "mc:" in printed and "qa:" in printed


def test_device_cpu_benchmark_prints_its_ratio(tmp_path, tiny_model_dir):
    out = run("benchmarks/device_cpu.py", "--model", tiny_model_dir, "--questions", "2", "--rounds", "1", "--shots", "1", cwd=tmp_path)
    assert "ratio to before" in out


@pytest.mark.heavy
def test_faults_benchmark_counts_what_a_kill_broke(tmp_path):
    out = tmp_path / "faults.json"
    printed = run("benchmarks/faults.py", "--seeds", "1", "--kills", "1", "--samples", "2", "--delay", "1", "--out", str(out), cwd=tmp_path, timeout=900)
    (seed,) = json.loads(out.read_text())["seeds"]
    assert "run twice" in printed and seed["trials_finished"] >= 2 and len(seed["kills"]) == 1
    assert seed["finished_trials_run_twice"] == 0 and seed["runs_left_running"] == 0 and seed["final_exit"] == 0


@pytest.mark.heavy
def test_scale_benchmark_records_every_trial_once_at_its_smallest(tmp_path):
    out = tmp_path / "scale.json"
    printed = run("benchmarks/scale.py", "--trials", "12", "--store", "sqlite", "--nodes", "1", "--concurrent", "4", "--out", str(out), cwd=tmp_path, timeout=900)
    (row,) = json.loads(out.read_text())["rows"]
    assert "trials/min" in printed and row["trials"] == row["child_runs"] == row["history_records"] == row["records_with_outcomes"] == 12
    assert row["running_left"] == 0 and row["repeated_evaluations"] == 0 and row["snapshots"] >= 1


def test_throughput_benchmark_and_cost_projection_at_their_smallest(tmp_path, tiny_design):
    out = tmp_path / "throughput.json"
    printed = run("benchmarks/throughput.py", "--design", str(tiny_design), "--domain", "jargon", "--questions", "3", "--limit", "1",
                  "--json", str(out), cwd=tmp_path)
    summary = json.loads(out.read_text())
    assert "ratio" in printed and summary["strategies"] == 1 and summary["all_same_outcomes"] is True
    printed = run("experiments/05_project_cost_v2.py", "--throughput", str(out), "--workers", "1", cwd=tmp_path)
    assert "CPU-hours" in printed


def test_the_v3_cost_projection_prints_cpu_hours_per_group_and_what_an_exact_random_adds(tmp_path):
    cells = ROOT / "experiments" / "results" / "meta_dataset_v3.jsonl"
    printed = run("experiments/05_project_cost_v3.py", "--workers", "2", "--calibrate", str(cells), cwd=tmp_path)
    assert "56 tasks" in printed and "free_text / gemma3-270m" in printed and "CPU-hours" in printed
    exact = re.search(r"exact random: \+([\d.]+) CPU-hours for (\d+) strategies .* \+([\d.]+) CPU-hours \(calibrated\) on the (\d+) tasks left", printed)
    assert exact and float(exact[1]) > 0 and int(exact[2]) > 0 and float(exact[3]) > 0, printed


def test_every_script_is_covered_here():
    """A new script needs a smallest-setting test above (one that calls ``run(script, ...)``)."""
    source = Path(__file__).read_text()
    uncovered = {script for script in SCRIPTS if f'run("{script}"' not in source}
    assert SCRIPTS and not uncovered, f"scripts without a smallest-setting test in tests/test_scripts.py: {sorted(uncovered)}"


@pytest.mark.heavy
def test_history_read_benchmark_reads_the_same_records_with_threads(tmp_path):
    out = tmp_path / "read.json"
    printed = run("benchmarks/history_read.py", "--runs", "3", "--repeats", "1", "--threads", "2", "--out", str(out), cwd=tmp_path)
    result = json.loads(out.read_text())
    assert result["runs"] == 3 and result["same_records"] and result["speedup"] > 0 and "same records: yes" in printed
