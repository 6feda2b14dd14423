"""A KubeRay ``RayJob`` per sweep: an ephemeral Ray cluster (a head and a worker group) that runs
``domaintune sweep CONFIG --resume`` and is deleted when the sweep ends.

The sweep's Ray storage is a folder on the shared volume, which every node mounts at the same
path; ``--resume`` makes a second submission of the same job continue a sweep that a lost
cluster left unfinished (same MLflow run, same Ray storage) instead of starting over.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.deploy._k8s import (
    CONFIG_MOUNT, SHARED_MOUNT, Cluster, Manifests, Size, check_portable, config_map, k8s_name, read_text,
)
from domaintune.errors import ConfigError

if TYPE_CHECKING:  # the config is read by the caller: importing it here would slow `domaintune --help`
    from domaintune.config import SweepConfig

STORAGE = f"{SHARED_MOUNT}/ray_results"  # the sweep's ``storage``: Tune's storage_path, seen by every node
TTL_SECONDS = 600  # how long the finished job's cluster stays for its logs before KubeRay deletes it
WORKERS = 1
HEAD = Size(cpus=2, memory="8Gi")  # the driver: Tune, Optuna and the MLflow writes; no trial runs here
WORKER = Size(cpus=8, memory="32Gi", gpus=1)
RAY_PORTS = [{"containerPort": 6379, "name": "gcs-server"}, {"containerPort": 8265, "name": "dashboard"},
             {"containerPort": 10001, "name": "client"}]


def sweep_command(config_name: str, overrides: Sequence[str] = ()) -> list[str]:
    """The job's entrypoint, as argv: the sweep on the RayJob's own cluster, stored on the shared volume."""
    argv = ["domaintune", "sweep", f"{CONFIG_MOUNT}/{config_name}", "--resume", "--address", "auto"]
    for item in (*overrides, f"storage={STORAGE}"):
        argv += ["--set", item]
    return argv


def ray_version() -> str:
    """The Ray this package runs with: the image's Ray must be the same."""
    from importlib.metadata import version

    return version("ray")


def _check_fit(config: SweepConfig, worker: Size, where: str) -> list[str]:
    """A trial that asks more than a worker has never starts (Tune waits forever): refuse it."""
    search = config.search
    for key, wanted, has, flag in (("gpus_per_trial", search.gpus_per_trial, worker.gpus, "--gpus-per-worker"),
                                   ("cpus_per_trial", search.cpus_per_trial, worker.cpus, "--cpus-per-worker")):
        if wanted > has:
            raise ConfigError(f"{where}: search.{key}: {wanted:g} is more than a worker has ({flag} {has}); no trial could start")
    if worker.gpus and not search.gpus_per_trial:
        return [f"{where}: search.gpus_per_trial is 0, so no trial uses the workers' GPUs "
                f"(--set search.gpus_per_trial=1, or --gpus-per-worker 0)"]
    return []


def _pod(cluster: Cluster, config_map_name: str, container: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"containers": [container], "volumes": cluster.volumes(config_map_name)}}


def rayjob_manifests(
    config_file: str | Path,
    config: SweepConfig,
    cluster: Cluster = Cluster(),
    workers: int = WORKERS,
    worker: Size = WORKER,
    overrides: Sequence[str] = (),
    ttl_seconds: int = TTL_SECONDS,
) -> Manifests:
    """The ConfigMap holding the config file and the RayJob that sweeps it (``overrides`` as ``--set``)."""
    config_file = Path(config_file)
    where = str(config_file)
    if any(item.partition("=")[0].strip() == "storage" for item in overrides):
        raise ConfigError(f"--set storage: a RayJob's sweep stores on the shared volume ({STORAGE}); leave it out")
    check_portable(config, where)
    notes = _check_fit(config, worker, where)
    name = k8s_name("domaintune", config.name)
    mounted = f"{name}-config"
    files = config_map(mounted, {config_file.name: read_text(config_file)}, cluster, "sweep", config.name)
    head = cluster.container("ray-head", HEAD.resources(), ports=RAY_PORTS)
    spec = {
        "entrypoint": shlex.join(sweep_command(config_file.name, overrides)),
        "shutdownAfterJobFinishes": True,
        "ttlSecondsAfterFinished": ttl_seconds,
        "rayClusterSpec": {
            "rayVersion": ray_version(),
            "headGroupSpec": {"rayStartParams": {"num-cpus": "0"}, "template": _pod(cluster, mounted, head)},
            "workerGroupSpecs": [{
                "groupName": "gpu" if worker.gpus else "cpu",
                "replicas": workers, "minReplicas": workers, "maxReplicas": workers,
                "rayStartParams": {},
                "template": _pod(cluster, mounted, cluster.container("ray-worker", worker.resources())),
            }],
        },
    }
    job = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": cluster.metadata(name, "sweep", config.name), "spec": spec}
    return Manifests([files, job], notes)
