"""A Kubernetes ``CronJob`` for ``domaintune schedule run-due``: it polls, and run-due decides.

The entries' own crons are not copied into the CronJob: run-due knows each entry's cron *and*
its triggers (new data, a grown history, a changed base model, a champion's drop) and runs only
what is due, so the CronJob just calls it often (every 15 minutes by default). Its pod runs the
sweeps itself on a local Ray, or on a long-running Ray cluster given as ``ray_address``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.deploy._k8s import (
    CONFIG_KEY, CONFIG_MOUNT, SHARED_MOUNT, Cluster, Manifests, Size, check_portable, check_tracking_uri, config_map, k8s_name, read_text,
)
from domaintune.errors import ConfigError

if TYPE_CHECKING:  # the schedule is read by the caller: importing it here would slow `domaintune --help`
    from domaintune.schedule import Schedule

POLL_MINUTES = 15  # how often run-due looks; an entry's cron then fires at most this late
SCHEDULER = Size(cpus=4, memory="16Gi")  # run-due and the sweeps it starts on a local Ray


def run_due_command(schedule_name: str) -> list[str]:
    """The pod's command, as argv: run what is due once, print what ran as JSON, exit."""
    return ["domaintune", "schedule", "run-due", f"{CONFIG_MOUNT}/{schedule_name}", "--json"]


def poll_cron(minutes: int) -> str:
    """Every ``minutes`` minutes (1 to 60), as a five-field cron expression."""
    if not 1 <= minutes <= 60:
        raise ConfigError(f"--poll-minutes: {minutes} is not between 1 and 60")
    return "0 * * * *" if minutes == 60 else f"*/{minutes} * * * *"


def _files(schedule: Schedule) -> dict[str, str]:
    """The schedule file and every entry's sweep config, under their file names, all in one folder."""
    files = {schedule.path.name: read_text(schedule.path)}
    check_tracking_uri(schedule.spec.tracking.uri, str(schedule.path))
    for index, entry in enumerate(schedule.entries):
        path = schedule.config_path(entry)
        if Path(entry.config).name != entry.config or not CONFIG_KEY.fullmatch(entry.config):
            raise ConfigError(
                f"{schedule.path}: entries.{index}.config: {entry.config!r} must be a file name beside the schedule "
                "file (letters, digits, '-', '_', '.'), so that both mount from one ConfigMap"
            )
        check_portable(schedule.sweep_config(entry), f"{schedule.path}: entry {entry.name!r}: {path}")
        files[path.name] = read_text(path)
    return files


def cronjob_manifests(
    schedule: Schedule,
    cluster: Cluster = Cluster(),
    pod: Size = SCHEDULER,
    poll_minutes: int = POLL_MINUTES,
    ray_address: str | None = None,
) -> Manifests:
    """The ConfigMap with the schedule and its configs, and the CronJob that runs ``run-due`` on them."""
    cron = poll_cron(poll_minutes)
    name = k8s_name("domaintune", schedule.path.stem)
    metadata = cluster.metadata(name, "schedule", schedule.path.stem)
    files = config_map(f"{name}-config", _files(schedule), cluster, "schedule", schedule.path.stem)
    container = cluster.container("run-due", pod.resources(), command=run_due_command(schedule.path.name),
                                  workingDir=SHARED_MOUNT)  # relative paths (Ray storage, locks) land on the volume
    if ray_address:
        container["env"].append({"name": "RAY_ADDRESS", "value": ray_address})
    job: dict[str, Any] = {
        "backoffLimit": 0,  # a failed run is not retried at once: the next poll decides again
        "template": {
            "metadata": {"labels": metadata["labels"]},
            "spec": {"restartPolicy": "Never", "containers": [container], "volumes": cluster.volumes(f"{name}-config")},
        },
    }
    spec = {
        "schedule": cron,
        "concurrencyPolicy": "Forbid",  # one run-due at a time; the entry locks also keep a person's run apart
        "startingDeadlineSeconds": 60 * poll_minutes,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {"spec": job},
    }
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata, "spec": spec}
    notes = [f"{schedule.path}: the CronJob polls {cron!r}; the entries' crons are not copied: run-due decides what is due"]
    return Manifests([files, cronjob], notes)
