"""MLflow set up for people: what a sweep's run shows besides its numbers.

The domain as a dataset input (the Dataset column), the chosen strategy as a logged model
(the Models column), a Markdown description (``mlflow.note.content``), the interactive report
and PNG figures as artifacts, and a saved view of the runs table with the useful columns.

Where the landing page comes from (read in MLflow 3.17's UI bundle, checked in Chromium): the
experiment page picks GenAI or model-training mode from the URL parameter ``workflowType``
(``genai`` | ``machine_learning``), else from the browser's localStorage ``mlflow.workflowType``,
else ``genai``; the experiment tag ``mlflow.experimentKind`` is no longer read for that. So a
link with ``?workflowType=machine_learning`` lands on the runs table; nothing server-side does.
The columns come from a shared view: the experiment tag ``mlflow.sharedViewState.<key>`` holds
a JSON view state and ``?viewStateShareKey=<key>`` applies it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from domaintune.tracking._client import client as tracking_client
from domaintune.tracking._schema import Kind, Tag, filter_kind

if TYPE_CHECKING:
    from domaintune.domains import Domain

VIEW_KEY = "domaintune"  # the shared view every domaintune experiment carries
SHARED_VIEW_TAG = "mlflow.sharedViewState."
DEFAULT_UI = "http://127.0.0.1:5000"


def runs_url(experiment_id: str, base: str = DEFAULT_UI, view: bool = True) -> str:
    """The URL that lands on an experiment's runs table with domaintune's columns."""
    query = "workflowType=machine_learning" + (f"&viewStateShareKey={VIEW_KEY}" if view else "")
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs?{query}"


def run_url(experiment_id: str, run_id: str, base: str = DEFAULT_UI, artifact: str | None = None) -> str:
    path = f"/artifacts/{artifact}" if artifact else ""
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}{path}?workflowType=machine_learning"


def experiment_links(uri: str, base: str = DEFAULT_UI) -> list[str]:
    """One line per experiment that holds sweeps: its name and the URL of its runs table."""
    if uri.startswith("sqlite:///") and not __import__("pathlib").Path(uri[len("sqlite:///"):]).exists():
        return ["  (no sweeps recorded yet: run `domaintune sweep CONFIG` first)"]
    client = tracking_client(uri)
    lines = []
    for experiment in client.search_experiments():
        if experiment.tags.get(SHARED_VIEW_TAG + VIEW_KEY) or client.search_runs([experiment.experiment_id], filter_kind(Kind.SWEEP), max_results=1):
            lines.append(f"  {experiment.name}: {runs_url(experiment.experiment_id, base)}")
    if lines:
        lines.insert(0, "Sweeps (these links open the runs table; or click the experiment, then 'Model training' at the top):")
    return lines


def column(kind: str, key: str) -> str:
    """A runs-table column id as the UI writes it: ``metrics.`accuracy```."""
    return f"{kind}.`{key}`"


def set_default_view(client: Any, experiment_id: str, metric: str, direction: str) -> None:
    """Save the runs-table view (columns, order) that ``runs_url`` applies."""
    state = {
        "selectedColumns": [
            column("attributes", "Dataset"), column("attributes", "Models"),
            column("metrics", metric), column("metrics", f"test_{metric}"), column("metrics", "cost.eval_seconds"),
            column("params", "retrieval"), column("params", "template"), column("params", "n_shots"),
            column("params", "scoring"), column("params", "adapter"), column("tags", Tag.LEVELS),
            column("tags", Tag.ORIGIN),
        ],
        "orderByKey": "attributes.start_time",
        "orderByAsc": False,
        "runsHiddenMode": "SHOW_ALL",
    }
    client.set_experiment_tag(experiment_id, SHARED_VIEW_TAG + VIEW_KEY, json.dumps(state))


def domain_dataset(domain: Domain) -> Any:
    """The domain's validation questions (in its view) as an MLflow dataset; its digest is the
    domain fingerprint, so the same data shows the same digest in every run."""
    import mlflow.data
    import pandas as pd

    from domaintune.domains import domain_folder

    rows = domain.splits.get("validation", [])
    frame = pd.DataFrame(
        {"question": [r.get("question", "") for r in rows], "options": [json.dumps(r.get("options", [])) for r in rows], "answer": [r.get("answer") for r in rows]}
    )
    try:
        source: Any = str(domain_folder(domain.name))
    except Exception:  # noqa: BLE001 - a domain given inline by its files has no folder
        from mlflow.data.code_dataset_source import CodeDatasetSource

        source = CodeDatasetSource({"domaintune.domain": domain.name, "domaintune.fingerprint": domain.fingerprint})
    name = f"{domain.name}:{domain.view_name}" if domain.view_name else domain.name
    import warnings

    with warnings.catch_warnings():  # "integer column" schema hint: answers are option indices, never missing
        warnings.simplefilter("ignore", UserWarning)
        return mlflow.data.from_pandas(frame, source=source, name=name, targets="answer", digest=domain.fingerprint)


def log_domain_input(client: Any, run_id: str, dataset: Any, context: str = "validation") -> None:
    from mlflow.entities import DatasetInput, InputTag

    tags = [InputTag(key="mlflow.data.context", value=context)]
    client.log_inputs(run_id, datasets=[DatasetInput(dataset=dataset._to_mlflow_entity(), tags=tags)])


def _strategy_model_class() -> Any:
    import mlflow.pyfunc

    class ChosenStrategy(mlflow.pyfunc.PythonModel):
        """The chosen strategy as a pyfunc: ``predict`` returns, per input row, the strategy and
        the domain it was chosen for (answering questions is the champion's job, issue 12)."""

        def load_context(self, context):  # type: ignore[no-untyped-def]  # no hints: pyfunc reads them as a schema
            from pathlib import Path

            self.card = json.loads(Path(context.artifacts["strategy"]).read_text())

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            import pandas as pd

            rows = max(1, len(model_input)) if model_input is not None else 1
            return pd.DataFrame([{"strategy": json.dumps(self.card["strategy"], sort_keys=True), "label": self.card["label"],
                                  "domain": self.card["domain"], "validation": self.card["validation"]}] * rows)

    return ChosenStrategy


def log_strategy_model(uri: str, run_id: str, card: dict[str, Any]) -> str:
    """Log the chosen strategy as a light pyfunc on the sweep run (the Models column)."""
    import logging
    import os
    import tempfile
    import warnings
    from pathlib import Path

    import mlflow

    mlflow.set_tracking_uri(uri)
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "strategy.json"
        path.write_text(json.dumps(card, indent=2, default=str))
        # log_model needs the fluent active run; leaving the block marks the sweep run FINISHED,
        # which the tracker's finish() (or close("FAILED") on an error after this) sets again.
        # The fluent API refuses a run of another experiment than the process's active one (a
        # feedback call or a user's set_experiment may have set it): follow the run's experiment.
        mlflow.set_experiment(experiment_id=tracking_client(uri).get_run(run_id).info.experiment_id)
        with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cloudpickle and type-hint notices on a class we define here
            info = mlflow.pyfunc.log_model(
                name="strategy", python_model=_strategy_model_class()(), artifacts={"strategy": str(path)},
                # Explicit requirements: inferring them would import-trace the model (seconds).
                pip_requirements=["mlflow", "pandas"], metadata={"domain": card["domain"], "label": card["label"]},
                tags={Tag.DOMAIN: card["domain"]},
            )
    return info.model_id
