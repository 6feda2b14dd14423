"""Two different sweeps at once against one real `mlflow server` (on SQLite, then on PostgreSQL as
production runs it): nothing lost, nothing mixed."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from mlflow.tracking import MlflowClient

from tests.sweeps import runs, split, start_sweep

pytestmark = pytest.mark.slow


@pytest.mark.heavy
def test_two_sweeps_on_one_server_lose_nothing_and_mix_nothing(tmp_path, served):
    sweeps = {"law": "gcide-law", "medicine": "gcide-medicine"}
    experiment = served.experiment("domaintune-replay")
    processes = {
        name: start_sweep(
            served.uri, tmp_path / f"ray-{name}", "--set", f"name={name}", "--set", f"domain={domain}", "--set", "search.num_samples=6",
            "--set", f"tracking.experiment={experiment}", log=tmp_path / f"{name}.log",
        )
        for name, domain in sweeps.items()
    }
    try:
        for name, process in processes.items():
            assert process.wait(timeout=900) == 0, (tmp_path / f"{name}.log").read_text()[-3000:]
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    time.sleep(0.5)
    client = MlflowClient(served.uri)
    parents, children = split(runs(client, experiment))
    assert sorted(p.info.run_name for p in parents) == ["law", "medicine"]
    assert "RUNNING" not in {r.info.status for r in parents + children}
    for parent in parents:
        domain = sweeps[parent.info.run_name]
        mine = [c for c in children if c.data.tags["mlflow.parentRunId"] == parent.info.run_id]
        assert len(mine) == 6 and {c.info.status for c in mine} == {"FINISHED"}
        # Nothing mixed: every child is of its own sweep's domain, with its metric and strategy.
        assert {c.data.tags["domaintune.domain"] for c in mine} == {domain}
        assert all("accuracy" in c.data.metrics and c.data.params for c in mine)
        assert parent.info.status == "FINISHED" and parent.data.metrics["trials"] == 6
        summary = json.loads(open(client.download_artifacts(parent.info.run_id, "summary.json", str(tmp_path))).read())
        assert summary["domain"] == domain and {t["run_id"] for t in summary["trials"]} == {c.info.run_id for c in mine}
    assert len(children) == 12
