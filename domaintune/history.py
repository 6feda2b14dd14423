"""History: every recorded evaluation, as validated records, from MLflow or portable files.

The one home of the record and history types: runners (the replay runner) and ``meta/``
(learners, the leave-one-domain-out benchmark) both import them from here. Files are JSONL
or Parquet (never pickle). A malformed record is an error naming the file and row, not a
silent skip; a missing or unreadable history file is an error that says where it looked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domaintune.errors import json_objects
from domaintune.errors import ConfigError
from domaintune.strategy import Strategy, format_validation_error


def strategy_key(strategy: dict[str, Any]) -> str:
    """The one text key of a strategy's active levers (JSON, keys sorted): how tables are indexed."""
    return json.dumps(strategy, sort_keys=True)


class Record(BaseModel):
    """One evaluation of one strategy on one domain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str
    domain_version: str = "1"
    fingerprint: str
    view: str = ""
    strategy: dict[str, Any]  # the active levers (Strategy.active())
    steps: int = Field(0, ge=0, description="training steps reached (0 for a strategy that trains nothing)")
    metric: str
    value: float | None
    direction: Literal["maximize", "minimize"] = "maximize"
    stderr: float | None = None
    cost: dict[str, float] = Field(default_factory=dict)
    status: Literal["FINISHED", "FAILED", "KILLED"] = "FINISHED"
    base_model: str = ""
    split: Literal["validation", "test"] = "validation"
    source: str = ""  # where it came from: an MLflow run id, a file
    questions: int | None = Field(None, ge=1, description="how many questions the value is the mean of")
    question_ids: list[str] | None = Field(None, description="the scored questions, in order (paired statistics)")
    outcomes: list[float] | None = Field(None, description="per question: 1/0 (multiple choice) or the score (free text)")

    def strategy_key(self) -> str:
        return strategy_key(self.strategy)

    def parsed_strategy(self) -> Strategy:
        return Strategy.from_dict(self.strategy)

    @property
    def task(self) -> tuple[str, str]:
        """What is being solved: a domain in a view (its version counts as the same task)."""
        return (self.domain, self.view)


def _record(values: dict[str, Any], where: str) -> Record:
    try:
        record = Record.model_validate(values)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, where)) from None
    # The strategy must be a valid one, stored by its active levers only.
    active = Strategy.from_dict(record.strategy, where=f"{where}: strategy").active()
    return record.model_copy(update={"strategy": active})


# Columns that a Parquet file keeps as JSON text (nested or variable-length values).
_JSON_COLUMNS = ("strategy", "cost", "question_ids", "outcomes")


class History:
    """An ordered collection of records with the views learners and benchmarks need."""

    def __init__(self, records: list[Record] | None = None):
        self.records = list(records or [])

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __add__(self, other: History) -> History:
        return History(self.records + other.records)

    def tasks(self) -> list[tuple[str, str]]:
        return sorted({r.task for r in self.records})

    def domains(self) -> list[str]:
        return sorted({r.domain for r in self.records})

    def where(self, **equal: Any) -> History:
        return History([r for r in self.records if all(getattr(r, k) == v for k, v in equal.items())])

    def validated(self) -> History:
        """The validation records that have a value: what a strategy may be chosen from (the test
        split only reports a choice)."""
        return History([r for r in self.records if r.split == "validation" and r.value is not None])

    def views_by_domain(self) -> dict[str, list[str]]:
        """Domain -> the views its records were asked in, sorted."""
        views: dict[str, set[str]] = {}
        for r in self.records:
            views.setdefault(r.domain, set()).add(r.view)
        return {d: sorted(v) for d, v in views.items()}

    def in_view(self, view: str) -> History:
        """Of a domain recorded in several views, only its records in ``view``; a domain recorded
        in one view keeps its records (elements is asked in its own view whatever a glossary's)."""
        several = {d for d, views in self.views_by_domain().items() if len(views) > 1}
        return History([r for r in self.records if r.domain not in several or r.view == view])

    def without_domain(self, domain: str) -> History:
        return History([r for r in self.records if r.domain != domain])

    def strategies(self) -> list[dict[str, Any]]:
        """Distinct strategies, in first-seen order."""
        seen: dict[str, dict[str, Any]] = {}
        for record in self.records:
            seen.setdefault(record.strategy_key(), record.strategy)
        return list(seen.values())

    # portable files ------------------------------------------------------------------------

    def to_jsonl(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text("".join(r.model_dump_json() + "\n" for r in self.records))
        return path

    @classmethod
    def from_jsonl(cls, path: str | Path) -> History:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"history file {path}: cannot read it ({error})") from None
        return cls([_record(values, f"{path}: row {number}") for number, values in json_objects(text.splitlines(), str(path))])

    def to_parquet(self, path: str | Path) -> Path:
        import pandas as pd

        rows = [{**r.model_dump(), **{k: json.dumps(getattr(r, k), sort_keys=True) for k in _JSON_COLUMNS}} for r in self.records]
        pd.DataFrame(rows).to_parquet(path, index=False)
        return Path(path)

    @classmethod
    def from_parquet(cls, path: str | Path) -> History:
        import pandas as pd

        records = []
        for number, row in enumerate(pd.read_parquet(path).to_dict("records"), start=1):
            values = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
            try:
                for key in _JSON_COLUMNS:
                    if key in values:
                        values[key] = json.loads(values[key])
            except (TypeError, json.JSONDecodeError) as error:
                raise ConfigError(f"{path}: row {number}: the {', '.join(_JSON_COLUMNS)} columns must hold JSON ({error})") from None
            records.append(_record(values, f"{path}: row {number}"))
        return cls(records)

    @classmethod
    def load(cls, path: str | Path) -> History:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"history file {path} does not exist (looked at {path.resolve()})")
        if path.suffix == ".parquet":
            return cls.from_parquet(path)
        if path.suffix in (".jsonl", ".json"):
            return cls.from_jsonl(path)
        raise ConfigError(f"{path}: a history file is .jsonl or .parquet")

    # MLflow ----------------------------------------------------------------------------------

    @classmethod
    def from_mlflow(cls, tracking_uri: str | None = None, experiment: str = "domaintune", threads: int = 0) -> History:
        """Every trial run of every sweep in an experiment becomes a record (no extra step). The
        per-run reads (metric history, outcomes artifact) go out ``threads`` at a time (0:
        ``READ_THREADS``; benchmarks/history_read.py measures it against a tracking server)."""
        from concurrent.futures import ThreadPoolExecutor

        from mlflow.tracking import MlflowClient

        from domaintune.tracking import resolve_tracking_uri

        uri = resolve_tracking_uri(tracking_uri)
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # not one bar per run read
        client = MlflowClient(uri)
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return cls([])
        runs = [
            run for run in client.search_runs([found.experiment_id], filter_string="tags.`domaintune.kind` = 'trial'", max_results=50_000)
            if run.data.tags.get("domaintune.runner", "lm") != "replay"  # a replayed result is the history read back, not new evidence
        ]

        def record(run: Any) -> Record:
            tags, metrics = run.data.tags, run.data.metrics
            metric = tags.get("domaintune.metric", "accuracy")
            return _record(
                {
                    "domain": tags.get("domaintune.domain", ""),
                    "domain_version": tags.get("domaintune.domain_version", "1"),
                    "fingerprint": tags.get("domaintune.domain_fingerprint", ""),
                    "view": tags.get("domaintune.domain_view", ""),
                    "strategy": {k: _param(v) for k, v in run.data.params.items()},
                    "steps": _last_step(client, run, metric),
                    "metric": metric,
                    "value": metrics.get(metric),
                    "direction": tags.get("domaintune.direction", "maximize"),
                    "cost": {k[len("cost."):]: float(v) for k, v in metrics.items() if k.startswith("cost.")},
                    "status": run.info.status if run.info.status in ("FINISHED", "FAILED", "KILLED") else "KILLED",
                    "base_model": tags.get("domaintune.base_model", ""),
                    "source": f"mlflow:{run.info.run_id}",
                    **(_outcomes(uri, run.info.run_id) if run.info.status == "FINISHED" else {}),
                },
                f"{uri} run {run.info.run_id}",
            )

        with ThreadPoolExecutor(threads or READ_THREADS) as pool:
            return cls(list(pool.map(record, runs)))


