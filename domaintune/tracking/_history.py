"""Trial runs read back: one ``TrialRun`` per child run, and the history they make."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from domaintune.history import History, Record, load_history as load_history_files, parse_record
from domaintune.tracking._client import client
from domaintune.tracking._schema import STEP_METRIC, Artifact, Kind, TrialRun, filter_kind

READ_THREADS = 8  # concurrent per-run reads in read_history (a tracking server answers them in parallel)


def read_trial_run(mlflow_client: Any, run: Any, metric: str | None = None, curve: bool = True, outcomes: bool = False) -> TrialRun:
    """A trial's child run with its ``metric``'s curve (default: the metric the run records) and,
    with ``outcomes``, a finished run's per-question outcomes."""
    return _read_beside(mlflow_client, TrialRun.from_run(run), metric, curve, outcomes)


def _read_beside(mlflow_client: Any, trial: TrialRun, metric: str | None = None, curve: bool = True, outcomes: bool = False) -> TrialRun:
    """What a trial run holds beside its tags: the metric's curve, a finished run's outcomes."""
    if curve:
        trial.curve = metric_curve(mlflow_client, trial.run_id, metric or trial.metric)
    if outcomes and trial.status == "FINISHED":
        trial.outcomes = _outcomes(mlflow_client.tracking_uri, trial.run_id, trial.artifact_uri)
    return trial


def metric_curve(mlflow_client: Any, run_id: str, metric: str) -> list[tuple[int, float]]:
    """A run's (step, value) of one metric, by step."""
    return [(m.step, m.value) for m in sorted(mlflow_client.get_metric_history(run_id, metric), key=lambda m: m.step)]


def _outcomes(uri: str, run_id: str, artifact_uri: str = "") -> dict[str, Any] | None:
    """A finished trial run's ``outcomes.json``, or None when it has none (an older release, a
    trial on another node) or an unreadable one. With the run's ``artifact_uri`` (search_runs
    gives it) the file is fetched from there, without asking the server where the run keeps it."""
    import tempfile

    import mlflow.artifacts

    where = {"artifact_uri": f"{artifact_uri.rstrip('/')}/{Artifact.OUTCOMES}"} if artifact_uri else {"run_id": run_id, "artifact_path": Artifact.OUTCOMES}
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = mlflow.artifacts.download_artifacts(**where, tracking_uri=uri, dst_path=folder)
            return json.loads(Path(path).read_text())
    except Exception:  # noqa: BLE001 - no artifact (or an unreadable one): the record stays unpaired
        return None


def _paired(outcomes: dict[str, Any] | None) -> dict[str, Any]:
    """A record's question ids and per-question outcomes, when the run recorded them whole."""
    ids, values = (outcomes or {}).get("question_ids"), (outcomes or {}).get("outcomes")
    if not isinstance(ids, list) or not isinstance(values, list) or len(ids) != len(values):
        return {}
    return {"question_ids": ids, "outcomes": values, "questions": len(ids)}


def trial_record(trial: TrialRun, uri: str) -> Record:
    """The history record a trial run makes."""
    return parse_record(
        {
            "domain": trial.domain, "domain_version": trial.domain_version, "fingerprint": trial.domain_fingerprint,
            "view": trial.domain_view, "strategy": trial.strategy, "steps": trial.steps, "metric": trial.metric, "value": trial.value,
            "direction": trial.direction, "cost": trial.cost,
            "status": trial.status if trial.status in ("FINISHED", "FAILED", "KILLED") else "KILLED",
            "base_model": trial.base_model, "source": f"mlflow:{trial.run_id}", **_paired(trial.outcomes),
        },
        f"{uri} run {trial.run_id}",
    )


def read_history(tracking_uri: str | None = None, experiment: str = "domaintune", threads: int = 0, replayed: bool = False) -> History:
    """Every trial run of every sweep in an experiment becomes a record (no extra step). The
    per-run reads (outcomes artifact; metric history for runs of older releases) go out
    ``threads`` at a time (0: ``READ_THREADS``; benchmarks/history_read.py measures it against a
    tracking server). Replayed and answered trials are left out (``replayed``: kept, for
    benchmarks/scale.py, whose trials are all replayed)."""
    from concurrent.futures import ThreadPoolExecutor

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # not one bar per run read
    store = client(tracking_uri)
    found = store.get_experiment_by_name(experiment)
    if found is None:
        return History([])
    # A replayed result is the history read back, and an answered trial a repeat of a run already
    # read: neither is new evidence.
    trials = [
        trial for trial in map(TrialRun.from_run, store.search_runs([found.experiment_id], filter_string=filter_kind(Kind.TRIAL), max_results=50_000))
        if replayed or (trial.runner != "replay" and not trial.answered_from)
    ]

    def record(trial: TrialRun) -> Record:
        # A run that logs its step as a metric needs no curve read: a request less per run.
        return trial_record(_read_beside(store, trial, curve=STEP_METRIC not in trial.metrics, outcomes=True), store.tracking_uri)

    with ThreadPoolExecutor(threads or READ_THREADS) as pool:
        return History(list(pool.map(record, trials)))


def load_history(paths: list[str] | None = None, tracking_uri: str | None = None, experiment: str | None = None) -> History:
    """The given history files (default: the shipped seed history), plus every trial in an MLflow
    experiment when one is named."""
    history = load_history_files(paths)
    if experiment:
        history = history + read_history(tracking_uri, experiment)
    return history
