"""Where users run it: Kubernetes manifests generated from a sweep config or a schedule file.

A KubeRay ``RayJob`` per sweep (an ephemeral Ray cluster whose entrypoint is ``domaintune sweep
CONFIG --resume``, storing on a shared ReadWriteMany volume) and a ``CronJob`` that polls
``domaintune schedule run-due``. Plain dicts and ``yaml.safe_dump``, no Kubernetes client; the
commands the pods run are built here, and ``tests/deploy`` checks them against the CLI.
"""

from __future__ import annotations

from domaintune.deploy._cronjob import POLL_MINUTES, SCHEDULER, cronjob_manifests, poll_cron, run_due_command
from domaintune.deploy._k8s import CONFIG_MOUNT, MLFLOW_KEY, SHARED_MOUNT, Cluster, Manifests, Size, dump_manifests, k8s_name
from domaintune.deploy._rayjob import HEAD, STORAGE, TTL_SECONDS, WORKER, WORKERS, rayjob_manifests, sweep_command

__all__ = [
    "CONFIG_MOUNT",
    "HEAD",
    "MLFLOW_KEY",
    "POLL_MINUTES",
    "SCHEDULER",
    "SHARED_MOUNT",
    "STORAGE",
    "TTL_SECONDS",
    "WORKER",
    "WORKERS",
    "Cluster",
    "Manifests",
    "Size",
    "cronjob_manifests",
    "dump_manifests",
    "k8s_name",
    "poll_cron",
    "rayjob_manifests",
    "run_due_command",
    "sweep_command",
]
