"""What a crashed sweep left in MLflow, read back: to resume it, or to close what it left RUNNING.

A sweep's parent run carries its key (``domaintune.sweep_key``: the hash of its config), its
Ray experiment folder, and its driver's identity and heartbeat (``domaintune.liveness``).
``recorded_trials`` reads its child runs back so that a resumed sweep neither reruns a
finished trial nor forgets one; ``clean_runs`` closes the runs of dead drivers (KILLED) and
reaps their local Ray processes, and never touches a live sweep's runs.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domaintune.sweep._liveness import (
    TAG_HEARTBEAT, TAG_HOST, TAG_PID, TAG_PID_STARTED, TAG_RAY_LOCAL, TAG_SESSION, reap_ray_session, run_driver_alive, sessions_started_by,
)

if TYPE_CHECKING:
    from domaintune.config import SweepConfig

TAG_KEY = "domaintune.sweep_key"
TAG_EXPERIMENT_DIR = "domaintune.ray.experiment"
TAG_TRIAL_CONFIG = "domaintune.trial_config"  # the point Ray sampled (what Optuna is told back)
TAG_ADAPTER = "domaintune.adapter_dir"
TAG_RESUMED = "domaintune.resumed"
TAG_CLOSED_BY = "domaintune.closed_by"
UNFINISHED = ("RUNNING", "KILLED", "FAILED", "SCHEDULED")


def sweep_key(config: SweepConfig) -> str:
    """The same config (overrides included) is the same sweep; where Ray runs it is not part of it."""
    values = config.model_dump(mode="json")
    values.pop("address", None)
    return hashlib.sha1(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class TrialRecord:
    """One trial as MLflow holds it (its latest child run when it ran more than once)."""

    trial_id: str
    run_id: str
    status: str
    label: str
    strategy: dict[str, Any]
    config: dict[str, Any] | None  # the sampled point, when recorded
    curve: list[tuple[int, float]] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)  # final metrics, step and adapter_dir
    error: str | None = None


def _param(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parent_runs(client: Any, experiment_ids: list[str], filter_string: str = "") -> list[Any]:
    where = "tags.`domaintune.kind` = 'sweep'" + (f" and {filter_string}" if filter_string else "")
    return list(client.search_runs(experiment_ids, filter_string=where, order_by=["attributes.start_time DESC"], max_results=5000))


def child_runs(client: Any, experiment_id: str, parent_id: str) -> list[Any]:
    where = f"tags.`mlflow.parentRunId` = '{parent_id}'"
    return list(client.search_runs([experiment_id], filter_string=where, order_by=["attributes.start_time ASC"], max_results=50_000))


def find_unfinished(client: Any, experiment_id: str, key: str) -> Any | None:
    """The latest parent run of this sweep key that did not finish, or None."""
    for run in parent_runs(client, [experiment_id], f"tags.`{TAG_KEY}` = '{key}'"):
        if run.info.status == "FINISHED":
            return None  # the latest one finished: nothing to resume
        return run
    return None


def live_duplicates(client: Any, experiment_id: str, key: str) -> list[Any]:
    """RUNNING parent runs of this sweep key whose driver is alive (any host)."""
    runs = parent_runs(client, [experiment_id], f"tags.`{TAG_KEY}` = '{key}' and attributes.status = 'RUNNING'")
    return [r for r in runs if run_driver_alive(r.data.tags) is True]


def recorded_trials(client: Any, experiment_id: str, parent_id: str, metric: str) -> list[TrialRecord]:
    """The sweep's trials, one per trial id (a FINISHED run wins over a KILLED earlier attempt)."""
    out: dict[str, TrialRecord] = {}
    for run in child_runs(client, experiment_id, parent_id):
        tags = run.data.tags
        trial_id = tags.get("domaintune.trial_id")
        if not trial_id:
            continue
        if trial_id in out and out[trial_id].status == "FINISHED":
            continue
        curve = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, metric)] if run.info.status == "FINISHED" else []
        last = {k: v for k, v in run.data.metrics.items()}
        last["step"] = curve[-1][0] if curve else 0
        last["adapter_dir"] = tags.get(TAG_ADAPTER, "")
        config = tags.get(TAG_TRIAL_CONFIG)
        out[trial_id] = TrialRecord(
            trial_id=trial_id,
            run_id=run.info.run_id,
            status=run.info.status,
            label=run.info.run_name or trial_id,
            strategy={k: _param(v) for k, v in run.data.params.items()},
            config=json.loads(config) if config else None,
            curve=sorted(curve),
            last=last,
            error=(tags.get("domaintune.error") or "").strip().splitlines()[-1] if tags.get("domaintune.error") else None,
        )
    return list(out.values())


