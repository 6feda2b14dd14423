"""The whole loop as a user runs it, through the CLI: real SmolLM2, real Ray, real MLflow."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.test_cli import ROOT, domaintune


@pytest.mark.slow
@pytest.mark.heavy
def test_quickstart_shape_with_the_real_model(tmp_path, smollm2_dir):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = domaintune(
        "sweep", str(ROOT / "experiments" / "quickstart.yaml"), "--json",
        "--set", "search.num_samples=3", "--set", "runner.questions=6", "--set", "runner.test_questions=6",
        "--set", "space.steps=2", "--set", "runner.eval_every=2", "--set", "space.batch_size=2",
        cwd=tmp_path, env={"MLFLOW_TRACKING_URI": uri},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert len(summary["trials"]) == 3 and summary["best_strategy"] is not None
    assert 0.0 <= summary["test_score"] <= 1.0 and summary["test_questions"] == 6
    # The warm-start point from the config runs in the first concurrent pair (which of the two
    # starts a few milliseconds first is Ray's choice).
    first_pair = [t["strategy"] for t in summary["trials"][:2]]
    assert any(s["template"] == "plain" and s["adapter"] == "none" and s["n_shots"] == 0 and s["retrieval"] == "none" for s in first_pair)
    runs = MlflowClient(uri).search_runs([summary["experiment_id"]])
    assert len(runs) == 4 and {r.info.status for r in runs} == {"FINISHED"}


def _store_has_child(uri: str) -> bool:
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("domaintune")
    if experiment is None:
        return False
    return any("mlflow.parentRunId" in r.data.tags for r in client.search_runs([experiment.experiment_id]))


@pytest.mark.heavy
def test_ctrl_c_marks_open_runs_killed(tmp_path, tiny_model_dir, small_domain):
    from domaintune.domains import save_domain

    config = yaml.safe_load((ROOT / "experiments" / "quickstart.yaml").read_text())
    config["domain"] = str(save_domain(small_domain, tmp_path / "domain"))
    config["runner"].update(model=tiny_model_dir, questions=4, eval_every=200)
    config["space"].update(adapter="lora", retrieval="none", steps=100000, batch_size=2)
    config["search"].update(points_to_evaluate=[], num_samples=4)
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(config))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # Create the store's tables before the sweep starts: this test polls the store while the sweep
    # runs, and two processes migrating one new SQLite file at once can fail either of them.
    MlflowClient(uri).search_experiments()
    process = subprocess.Popen(
        [sys.executable, "-m", "domaintune", "sweep", str(path), "--quiet"],
        cwd=tmp_path, env={**__import__("os").environ, "MLFLOW_TRACKING_URI": uri},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.time() + 180
        while not _store_has_child(uri):
            assert process.poll() is None, process.communicate()[1][-3000:]
            assert time.time() < deadline, "no trial started in 180 s"
            time.sleep(1)
        time.sleep(3)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr[-3000:]
    runs = MlflowClient(uri).search_runs([MlflowClient(uri).get_experiment_by_name("domaintune").experiment_id])
    statuses = [r.info.status for r in runs]
    assert "RUNNING" not in statuses and statuses.count("KILLED") >= 2  # the parent and the open trial(s)
