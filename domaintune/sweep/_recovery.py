"""What a crashed sweep left in MLflow, read back: to resume it, or to close what it left RUNNING.

A sweep's parent run carries its key (``Tag.SWEEP_KEY``: the hash of its config), its Ray
experiment folder, and its driver's identity and heartbeat (``_liveness``). ``tracking``
reads its child runs back (``recorded_trials``) so that a resumed sweep neither reruns a
finished trial nor forgets one; ``clean_runs`` closes the runs of dead drivers (KILLED) and
reaps their local Ray processes, and never touches a live sweep's runs.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from typing import TYPE_CHECKING, Any

from domaintune.sweep._liveness import reap_ray_session, run_driver_alive, sessions_started_by
from domaintune.tracking import Tag, child_runs, close_run, running_sweeps

if TYPE_CHECKING:
    from domaintune.config import SweepConfig


def sweep_key(config: SweepConfig) -> str:
    """The same config (overrides included) is the same sweep; where Ray runs it is not part of it."""
    values = config.model_dump(mode="json")
    values.pop("address", None)
    return hashlib.sha1(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]


def live_duplicates(mlflow_client: Any, experiment_id: str, key: str) -> list[Any]:
    """RUNNING parent runs of this sweep key whose driver is alive (any host)."""
    return [r for r in running_sweeps(mlflow_client, [experiment_id], key) if run_driver_alive(r.data.tags) is True]


def close_dead_sweep(mlflow_client: Any, parent: Any, reason: str, close_parent: bool = True) -> dict[str, Any]:
    """Mark a dead driver's RUNNING child runs (and, with ``close_parent``, the parent) KILLED and
    reap its own local Ray processes; return what was done."""
    closed = []
    for run in child_runs(mlflow_client, parent.info.experiment_id, parent.info.run_id):
        if run.info.status == "RUNNING":
            close_run(mlflow_client, run.info.run_id, reason)
            closed.append(run.info.run_id)
    if close_parent and parent.info.status == "RUNNING":
        close_run(mlflow_client, parent.info.run_id, reason)
        closed.append(parent.info.run_id)
    reaped = _reap(parent.data.tags)
    return {"run_id": parent.info.run_id, "name": parent.info.run_name, "closed": closed, "ray_pids_killed": reaped}


def _reap(tags: dict[str, str]) -> list[int]:
    """Kill the local Ray a dead driver started itself, on this host: a shared cluster is never touched."""
    reaped: list[int] = []
    if tags.get(Tag.DRIVER_HOST) == socket.gethostname():
        if tags.get(Tag.RAY_LOCAL) == "true" and tags.get(Tag.RAY_SESSION):
            reaped = reap_ray_session(tags[Tag.RAY_SESSION])
        elif Tag.RAY_LOCAL not in tags and tags.get(Tag.DRIVER_PID):
            # Killed while its Ray was starting, before it could record the session: Ray named
            # the session after the process that started it.
            for session in sessions_started_by(int(tags[Tag.DRIVER_PID]), float(tags.get(Tag.DRIVER_STARTED) or 0)):
                reaped += reap_ray_session(session)
    return reaped


def clean_runs(uri: str | None = None, experiment: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Close what crashed sweeps left RUNNING in a tracking store; live sweeps are left alone.

    A RUNNING sweep whose driver is dead: its RUNNING trials and itself become KILLED, its own
    local Ray processes are killed. A RUNNING trial whose sweep is no longer RUNNING: KILLED.
    A RUNNING sweep without driver tags (an older release) cannot be judged and is listed.
    """
    from domaintune.tracking import client, experiment_ids

    mlflow_client = client(uri, check=True)
    ids = experiment_ids(mlflow_client, experiment)
    report: dict[str, Any] = {"tracking_uri": mlflow_client.tracking_uri, "dry_run": dry_run, "closed": [], "alive": [], "unknown": [], "orphans": []}
    if not ids:
        return report
    now = time.time()
    for parent in running_sweeps(mlflow_client, ids):
        tags = parent.data.tags
        alive = run_driver_alive(tags, now)
        row = {
            "run_id": parent.info.run_id, "name": parent.info.run_name, "host": tags.get(Tag.DRIVER_HOST), "pid": tags.get(Tag.DRIVER_PID),
            "heartbeat_age_s": round(now - float(tags[Tag.HEARTBEAT]), 1) if Tag.HEARTBEAT in tags else None,
        }
        if alive is None:
            report["unknown"].append(row)
        elif alive:
            report["alive"].append(row)
        elif dry_run:
            report["closed"].append({**row, "closed": [], "ray_pids_killed": []})
        else:
            report["closed"].append({**row, **close_dead_sweep(mlflow_client, parent, "domaintune runs clean")})
    report["orphans"] = _close_orphans(mlflow_client, ids, dry_run)
    return report


def _close_orphans(mlflow_client: Any, ids: list[str], dry_run: bool) -> list[dict[str, Any]]:
    """Trials left RUNNING under a sweep that is no longer running (its driver closed the parent
    but died before its children, or an older release)."""
    from domaintune.tracking import run_status, running_trials

    orphans = []
    for run in running_trials(mlflow_client, ids):
        parent_status = run_status(mlflow_client, run.data.tags.get("mlflow.parentRunId"))
        if parent_status == "RUNNING":
            continue
        orphans.append({"run_id": run.info.run_id, "name": run.info.run_name, "parent_status": parent_status})
        if not dry_run:
            close_run(mlflow_client, run.info.run_id, "domaintune runs clean")
    return orphans
