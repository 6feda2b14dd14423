"""The one module that writes MLflow: a parent run per sweep, a nested child run per trial.

It knows nothing of Ray; the sweep feeds it trial events. Every run it opens is closed on
every path: FINISHED, FAILED (with the error) or KILLED (Ctrl-C, driver shutdown).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from domaintune.tracking._client import client, open_experiment
from domaintune.tracking._queue import WriteQueue, writer_threads
from domaintune.tracking._schema import MAX_TAG, STEP_METRIC, Artifact, Kind, Tag, TrialRun, encode_params

if TYPE_CHECKING:
    from domaintune.domains import Domain


def _levels(strategy: dict[str, Any]) -> str:
    from domaintune.strategy import Strategy

    return "+".join(Strategy.from_dict(strategy).levels())


def flatten(values: dict[str, Any]) -> dict[str, Any]:
    """Nested config mapping to dotted keys (``search.num_samples``), lists kept whole."""
    from ray.tune.utils import flatten_dict

    return flatten_dict(values, delimiter=".")


class SweepTracker:
    """Records one sweep. Create it, ``start()``, feed trial events, then ``finish()`` or ``close()``.

    With ``background``, a trial run's writes after its creation go through a ``WriteQueue``
    (the sweep's loop does not wait on the server); ``flush()`` waits for them.
    """

    def __init__(self, uri: str | None, experiment: str, background: bool = False):
        self.client = client(uri, check=True)
        self.uri = self.client.tracking_uri
        self.experiment_id = open_experiment(self.client, self.uri, experiment)
        self.queue = WriteQueue(writer_threads(self.uri) if background else 0)
        self.parent_id: str | None = None
        self.trial_runs: dict[str, str] = {}
        self.open_runs: set[str] = set()
        self.trial_tags: dict[str, str] = {}
        self._dataset_of: tuple[str, Any] | None = None  # (domain fingerprint + view, its MLflow dataset)
        self._artifact_uris: dict[str, str] = {}  # trial run id -> its artifact location

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
                Tag.KIND: Kind.SWEEP,
                Tag.DOMAIN: domain.name,
                Tag.DOMAIN_VIEW: domain.view_name,
                Tag.DOMAIN_VERSION: domain.version,
                Tag.DOMAIN_FINGERPRINT: domain.fingerprint,
                **(tags or {}),
            },
        )
        self.parent_id = run.info.run_id
        self.open_runs.add(self.parent_id)
        self._log_domain(self.parent_id, domain)
        params = encode_params(flatten(config))
        params["domain_fingerprint"] = domain.fingerprint
        self._log_params(self.parent_id, params)
        self.client.log_dict(self.parent_id, config, Artifact.CONFIG)
        self.client.log_dict(self.parent_id, space, Artifact.SEARCH_SPACE)
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
        dataset = self._dataset_of[1]
        self.queue.put(run_id, "the dataset input", lambda: log_domain_input(self.client, run_id, dataset))

    def _log_params(self, run_id: str, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        # MlflowClient.log_batch splits into the store's own batch limits.
        self.client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])

    def start_trial(
        self, trial_id: str, strategy: dict[str, Any], domain: Domain, label: str = "", tags: dict[str, str] | None = None
    ) -> str:
        """Open a trial's child run, named by its strategy (``label``) so people can tell trials apart."""
        assert self.parent_id, "start() the sweep first"
        trial = TrialRun(
            trial_id, strategy, domain=domain.name, domain_view=domain.view_name, domain_version=domain.version,
            domain_fingerprint=domain.fingerprint, levels=_levels(strategy),
        )
        run = self.client.create_run(
            self.experiment_id,
            run_name=label or f"trial-{trial_id}",
            tags={"mlflow.parentRunId": self.parent_id, **self.trial_tags, **trial.tags(), **(tags or {})},
        )
        run_id = run.info.run_id
        self.trial_runs[trial_id] = run_id
        self._artifact_uris[run_id] = run.info.artifact_uri
        self.open_runs.add(run_id)
        self._log_domain(run_id, domain)
        # The params go at once (not with the first report): a driver killed before a trial's
        # first report still leaves the trial's strategy recorded.
        params = trial.params()
        self.queue.put(run_id, f"trial {trial_id}'s params", lambda: self._log_params(run_id, params))
        return run_id

    def set_trial_tag(self, trial_id: str, key: str, value: str) -> None:
        self.set_run_tags(self.trial_runs[trial_id], {key: value})

    def set_run_tags(self, run_id: str, tags: dict[str, str]) -> None:
        """Tags on one run, in one request, after that run's earlier writes."""
        from mlflow.entities import RunTag

        batch = [RunTag(k, str(v)) for k, v in tags.items()]
        self.queue.put(run_id, f"tags of run {run_id}", lambda: self.client.log_batch(run_id, tags=batch))

    def log_trial_metrics(self, trial_id: str, step: int, metrics: dict[str, float], tags: dict[str, str] | None = None) -> None:
        """A trial's report: its numeric values at ``step`` and any ``tags`` (where it runs), in one request."""
        from mlflow.entities import Metric, RunTag

        run_id = self.trial_runs[trial_id]
        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in {**metrics, STEP_METRIC: step}.items() if isinstance(v, (int, float))]
        labels = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        self.queue.put(run_id, f"trial {trial_id}'s report at step {step}", lambda: self.client.log_batch(run_id, metrics=items, tags=labels))

    def log_trial_outcomes(self, trial_id: str, outcomes: dict[str, Any]) -> None:
        """A finished trial's per-question outcomes (``question_ids``, ``outcomes``, ``step``) as its
        run's ``outcomes.json``: what makes histories read from MLflow comparable question by question."""
        if trial_id in self.trial_runs:
            run_id = self.trial_runs[trial_id]
            self.queue.put(run_id, f"trial {trial_id}'s outcomes", lambda: self._log_json(run_id, outcomes, Artifact.OUTCOMES))

    def _log_json(self, run_id: str, values: dict[str, Any], name: str) -> None:
        """A JSON artifact on a trial run: straight to the run's artifact store when this tracker
        opened the run (it knows where that is; ``log_dict`` would ask the server first)."""
        import json
        import tempfile
        from pathlib import Path

        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        if run_id not in self._artifact_uris:
            self.client.log_dict(run_id, values, name)
            return
        with tempfile.TemporaryDirectory(prefix="domaintune-artifact-") as folder:
            path = Path(folder) / name
            path.write_text(json.dumps(values))
            get_artifact_repository(self._artifact_uris[run_id], tracking_uri=self.uri).log_artifact(str(path))

    def end_trial(self, trial_id: str, status: str, tags: dict[str, str] | None = None, error: str | None = None) -> None:
        """Close a trial's run: ``tags`` (its adapter folder, stopped early) and a failure's error."""
        run_id = self.trial_runs.get(trial_id)
        if run_id is None or run_id not in self.open_runs:
            return
        self.open_runs.discard(run_id)
        self.set_run_tags(run_id, {**(tags or {}), **TrialRun(trial_id, traceback=error or "").tags()})
        if error:
            self.queue.put(run_id, f"trial {trial_id}'s error", lambda: self.client.log_text(run_id, error, Artifact.ERROR))
        ended_at = int(time.time() * 1000)  # when the trial ended, not when the queue gets to it
        self.queue.put(run_id, f"trial {trial_id}'s end ({status})", lambda: self.client.set_terminated(run_id, status=status, end_time=ended_at))

    def flush(self) -> None:
        """Wait for the queued trial writes (``TrackingError`` if one failed)."""
        self.queue.flush()

    def finish(self, summary: dict[str, Any], metrics: dict[str, float], figures: dict[str, Any]) -> None:
        """Record the chosen strategy and its scores on the parent run and close it."""
        assert self.parent_id
        self.queue.close()
        self._log_params(self.parent_id, encode_params({f"best.{k}": v for k, v in (summary.get("best_strategy") or {}).items()}))
        self.log_metrics(self.parent_id, metrics)
        self.client.log_dict(self.parent_id, summary, Artifact.SUMMARY)
        for name, figure in figures.items():
            self.log_figure(figure, name)
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

    def log_text(self, text: str, path: str) -> None:
        """A text artifact (the HTML report) on the sweep's parent run."""
        assert self.parent_id
        self.client.log_text(self.parent_id, text, path)

    def log_figure(self, figure: Any, name: str) -> None:
        """A figure on the sweep's parent run, as ``plots/<name>.png``; a matplotlib figure is
        closed once logged (pyplot keeps every open figure alive for the life of the process)."""
        assert self.parent_id
        self.client.log_figure(self.parent_id, figure, f"plots/{name}.png")
        if hasattr(figure, "savefig"):
            import matplotlib.pyplot as plt

            plt.close(figure)

    def set_note(self, markdown: str) -> None:
        """The sweep run's description in the MLflow UI."""
        self.set_tags({"mlflow.note.content": markdown})

    def set_origins(self, origins: dict[str, str]) -> None:
        """Where each trial came from (run id -> baseline, proposal, search, ...): a column of the runs table."""
        for run_id, origin in origins.items():
            self.set_run_tags(run_id, {Tag.ORIGIN: origin})
        self.flush()

    def publish_model(self, card: dict[str, Any]) -> str:
        """The chosen strategy (``card``) named on the sweep run and logged as its model; returns the model id."""
        from domaintune.tracking._ui import log_strategy_model

        assert self.parent_id
        self.set_tags({Tag.BEST_STRATEGY: card["label"] or ""})
        return log_strategy_model(self.uri, self.parent_id, card)

    def set_default_view(self, metric: str, direction: str) -> None:
        from domaintune.tracking._ui import set_default_view

        set_default_view(self.client, self.experiment_id, metric, direction)

    def close(self, status: str = "KILLED", error: str | None = None) -> None:
        """Close every run still open (children first) with ``status``; safe to call twice."""
        try:
            self.queue.close()
        except Exception:  # noqa: BLE001 - the failed write is lost either way; the runs still get closed
            pass
        for run_id in sorted(self.open_runs, key=lambda r: r == self.parent_id):
            try:
                if error and run_id == self.parent_id:
                    self.client.set_tag(run_id, Tag.ERROR, error[-MAX_TAG:])
                self.client.set_terminated(run_id, status=status)
            except Exception:  # noqa: BLE001 - closing must go on for the other runs
                pass
        self.open_runs.clear()