READ_THREADS = 8  # concurrent per-run reads in History.from_mlflow (a tracking server answers them in parallel)


def _outcomes(uri: str, run_id: str) -> dict[str, Any]:
    """A finished trial run's per-question outcomes and their question ids (its ``outcomes.json``),
    or nothing when the run has none (an older release, a trial on another node)."""
    import tempfile

    import mlflow.artifacts

    from domaintune.tracking import OUTCOMES_ARTIFACT

    try:
        with tempfile.TemporaryDirectory() as folder:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=OUTCOMES_ARTIFACT, tracking_uri=uri, dst_path=folder)
            data = json.loads(Path(path).read_text())
    except Exception:  # noqa: BLE001 - no artifact (or an unreadable one): the record stays unpaired
        return {}
    ids, outcomes = data.get("question_ids"), data.get("outcomes")
    if not isinstance(ids, list) or not isinstance(outcomes, list) or len(ids) != len(outcomes):
        return {}
    return {"question_ids": ids, "outcomes": outcomes, "questions": len(ids)}


def _param(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _last_step(client: Any, run: Any, metric: str) -> int:
    history = client.get_metric_history(run.info.run_id, metric)
    return max((m.step for m in history), default=0)


SEED_HISTORY = Path(__file__).resolve().parent / "data" / "history" / "seed.jsonl"
"""The shipped history: the meta-dataset built by ``experiments/02_build_meta_dataset.py``."""


def load_history(paths: list[str] | None = None, tracking_uri: str | None = None, experiment: str | None = None) -> History:
    """The given history files (default: the shipped seed history), plus every trial in an MLflow
    experiment. A missing file is an error naming where it was looked for, never an empty history."""
    history = History()
    for path in paths or [str(SEED_HISTORY)]:
        history = history + History.load(path)
    if experiment:
        history = history + History.from_mlflow(tracking_uri, experiment)
    return history
