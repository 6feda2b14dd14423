from __future__ import annotations

import time

import pytest
from mlflow.tracking import MlflowClient

from domaintune.errors import TrackingError
from domaintune.testing.servers import free_port
from domaintune.tracking import SweepTracker, resolve_tracking_uri


def _lifecycle(tracker: SweepTracker, domain) -> None:
    tracker.start("unit", {"name": "unit", "search": {"num_samples": 3}}, {"n_shots": [0, 1]}, domain)
    tracker.start_trial("a", {"n_shots": 0, "template": "plain"}, domain)
    tracker.log_trial_metrics("a", 0, {"accuracy": 0.5, "cost.eval_seconds": 1.0})
    tracker.end_trial("a", "FINISHED")
    tracker.start_trial("b", {"n_shots": 1, "template": "plain"}, domain)
    tracker.end_trial("b", "FAILED", error="Traceback ...\nValueError: boom")
    tracker.start_trial("c", {"n_shots": 1, "template": "chat"}, domain)


def test_runs_are_nested_and_none_is_left_running(tracking_uri, small_domain):
    tracker = SweepTracker(tracking_uri, "unit")
    _lifecycle(tracker, small_domain)
    tracker.close("KILLED")
    client = MlflowClient(tracking_uri)
    runs = {r.info.run_name: r for r in client.search_runs([tracker.experiment_id])}
    assert {name: r.info.status for name, r in runs.items()} == {
        "unit": "KILLED", "trial-a": "FINISHED", "trial-b": "FAILED", "trial-c": "KILLED"
    }
    assert all(runs[f"trial-{t}"].data.tags["mlflow.parentRunId"] == tracker.parent_id for t in "abc")
    assert runs["trial-b"].data.tags["domaintune.error"].endswith("ValueError: boom")
    assert runs["trial-a"].data.params == {"n_shots": "0", "template": "plain"}
    assert runs["unit"].data.params["search.num_samples"] == "3"
    assert runs["unit"].data.tags["domaintune.domain_fingerprint"] == small_domain.fingerprint


def test_relative_sqlite_uri_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert resolve_tracking_uri("sqlite:///x.db") == f"sqlite:///{tmp_path.resolve()}/x.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////abs/y.db")
    assert resolve_tracking_uri(None) == "sqlite:////abs/y.db"
    with pytest.raises(TrackingError, match="file store"):
        resolve_tracking_uri("./mlruns")


def test_unreachable_server_fails_fast_naming_the_uri():
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.perf_counter()
    with pytest.raises(TrackingError, match=f"tracking server {uri} is unreachable"):
        SweepTracker(uri, "unit")
    assert time.perf_counter() - started < 10


def test_real_mlflow_server_records_the_same_shape(mlflow_server, small_domain):
    tracker = SweepTracker(mlflow_server, "served")
    _lifecycle(tracker, small_domain)
    tracker.close("KILLED")
    runs = MlflowClient(mlflow_server).search_runs([tracker.experiment_id])
    assert sorted(r.info.status for r in runs) == ["FAILED", "FINISHED", "KILLED", "KILLED"]


def test_artifacts_live_beside_a_local_store_not_in_the_working_directory(tmp_path, monkeypatch):
    from domaintune.tracking import SweepTracker

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    store = tmp_path / "store"
    store.mkdir()
    tracker = SweepTracker(f"sqlite:///{store / 'mlflow.db'}", "artifacts-here")
    location = tracker.client.get_experiment(tracker.experiment_id).artifact_location
    assert location.startswith((store / "mlartifacts").as_uri())
    assert not (work / "mlruns").exists()


def test_two_sweeps_creating_one_experiment_at_once_both_open_it(tracking_uri):
    """The interleaving CI met: this sweep looks (no experiment yet), the other creates it, this
    one's create then fails on the real store; it opens the one the other made."""
    from domaintune.tracking import open_experiment

    real = MlflowClient(tracking_uri)

    class LateLooker:
        def __init__(self) -> None:
            self.looks = 0

        def get_experiment_by_name(self, name):
            self.looks += 1
            if self.looks == 1:
                real.create_experiment(name)  # the other sweep wins the race right after this look
                return None
            return real.get_experiment_by_name(name)

        def create_experiment(self, name, artifact_location=None):
            return real.create_experiment(name, artifact_location=artifact_location)

    experiment_id = open_experiment(LateLooker(), tracking_uri, "raced")
    assert experiment_id == real.get_experiment_by_name("raced").experiment_id
