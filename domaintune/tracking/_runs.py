"""Runs found and closed by what they are: a sweep's parent run, its trials, the runs a dead
driver left RUNNING, a schedule's actions. The sweep and the schedule decide; this module asks MLflow."""

from __future__ import annotations

import time
from typing import Any

from domaintune.tracking._history import read_trial_run
from domaintune.tracking._schema import Kind, SweepRun, Tag, TrialRun, filter_kind


def parent_runs(mlflow_client: Any, experiment_ids: list[str], filter_string: str = "") -> list[Any]:
    """Sweep runs, newest first (``filter_string`` narrows them)."""
    where = filter_kind(Kind.SWEEP) + (f" and {filter_string}" if filter_string else "")
    return list(mlflow_client.search_runs(experiment_ids, filter_string=where, order_by=["attributes.start_time DESC"], max_results=5000))


def child_runs(mlflow_client: Any, experiment_id: str, parent_id: str) -> list[Any]:
    """A sweep's child runs, oldest first."""
    where = f"tags.`mlflow.parentRunId` = '{parent_id}'"
    return list(mlflow_client.search_runs([experiment_id], filter_string=where, order_by=["attributes.start_time ASC"], max_results=50_000))


def find_unfinished(mlflow_client: Any, experiment_id: str, key: str) -> Any | None:
    """The latest parent run of this sweep key that did not finish, or None."""
    for run in parent_runs(mlflow_client, [experiment_id], f"tags.`{Tag.SWEEP_KEY}` = '{key}'"):
        if run.info.status == "FINISHED":
            return None  # the latest one finished: nothing to resume
        return run
    return None


def running_sweeps(mlflow_client: Any, experiment_ids: list[str], key: str | None = None) -> list[Any]:
    """RUNNING parent runs (of one sweep key), newest first."""
    keyed = f"tags.`{Tag.SWEEP_KEY}` = '{key}' and " if key else ""
    return parent_runs(mlflow_client, experiment_ids, keyed + "attributes.status = 'RUNNING'")


def running_trials(mlflow_client: Any, experiment_ids: list[str]) -> list[Any]:
    return list(mlflow_client.search_runs(experiment_ids, filter_string=filter_kind(Kind.TRIAL) + " and attributes.status = 'RUNNING'", max_results=50_000))


def run_status(mlflow_client: Any, run_id: str | None) -> str:
    """A run's status; ``MISSING`` for no run id or a deleted run."""
    if not run_id:
        return "MISSING"
    try:
        return mlflow_client.get_run(run_id).info.status
    except Exception:  # noqa: BLE001 - a deleted run counts as not running
        return "MISSING"


def recorded_trials(mlflow_client: Any, experiment_id: str, parent_id: str, metric: str) -> list[TrialRun]:
    """The sweep's trials, one per trial id (a FINISHED run wins over a KILLED earlier attempt);
    a finished one with its ``metric`` curve."""
    out: dict[str, TrialRun] = {}
    for run in child_runs(mlflow_client, experiment_id, parent_id):
        trial_id = run.data.tags.get(Tag.TRIAL_ID)
        if not trial_id or (trial_id in out and out[trial_id].status == "FINISHED"):
            continue
        out[trial_id] = read_trial_run(mlflow_client, run, metric, curve=run.info.status == "FINISHED")
    return list(out.values())


def close_run(mlflow_client: Any, run_id: str, reason: str) -> None:
    """Mark a run a dead driver left RUNNING as KILLED, saying who closed it."""
    mlflow_client.set_tag(run_id, Tag.CLOSED_BY, reason)
    mlflow_client.set_terminated(run_id, status="KILLED")


def start_run(mlflow_client: Any, experiment_id: str, name: str, kind: str, tags: dict[str, str]) -> Any:
    """A new run of a ``Kind`` (a schedule action, ...) with its tags."""
    return mlflow_client.create_run(experiment_id, run_name=name, tags={Tag.KIND: kind, **tags})


def end_run(mlflow_client: Any, run_id: str, status: str, tags: dict[str, str], metrics: dict[str, float] | None = None) -> None:
    """Close a run with its last tags and (numeric) metrics."""
    from mlflow.entities import Metric, RunTag

    now = int(time.time() * 1000)
    mlflow_client.log_batch(
        run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()], metrics=[Metric(k, float(v), now, 0) for k, v in (metrics or {}).items()],
    )
    mlflow_client.set_terminated(run_id, status=status)


def kind_runs(mlflow_client: Any, experiment_ids: list[str], kind: str, max_results: int = 5000, oldest_first: bool = False, **tags: str) -> list[Any]:
    """Runs of one ``Kind`` with the given tags (``Tag`` names in lower case), newest first."""
    order = "ASC" if oldest_first else "DESC"
    return list(mlflow_client.search_runs(experiment_ids, filter_string=filter_kind(kind, **tags), order_by=[f"attributes.start_time {order}"], max_results=max_results))


def sweep_run(mlflow_client: Any, run_id: str) -> SweepRun | None:
    """A run by id as a sweep's parent run (``is_sweep`` says whether it is one), or None: no such run."""
    from mlflow.exceptions import MlflowException

    try:
        return SweepRun.from_run(mlflow_client.get_run(run_id))
    except MlflowException:
        return None


def json_artifacts(mlflow_client: Any, run_id: str, names: list[str]) -> dict[str, Any]:
    """The JSON artifacts of a run by path, of those named that it holds."""
    import json
    import os
    import tempfile
    from pathlib import Path

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    held = {a.path for a in mlflow_client.list_artifacts(run_id)}
    out = {}
    for name in (n for n in names if n in held):
        with tempfile.TemporaryDirectory() as folder:
            out[name] = json.loads(Path(mlflow_client.download_artifacts(run_id, name, folder)).read_text())
    return out
