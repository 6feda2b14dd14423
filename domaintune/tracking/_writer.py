"""The one module that writes MLflow: a parent run per sweep, a nested child run per trial.

It knows nothing of Ray; the sweep feeds it trial events. Every run it opens is closed on
every path: FINISHED, FAILED (with the error) or KILLED (Ctrl-C, driver shutdown).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.errors import TrackingError

if TYPE_CHECKING:
    from domaintune.domains import Domain

DEFAULT_STORE = "mlflow.db"
OUTCOMES_ARTIFACT = "outcomes.json"  # a finished trial run's per-question outcomes
# Param values MLflow accepts (6000 chars); longer ones are cut with a marker.
_MAX_PARAM = 6000


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


def _params(values: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value)
        out[key] = text if len(text) <= _MAX_PARAM else text[: _MAX_PARAM - 3] + "..."
    return out


def _levels(strategy: dict[str, Any]) -> str:
    from domaintune.strategy import Strategy

    return "+".join(Strategy.from_dict(strategy).levels())


def flatten(values: dict[str, Any]) -> dict[str, Any]:
    """Nested config mapping to dotted keys (``search.num_samples``), lists kept whole."""
    from ray.tune.utils import flatten_dict

    return flatten_dict(values, delimiter=".")


class SweepTracker:
    """Records one sweep. Create it, ``start()``, feed trial events, then ``finish()`` or ``close()``."""

    def __init__(self, uri: str | None, experiment: str):
        from mlflow.tracking import MlflowClient

        self.uri = resolve_tracking_uri(uri)
        check_reachable(self.uri)
        self.client = MlflowClient(tracking_uri=self.uri)
        self.experiment_id = open_experiment(self.client, self.uri, experiment)
        self.parent_id: str | None = None
        self.trial_runs: dict[str, str] = {}
        self.open_runs: set[str] = set()
        self.trial_tags: dict[str, str] = {}
        self._dataset_of: tuple[str, Any] | None = None  # (domain fingerprint + view, its MLflow dataset)

    def start(
        self,
        name: str,
        config: dict[str, Any],
        space: dict[str, Any],
        domain: Domain,
        trial_tags: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        """Open the sweep's parent run; ``trial_tags`` go on every trial run (what history needs),
        ``tags`` on the parent (the sweep key, the driver's identity)."""
        self.trial_tags = dict(trial_tags or {})
        run = self.client.create_run(
            self.experiment_id,
            run_name=name,
            tags={
                "domaintune.kind": "sweep",
                "domaintune.domain": domain.name,
                "domaintune.domain_view": domain.view_name,
                "domaintune.domain_version": domain.version,
                "domaintune.domain_fingerprint": domain.fingerprint,
                **(tags or {}),
            },
        )
        self.parent_id = run.info.run_id
        self.open_runs.add(self.parent_id)
        self._log_domain(self.parent_id, domain)
        params = _params(flatten(config))
        params["domain_fingerprint"] = domain.fingerprint
        self._log_params(self.parent_id, params)
        self.client.log_dict(self.parent_id, config, "config.json")
        self.client.log_dict(self.parent_id, space, "search_space.json")
        return self.parent_id

    def attach(self, parent_id: str, trial_tags: dict[str, str] | None = None, trial_runs: dict[str, str] | None = None) -> None:
        """Continue a sweep's existing parent run (a resumed sweep): it is RUNNING again."""
        self.trial_tags = dict(trial_tags or {})
        self.client.update_run(parent_id, status="RUNNING")
        self.parent_id = parent_id
        self.open_runs.add(parent_id)
        self.trial_runs.update(trial_runs or {})

    def set_tags(self, tags: dict[str, str]) -> None:
        """Tags on the sweep's parent run."""
        from mlflow.entities import RunTag

        assert self.parent_id
        self.client.log_batch(self.parent_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def _log_domain(self, run_id: str, domain: Domain) -> None:
        """The domain's validation questions as the run's dataset input (the Dataset column)."""
        from domaintune.tracking._ui import domain_dataset, log_domain_input

        if self._dataset_of is None or self._dataset_of[0] != domain.fingerprint + domain.view_name:
            self._dataset_of = (domain.fingerprint + domain.view_name, domain_dataset(domain))
        log_domain_input(self.client, run_id, self._dataset_of[1])

    def _log_params(self, run_id: str, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        # MlflowClient.log_batch splits into the store's own batch limits.
        self.client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])

    def start_trial(
        self, trial_id: str, strategy: dict[str, Any], domain: Domain, label: str = "", tags: dict[str, str] | None = None
    ) -> str:
        """Open a trial's child run, named by its strategy (``label``) so people can tell trials apart."""
        assert self.parent_id, "start() the sweep first"
        run = self.client.create_run(
            self.experiment_id,
            run_name=label or f"trial-{trial_id}",
            tags={
                "mlflow.parentRunId": self.parent_id,
                **self.trial_tags,
                "domaintune.kind": "trial",
                "domaintune.trial_id": trial_id,
                "domaintune.domain": domain.name,
                "domaintune.domain_view": domain.view_name,
                "domaintune.domain_version": domain.version,
                "domaintune.domain_fingerprint": domain.fingerprint,
                **(tags or {}),
            },
        )
        run_id = run.info.run_id
        self.trial_runs[trial_id] = run_id
        self.open_runs.add(run_id)
        self._log_domain(run_id, domain)
        self.client.set_tag(run_id, "domaintune.levels", _levels(strategy))
        self._log_params(run_id, _params(strategy))
        self.client.log_dict(run_id, strategy, "strategy.json")
        return run_id

    def set_trial_tag(self, trial_id: str, key: str, value: str) -> None:
        self.client.set_tag(self.trial_runs[trial_id], key, value)

    def log_trial_metrics(self, trial_id: str, step: int, metrics: dict[str, float]) -> None:
        self.log_metrics(self.trial_runs[trial_id], metrics, step)

    def log_trial_outcomes(self, trial_id: str, outcomes: dict[str, Any]) -> None:
        """A finished trial's per-question outcomes (``question_ids``, ``outcomes``, ``step``) as its
        run's ``outcomes.json``: what makes histories read from MLflow comparable question by question."""
        if trial_id in self.trial_runs:
            self.client.log_dict(self.trial_runs[trial_id], outcomes, OUTCOMES_ARTIFACT)

    def end_trial(self, trial_id: str, status: str, tags: dict[str, str] | None = None, error: str | None = None) -> None:
        run_id = self.trial_runs.get(trial_id)
        if run_id is None or run_id not in self.open_runs:
            return
        for key, value in (tags or {}).items():
            self.client.set_tag(run_id, key, value)
        if error:
            self.client.set_tag(run_id, "domaintune.error", error[-5000:])
            self.client.log_text(run_id, error, "error.txt")
        self.client.set_terminated(run_id, status=status)
        self.open_runs.discard(run_id)

    def finish(self, summary: dict[str, Any], metrics: dict[str, float], figures: dict[str, Any]) -> None:
        """Record the chosen strategy and its scores on the parent run and close it."""
        assert self.parent_id
        self._log_params(self.parent_id, _params({f"best.{k}": v for k, v in (summary.get("best_strategy") or {}).items()}))
        self.log_metrics(self.parent_id, metrics)
        self.client.log_dict(self.parent_id, summary, "summary.json")
        for name, figure in figures.items():
            self.client.log_figure(self.parent_id, figure, f"plots/{name}.png")
        self.client.set_terminated(self.parent_id, status="FINISHED")
        self.open_runs.discard(self.parent_id)

    def log_metrics(self, run_id: str, metrics: dict[str, Any], step: int = 0) -> None:
        """Numeric values only: a trial's results also carry strings (its adapter folder)."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items() if isinstance(v, (int, float))]
        self.client.log_batch(run_id, metrics=items)

    def log_dict(self, values: dict[str, Any], path: str) -> None:
        """A JSON artifact on the sweep's parent run."""
        assert self.parent_id
        self.client.log_dict(self.parent_id, values, path)

    def close(self, status: str = "KILLED", error: str | None = None) -> None:
        """Close every run still open (children first) with ``status``; safe to call twice."""
        for run_id in sorted(self.open_runs, key=lambda r: r == self.parent_id):
            try:
                if error and run_id == self.parent_id:
                    self.client.set_tag(run_id, "domaintune.error", error[-5000:])
                self.client.set_terminated(run_id, status=status)
            except Exception:  # noqa: BLE001 - closing must go on for the other runs
                pass
        self.open_runs.clear()
