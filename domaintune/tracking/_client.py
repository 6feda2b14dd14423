"""The one place that builds an ``MlflowClient``: the tracking URI resolved, the store checked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from domaintune.errors import TrackingError

DEFAULT_STORE = "mlflow.db"


def client(uri: str | None = None, check: bool = False) -> Any:
    """An ``MlflowClient`` on the resolved tracking URI (also its registry); with ``check``, a
    server that does not answer (or a store folder that does not exist) fails first, named."""
    from mlflow.tracking import MlflowClient

    resolved = resolve_tracking_uri(uri)
    if check:
        check_reachable(resolved)
    return MlflowClient(tracking_uri=resolved, registry_uri=resolved)


def experiment_ids(mlflow_client: Any, experiment: str | None = None) -> list[str]:
    """The id of the experiment named ``experiment`` (an error when there is none), or of every experiment."""
    if not experiment:
        return [e.experiment_id for e in mlflow_client.search_experiments()]
    found = mlflow_client.get_experiment_by_name(experiment)
    if found is None:
        raise TrackingError(f"tracking store {mlflow_client.tracking_uri}: no experiment {experiment!r}")
    return [found.experiment_id]


def resolve_tracking_uri(uri: str | None = None) -> str:
    """Config value, else ``$MLFLOW_TRACKING_URI``, else an absolute ``sqlite:///…/mlflow.db`` in the cwd."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return f"sqlite:///{Path.cwd().resolve() / DEFAULT_STORE}"
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        # A relative sqlite path would move with the working directory of each process.
        return f"sqlite:///{Path(uri[len('sqlite:///'):]).resolve()}"
    if "://" not in uri:
        raise TrackingError(
            f"tracking URI {uri!r}: MLflow 3 refuses a plain folder (file store); "
            "use sqlite:///PATH.db or an http(s):// server"
        )
    return uri


def artifact_location(uri: str, experiment: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a local sqlite store (MLflow's own
    default is ./mlruns in whatever the current directory is); a server decides for itself."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///") :]).parent / "mlartifacts" / experiment).as_uri()
    return None


def open_experiment(client: Any, uri: str, name: str) -> str:
    """The id of the experiment ``name``, created (artifacts beside a local store) when missing;
    a store failure is a TrackingError that names the store and the experiment."""
    try:
        found = client.get_experiment_by_name(name)
        if found:
            return found.experiment_id
        try:
            return client.create_experiment(name, artifact_location=artifact_location(uri, name))
        except Exception as error:  # noqa: BLE001 - two sweeps starting at once: the other one created it
            if "RESOURCE_ALREADY_EXISTS" not in str(error) and "already exists" not in str(error):
                raise
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id
    except Exception as error:  # noqa: BLE001 - any store failure reads the same to the user
        raise TrackingError(f"tracking store {uri}: cannot open experiment {name!r}: {error}") from None


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail fast, naming the URI, when a tracking server does not answer."""
    if uri.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
                if response.status != 200:
                    raise TrackingError(f"tracking server {uri} answered {response.status} on /health")
        except (urllib.error.URLError, OSError) as error:
            raise TrackingError(f"tracking server {uri} is unreachable: {error}") from None
    elif uri.startswith("sqlite:///"):
        folder = Path(uri[len("sqlite:///"):]).parent
        if not folder.is_dir():
            raise TrackingError(f"tracking URI {uri}: folder {folder} does not exist")
