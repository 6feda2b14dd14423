"""A real sweep driver killed with SIGKILL, then resumed (on a SQLite file, then on an MLflow server on
PostgreSQL) or cleaned up (real Ray, real MLflow, replay runner)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

import pytest
from mlflow.tracking import MlflowClient

from domaintune.sweep import ray_session_processes
from domaintune.tracking import Tag
from tests.sweeps import end_group, run_cli, runs, split, start_sweep, wait_for

pytestmark = pytest.mark.slow
EXPERIMENT = "domaintune-replay"  # the replay config's experiment
SLOW = ("--set", "runner.replay_delay=3", "--set", "search.num_samples=6")


def _in_flight(client: MlflowClient, finished: int = 1, fresh: float | None = None, experiment: str = EXPERIMENT):
    """The parent run once ``finished`` trials finished and another is running (one that started
    within the last ``fresh`` seconds, when given: it is surely still running a moment later)."""
    parents, children = split(runs(client, experiment))
    statuses = Counter(c.info.status for c in children)
    running = [c for c in children if c.info.status == "RUNNING"]
    if fresh is not None:
        running = [c for c in running if c.info.start_time >= (time.time() - fresh) * 1000]
    if parents and statuses["FINISHED"] >= finished and running and Tag.RAY_SESSION in parents[0].data.tags:
        return parents[0]
    return None


def _last_whole_state(storage) -> str:
    """The newest of Ray's experiment states that reads as JSON: the one a resume restores (a
    file the kill cut short is set aside by the resume)."""
    for path in sorted(storage.rglob("experiment_state-*.json"), key=lambda p: p.name, reverse=True):
        text = path.read_text(errors="replace")
        try:
            json.loads(text)
        except ValueError:
            continue
        return text
    return ""


@pytest.mark.heavy
def test_killed_sweep_resumes_under_the_same_run_without_rerunning_a_finished_trial(tmp_path, store):
    uri, experiment = store.uri, store.experiment(EXPERIMENT)
    slow = (*SLOW, "--set", f"tracking.experiment={experiment}")
    client = MlflowClient(uri)
    driver = start_sweep(uri, tmp_path / "ray", *slow, log=tmp_path / "first.log")
    try:
        # A trial replays for 3 s: one that started under 2 s ago is still running at the kill.
        parent = wait_for(lambda: _in_flight(client, fresh=2.0, experiment=experiment), 240, "a finished and a just-started trial")
        os.kill(driver.pid, signal.SIGKILL)  # the driver alone, as an OOM kill or a lost node would
        driver.wait(timeout=30)
        # Read after the kill: only the driver writes to MLflow, so this is what the crash left.
        at_crash = split(runs(client, experiment))[1]
        finished_before = {c.data.tags["domaintune.trial_id"] for c in at_crash if c.info.status == "FINISHED"}
        running_at_crash = {c.data.tags["domaintune.trial_id"] for c in at_crash if c.info.status == "RUNNING"}
        assert finished_before and running_at_crash
        # What Ray's last saved experiment state held at the crash: a trial started after it is
        # unknown to the restore (it stays KILLED and a new sample takes its place).
        saved_running = {trial_id for trial_id in running_at_crash if trial_id in _last_whole_state(tmp_path / "ray")}
        session = parent.data.tags[Tag.RAY_SESSION]
        command = ("sweep", "experiments/replay_sweep.yaml", "--json", "--resume", "--set", f"storage={tmp_path / 'ray'}", *slow)
        resumed = run_cli(uri, *command)
        if resumed.returncode != 0 and "timed out during startup" in resumed.stderr:
            # Ray's own start timed out on an overloaded machine: that sweep is FAILED, and a
            # second --resume continues it all the same.
            resumed = run_cli(uri, *command)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert f"MLflow run {parent.info.run_id}" in resumed.stderr and "marked KILLED" in resumed.stderr
        result = json.loads(resumed.stdout)
    finally:
        end_group(driver)

    parents, children = split(runs(client, experiment))
    assert [p.info.run_id for p in parents] == [parent.info.run_id] == [result["parent_run_id"]]
    assert parents[0].info.status == "FINISHED" and parents[0].data.tags["domaintune.resumed"] in {"1", "2"}
    assert "RUNNING" not in {r.info.status for r in parents + children}
    finished = Counter(c.data.tags["domaintune.trial_id"] for c in children if c.info.status == "FINISHED")
    statuses = sorted((c.data.tags["domaintune.trial_id"], c.info.status) for c in children)
    why = (statuses, resumed.stderr[-4000:])
    assert len(finished) == 6 and set(finished.values()) == {1}, why  # every trial FINISHED exactly once
    for trial_id in finished_before:  # a trial finished before the crash was never run again
        assert [c.info.status for c in children if c.data.tags["domaintune.trial_id"] == trial_id] == ["FINISHED"], why
    killed = [c for c in children if c.info.status == "KILLED"]
    assert {c.data.tags["domaintune.trial_id"] for c in killed} == running_at_crash, why  # what the crash left RUNNING
    assert all(c.data.tags["domaintune.closed_by"] == "domaintune sweep --resume" for c in killed)
    assert saved_running <= set(finished), (saved_running, why)  # what ran at the crash, known to Ray, ran again to the end
    assert not (running_at_crash - saved_running) & set(finished), why  # one Ray never saved is replaced, not run again
    assert ray_session_processes(session) == []  # the dead driver's Ray helpers were reaped
    assert {t["status"] for t in result["trials"]} == {"FINISHED"} and len(result["trials"]) == 6


@pytest.mark.heavy
def test_runs_clean_leaves_a_live_sweep_alone_and_closes_a_dead_one(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    # Trials that never end on their own: the sweep is surely running while three CLI calls start.
    endless = ("--set", "runner.replay_delay=3000", "--set", "search.num_samples=4")
    driver = start_sweep(uri, tmp_path / "ray", *endless)
    try:
        parent = wait_for(lambda: _in_flight(client, finished=0), 240, "a running trial")
        live = run_cli(uri, "runs", "clean", "--json")
        assert live.returncode == 0, live.stderr
        report = json.loads(live.stdout)
        assert [r["run_id"] for r in report["alive"]] == [parent.info.run_id] and report["closed"] == report["orphans"] == []
        assert "RUNNING" in {c.info.status for c in split(runs(client, EXPERIMENT))[1]}  # nothing of the live sweep touched

        # The same sweep again, while it runs: refused, naming the running one.
        twice = run_cli(uri, "sweep", "experiments/replay_sweep.yaml", "-q", "--set", f"storage={tmp_path / 'ray'}", *endless)
        assert twice.returncode == 3, twice.stderr
        assert "already running" in twice.stderr and f"pid {driver.pid}" in twice.stderr and parent.info.run_id in twice.stderr

        session = parent.data.tags[Tag.RAY_SESSION]
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
        dead = run_cli(uri, "runs", "clean", "--json")
        assert dead.returncode == 0, dead.stderr
        closed = json.loads(dead.stdout)["closed"]
        assert [r["run_id"] for r in closed] == [parent.info.run_id] and parent.info.run_id in closed[0]["closed"]
        assert ray_session_processes(session) == []
        again = json.loads(run_cli(uri, "runs", "clean", "--json").stdout)
        assert again["closed"] == again["alive"] == again["orphans"] == []
    finally:
        end_group(driver)
    parents, children = split(runs(client, EXPERIMENT))
    assert len(parents) == 1 and parents[0].info.status == "KILLED" and {c.info.status for c in children} == {"KILLED"}
    # What was recorded is kept: the sweep's config and each trial's strategy.
    assert parents[0].data.params["search.num_samples"] == "4" and all(c.data.params for c in children)
