"""The champion as a pyfunc model: a scheduled sweep with a real (tiny, random) model registers it,
and a fresh process loads ``models:/<domain>@champion`` and answers the validation questions with
exactly the accuracy the sweep recorded (on a SQLite file, then on an MLflow server on PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

import domaintune
from domaintune.domains import EVOLVING
from domaintune.schedule import run_due

QUESTIONS = 8

ANSWER = """
import json, sys
import mlflow.pyfunc, pandas as pd
from domaintune.domains import load_domain
from domaintune.runners import scored_rows

model = mlflow.pyfunc.load_model("models:/gcide-law-evolving@champion")
rows = scored_rows(load_domain("gcide-law-evolving").view("definition_to_term"), "validation", int(sys.argv[1]), 0)
frame = pd.DataFrame([{"question": r["question"], "options": r["options"]} for r in rows])
out = model.predict(frame)
right = [int(i == r["answer"]) for i, r in zip(out["answer_index"], rows)]
print(json.dumps({"accuracy": sum(right) / len(right), "answers": list(out["answer"]), "options": [r["options"] for r in rows]}))
"""


@pytest.mark.slow
@pytest.mark.heavy
def test_a_scheduled_champion_answers_in_a_fresh_process_with_its_recorded_accuracy(tmp_path, monkeypatch, store, tiny_model_dir):
    import ray

    tracking_uri = store.uri
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.setenv("DOMAINTUNE_DOMAINS", str(tmp_path / "domains"))
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({
        "name": "evo-tiny", "domain": EVOLVING, "view": "definition_to_term",
        "runner": {"kind": "lm", "model": tiny_model_dir, "questions": QUESTIONS, "test_questions": 6, "eval_every": 2, "max_length": 64},
        # Only LoRA strategies: the champion must carry its trained adapter as an artifact.
        "space": {"template": "plain", "adapter": "lora", "lora_rank": [2, 4], "lora_target_modules": "q_proj,v_proj",
                  "lora_layers": "all", "steps": 4, "batch_size": 2, "learning_rate": 0.01, "warmup_steps": 0},
        "search": {"num_samples": 2, "max_concurrent": 2, "scheduler": "fifo", "points_to_evaluate": [{"lora_rank": 2}, {"lora_rank": 4}]},
        "warm_start": {"learner": "random", "n": 1},
        "tracking": {"experiment": store.experiment("evo-tiny")},
        "storage": str(tmp_path / "ray"),
    }))
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(yaml.safe_dump({
        "tracking": {"experiment": store.experiment("evo-schedule")}, "lock_dir": str(tmp_path / "locks"),
        "feedback_history": str(tmp_path / "feedback.jsonl"),
        "entries": [{"name": "evo-tiny", "config": "sweep.yaml", "triggers": {"data_changed": True}}],
    }))
    try:
        [result] = run_due(schedule)
    finally:
        ray.shutdown()
    assert result["promoted"] and result["version"] == "1"
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    recorded = client.get_run(result["sweep_run_id"]).data.metrics["best_validation_accuracy"]
    # The challenger's per-question outcomes are the trial's own (its worker wrote them).
    assert result["challenger_outcomes"] == "from the trial"
    assert result["validation"]["value"] == pytest.approx(recorded, abs=1e-12)
    assert result["validation"]["questions"] == QUESTIONS
    version = client.get_model_version("gcide-law-evolving", "1")
    assert json.loads(version.tags["domaintune.strategy"])["adapter"] == "lora"
    assert version.tags["domaintune.test_accuracy"] == str(result["test_score"])

    root = str(Path(domaintune.__file__).resolve().parents[1])
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": root, "HF_HUB_OFFLINE": "1"}
    answered = subprocess.run([sys.executable, "-c", ANSWER, str(QUESTIONS)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert answered.returncode == 0, answered.stderr[-3000:]
    out = json.loads(answered.stdout.strip().splitlines()[-1])
    assert out["accuracy"] == pytest.approx(recorded, abs=1e-12)
    assert all(answer in options for answer, options in zip(out["answers"], out["options"]))
    assert len(out["answers"]) == QUESTIONS
