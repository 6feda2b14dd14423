"""``domaintune deploy``: Kubernetes manifests for a sweep (a KubeRay RayJob) and a schedule (a CronJob)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from domaintune.cli._common import guarded
from domaintune.cli._sweep import parse_set
from domaintune.deploy import POLL_MINUTES, SCHEDULER, TTL_SECONDS, WORKER, WORKERS, Cluster, Manifests, Size

_DEFAULT = Cluster()

# The options every manifest shares: what the pods run and what they mount.
IMAGE = typer.Option(_DEFAULT.image, "--image", help="Container image with domaintune (and its Ray) installed.")
NAMESPACE = typer.Option(_DEFAULT.namespace, "--namespace", help="Kubernetes namespace.")
CLAIM = typer.Option(_DEFAULT.storage_claim, "--storage-claim", help="ReadWriteMany PersistentVolumeClaim every pod mounts.")
SECRET = typer.Option(_DEFAULT.mlflow_secret, "--mlflow-secret", help="Secret whose MLFLOW_TRACKING_URI key the pods read.")
OUT = typer.Option(None, "--out", help="Write the YAML to this file instead of stdout.")


def _emit(manifests: Manifests, out: Optional[str]) -> None:
    for note in manifests.notes:
        typer.echo(f"note: {note}", err=True)
    text = manifests.yaml()
    if out:
        Path(out).write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}; apply it with: kubectl apply -f {out}", err=True)
    else:
        typer.echo(text, nl=False)


@guarded
def deploy_rayjob(
    config: str = typer.Argument(..., help="Sweep config, e.g. experiments/demo.yaml."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key; checked here and passed on to the job's sweep."),
    image: str = IMAGE,
    namespace: str = NAMESPACE,
    storage_claim: str = CLAIM,
    mlflow_secret: str = SECRET,
    workers: int = typer.Option(WORKERS, "--workers", min=1, help="Worker pods (trials run on them; the head runs none)."),
    gpus_per_worker: int = typer.Option(WORKER.gpus, "--gpus-per-worker", min=0, help="GPUs of each worker pod."),
    cpus_per_worker: int = typer.Option(WORKER.cpus, "--cpus-per-worker", min=1, help="CPUs of each worker pod."),
    memory_per_worker: str = typer.Option(WORKER.memory, "--memory-per-worker", help="Memory of each worker pod."),
    ttl: int = typer.Option(TTL_SECONDS, "--ttl", min=0, help="Seconds the finished job's cluster stays before it is deleted."),
    out: Optional[str] = OUT,
) -> None:
    """A KubeRay RayJob that runs this sweep on its own Ray cluster, and the ConfigMap with the config."""
    from domaintune.config import load_config
    from domaintune.deploy import rayjob_manifests

    cfg = load_config(config, parse_set(set_))
    cluster = Cluster(image, namespace, storage_claim, mlflow_secret)
    worker = Size(cpus_per_worker, memory_per_worker, gpus_per_worker)
    _emit(rayjob_manifests(config, cfg, cluster, workers, worker, list(set_), ttl), out)


@guarded
def deploy_cronjob(
    file: str = typer.Argument(..., help="Schedule file, e.g. experiments/schedule.yaml."),
    image: str = IMAGE,
    namespace: str = NAMESPACE,
    storage_claim: str = CLAIM,
    mlflow_secret: str = SECRET,
    poll_minutes: int = typer.Option(POLL_MINUTES, "--poll-minutes", min=1, max=60, help="Minutes between run-due calls."),
    cpus: int = typer.Option(SCHEDULER.cpus, "--cpus", min=1, help="CPUs of the run-due pod (its sweeps run on a local Ray there)."),
    memory: str = typer.Option(SCHEDULER.memory, "--memory", help="Memory of the run-due pod."),
    gpus: int = typer.Option(SCHEDULER.gpus, "--gpus", min=0, help="GPUs of the run-due pod."),
    ray_address: Optional[str] = typer.Option(
        None, "--ray-address", help="Run the sweeps on this Ray cluster instead (RAY_ADDRESS)."
    ),
    out: Optional[str] = OUT,
) -> None:
    """A CronJob that calls `schedule run-due` every few minutes (run-due decides what is due), and its ConfigMap."""
    from domaintune.deploy import cronjob_manifests
    from domaintune.schedule import load_schedule

    cluster = Cluster(image, namespace, storage_claim, mlflow_secret)
    _emit(cronjob_manifests(load_schedule(file), cluster, Size(cpus, memory, gpus), poll_minutes, ray_address), out)
