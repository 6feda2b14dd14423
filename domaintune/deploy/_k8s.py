"""What every manifest shares: names, the shared volume, the MLflow Secret, the config ConfigMap, YAML.

Plain dicts dumped with ``yaml.safe_dump``: no Kubernetes client library. Every pod mounts the
shared volume (a ReadWriteMany claim) at the same path, because a Ray Tune run on several nodes
needs a ``storage_path`` that every node sees (ray#37177), and the configs from a ConfigMap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domaintune import __version__
from domaintune.errors import ConfigError

CONFIG_MOUNT = "/etc/domaintune"  # the ConfigMap: sweep configs and schedule files, read-only
SHARED_MOUNT = "/mnt/domaintune"  # the shared volume: Ray storage, domains, model cache, locks
MLFLOW_KEY = "MLFLOW_TRACKING_URI"  # the Secret's key, and the variable MLflow reads
MAX_NAME = 47  # KubeRay derives the cluster's and the submitter's names from the RayJob's
CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")  # what a ConfigMap key (a mounted file's name) may be


@dataclass(frozen=True)
class Cluster:
    """What every pod shares: the image, the namespace, the shared volume's claim, the MLflow Secret."""

    image: str = f"domaintune:{__version__}"
    namespace: str = "default"
    storage_claim: str = "domaintune-shared"
    mlflow_secret: str = "mlflow"

    def metadata(self, name: str, component: str, instance: str) -> dict[str, Any]:
        labels = {"app.kubernetes.io/name": "domaintune", "app.kubernetes.io/component": component,
                  "app.kubernetes.io/instance": k8s_name(instance)}
        return {"name": name, "namespace": self.namespace, "labels": labels}

    def env(self) -> list[dict[str, Any]]:
        """MLflow's URI from the Secret; the user's domains and the model cache on the shared volume."""
        return [
            {"name": MLFLOW_KEY, "valueFrom": {"secretKeyRef": {"name": self.mlflow_secret, "key": MLFLOW_KEY}}},
            {"name": "DOMAINTUNE_DOMAINS", "value": f"{SHARED_MOUNT}/domains"},
            {"name": "DOMAINTUNE_CACHE", "value": f"{SHARED_MOUNT}/cache"},
        ]

    def volumes(self, config_map: str) -> list[dict[str, Any]]:
        return [
            {"name": "shared", "persistentVolumeClaim": {"claimName": self.storage_claim}},
            {"name": "config", "configMap": {"name": config_map}},
        ]

    def container(self, name: str, resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
        mounts = [{"name": "shared", "mountPath": SHARED_MOUNT}, {"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True}]
        return {"name": name, "image": self.image, **extra, "env": self.env(), "resources": resources, "volumeMounts": mounts}


@dataclass(frozen=True)
class Size:
    """What one pod asks for: CPUs, memory (a Kubernetes quantity) and whole GPUs."""

    cpus: int
    memory: str
    gpus: int = 0

    def resources(self) -> dict[str, Any]:
        """Requests equal to limits (Ray sizes a node from its limits); GPUs as ``nvidia.com/gpu``."""
        amount: dict[str, Any] = {"cpu": str(self.cpus), "memory": self.memory}
        if self.gpus:
            amount["nvidia.com/gpu"] = self.gpus
        return {"requests": dict(amount), "limits": dict(amount)}


@dataclass(frozen=True)
class Manifests:
    """Kubernetes objects to apply together, and notes for the person who generated them."""

    documents: list[dict[str, Any]]
    notes: list[str]

    def yaml(self) -> str:
        return dump_manifests(self.documents)


def k8s_name(*parts: str) -> str:
    """A DNS-1123 name from ``parts``: lower case, ``-`` for anything else, at most ``MAX_NAME`` characters."""
    name = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")
    return name[:MAX_NAME].rstrip("-")


def config_map(name: str, files: dict[str, str], cluster: Cluster, component: str, instance: str) -> dict[str, Any]:
    """The files a pod reads under ``CONFIG_MOUNT``, each under its own file name."""
    for key in files:
        if not CONFIG_KEY.fullmatch(key):
            raise ConfigError(f"{key}: a file mounted from a ConfigMap needs a name of letters, digits, '-', '_' and '.'; rename it")
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": cluster.metadata(name, component, instance), "data": files}


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it for a ConfigMap ({error})") from None


def check_tracking_uri(uri: str | None, where: str) -> None:
    """A pod needs an MLflow server: null (the Secret's URI) or a server's URI, not a local store."""
    if uri is not None and (uri.startswith(("sqlite:", "file:")) or "://" not in uri):
        raise ConfigError(
            f"{where}: tracking.uri: {uri!r} is a store on one machine's disk; set it to null so the pods use "
            f"${MLFLOW_KEY} from the Secret (an MLflow server every pod reaches)"
        )


def check_portable(config: Any, where: str) -> None:
    """Refuse what would not exist in a pod: a local tracking store, a relative path to a file here."""
    check_tracking_uri(config.tracking.uri, where)
    paths = [("runner.history", p) for p in config.runner.history]
    paths += [("warm_start.history", p) for p in (config.warm_start.history if config.warm_start else [])]
    if isinstance(config.domain, str):
        paths.append(("domain", config.domain))
    else:
        paths += [(f"domain.{key}", getattr(config.domain, key)) for key in ("train", "validation", "test", "corpus")]
    for key, value in paths:
        if value and not Path(value).is_absolute() and Path(value).exists():
            raise ConfigError(
                f"{where}: {key}: {value!r} is a relative path on this machine, which a pod does not have; "
                f"put the file on the shared volume and give its path under {SHARED_MOUNT}"
            )


def dump_manifests(manifests: list[dict[str, Any]]) -> str:
    """One YAML stream for ``kubectl apply -f``: keys in the order built, multi-line text as blocks."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    return yaml.dump_all(manifests, Dumper=Dumper, sort_keys=False, default_flow_style=False, width=120)