def close_dead_sweep(client: Any, parent: Any, reason: str, close_parent: bool = True) -> dict[str, Any]:
    """Mark a dead driver's RUNNING child runs (and, with ``close_parent``, the parent) KILLED and
    reap its own local Ray processes; return what was done."""
    tags = parent.data.tags
    closed = []
    for run in child_runs(client, parent.info.experiment_id, parent.info.run_id):
        if run.info.status == "RUNNING":
            client.set_tag(run.info.run_id, TAG_CLOSED_BY, reason)
            client.set_terminated(run.info.run_id, status="KILLED")
            closed.append(run.info.run_id)
    if close_parent and parent.info.status == "RUNNING":
        client.set_tag(parent.info.run_id, TAG_CLOSED_BY, reason)
        client.set_terminated(parent.info.run_id, status="KILLED")
        closed.append(parent.info.run_id)
    reaped: list[int] = []
    # Only a Ray this driver started itself, on this host: a shared cluster is never touched.
    if tags.get(TAG_HOST) == socket.gethostname():
        if tags.get(TAG_RAY_LOCAL) == "true" and tags.get(TAG_SESSION):
            reaped = reap_ray_session(tags[TAG_SESSION])
        elif TAG_RAY_LOCAL not in tags and tags.get(TAG_PID):
            # Killed while its Ray was starting, before it could record the session: Ray named
            # the session after the process that started it.
            for session in sessions_started_by(int(tags[TAG_PID]), float(tags.get(TAG_PID_STARTED) or 0)):
                reaped += reap_ray_session(session)
    return {"run_id": parent.info.run_id, "name": parent.info.run_name, "closed": closed, "ray_pids_killed": reaped}


def clean_runs(uri: str | None = None, experiment: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Close what crashed sweeps left RUNNING in a tracking store; live sweeps are left alone.

    A RUNNING sweep whose driver is dead: its RUNNING trials and itself become KILLED, its own
    local Ray processes are killed. A RUNNING trial whose sweep is no longer RUNNING: KILLED.
    A RUNNING sweep without driver tags (an older release) cannot be judged and is listed.
    """
    from mlflow.tracking import MlflowClient

    from domaintune.tracking import check_reachable, resolve_tracking_uri

    uri = resolve_tracking_uri(uri)
    check_reachable(uri)
    client = MlflowClient(uri)
    if experiment:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            from domaintune.errors import TrackingError

            raise TrackingError(f"tracking store {uri}: no experiment {experiment!r}")
        ids = [found.experiment_id]
    else:
        ids = [e.experiment_id for e in client.search_experiments()]
    report: dict[str, Any] = {"tracking_uri": uri, "dry_run": dry_run, "closed": [], "alive": [], "unknown": [], "orphans": []}
    if not ids:
        return report
    now = time.time()
    for parent in parent_runs(client, ids, "attributes.status = 'RUNNING'"):
        tags = parent.data.tags
        alive = run_driver_alive(tags, now)
        row = {
            "run_id": parent.info.run_id, "name": parent.info.run_name, "host": tags.get(TAG_HOST), "pid": tags.get(TAG_PID),
            "heartbeat_age_s": round(now - float(tags[TAG_HEARTBEAT]), 1) if TAG_HEARTBEAT in tags else None,
        }
        if alive is None:
            report["unknown"].append(row)
        elif alive:
            report["alive"].append(row)
        elif dry_run:
            report["closed"].append({**row, "closed": [], "ray_pids_killed": []})
        else:
            report["closed"].append({**row, **close_dead_sweep(client, parent, "domaintune runs clean")})
    # Trials left RUNNING under a sweep that is no longer running (its driver closed the parent
    # but died before its children, or an older release).
    running_trials = client.search_runs(ids, filter_string="tags.`domaintune.kind` = 'trial' and attributes.status = 'RUNNING'", max_results=50_000)
    for run in running_trials:
        parent_id = run.data.tags.get("mlflow.parentRunId")
        try:
            parent_status = client.get_run(parent_id).info.status if parent_id else "MISSING"
        except Exception:  # noqa: BLE001 - a deleted parent counts as not running
            parent_status = "MISSING"
        if parent_status == "RUNNING":
            continue
        report["orphans"].append({"run_id": run.info.run_id, "name": run.info.run_name, "parent_status": parent_status})
        if not dry_run:
            client.set_tag(run.info.run_id, TAG_CLOSED_BY, "domaintune runs clean")
            client.set_terminated(run.info.run_id, status="KILLED")
    return report
