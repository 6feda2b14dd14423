"""History: every recorded evaluation, as validated records, from portable files (``tracking`` reads MLflow's).

The one home of the record and history types: runners (the replay runner) and ``meta/``
(learners, the leave-one-domain-out benchmark) both import them from here. Files are JSONL
or Parquet (never pickle). A malformed record is an error naming the file and row, not a
silent skip; a missing or unreadable history file is an error that says where it looked.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domaintune.errors import json_objects
from domaintune.errors import ConfigError
from domaintune.strategy import Strategy, format_validation_error


def strategy_key(strategy: dict[str, Any]) -> str:
    """The one text key of a strategy (its active levers, or a point a search sampled; JSON, keys
    sorted, a value JSON cannot hold as its text): how tables, proposals and plans are indexed."""
    return json.dumps(strategy, sort_keys=True, default=str)


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
    stage: Literal["screening", "evaluation"] = Field(
        "screening", description="screening: what a strategy may be chosen from; evaluation: questions no screening or "
        "selection saw, where the meta benchmark scores the methods' picks (never fitted on)")

    def strategy_key(self) -> str:
        return strategy_key(self.strategy)

    def parsed_strategy(self) -> Strategy:
        return Strategy.from_dict(self.strategy)

    @property
    def task(self) -> str:
        """What is being solved: a domain, the view it is asked in and the base model (``task_name``;
        the domain's version counts as the same task)."""
        return task_name(self.domain, self.view, self.base_model)


@functools.lru_cache(maxsize=65536)
def task_name(domain: str, view: str = "", model: str = "") -> str:
    """A task's name: ``domain|view|model``, the model by its name (a local folder by its last
    part), empty parts at the end left out (a record with neither is named by its domain)."""
    parts = [domain, view, Path(model).name if model else ""]
    while len(parts) > 1 and not parts[-1]:
        parts.pop()
    return "|".join(parts)


def task_parts(task: str) -> tuple[str, str, str]:
    """A task name (``task_name``) read back: its domain, view and model ("" for a part it leaves out)."""
    domain, view, model = (task.split("|", 2) + ["", ""])[:3]
    return domain, view, model


def task_domain(task: str) -> str:
    """The domain of a task name (``task_name``)."""
    return task_parts(task)[0]


def parse_record(values: dict[str, Any], where: str) -> Record:
    """A record from plain values, checked: an error names ``where``; the strategy is kept by its active levers."""
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

    def tasks(self) -> list[str]:
        """The task names (``task_name``), sorted."""
        return sorted({r.task for r in self.records})

    def domains(self) -> list[str]:
        return sorted({r.domain for r in self.records})

    def where(self, **equal: Any) -> History:
        return History([r for r in self.records if all(getattr(r, k) == v for k, v in equal.items())])

    def validated(self, finished: bool = False) -> History:
        """The validation records that have a value: what a strategy may be chosen from (the test
        split only reports a choice); ``finished``: of finished runs only, what learners fit on."""
        return History([r for r in self.records if r.split == "validation" and r.value is not None and r.stage == "screening"
                        and (not finished or r.status == "FINISHED")])

    def evaluation(self) -> History:
        """The evaluation-stage records with a value: picks scored on questions no selection saw."""
        return History([r for r in self.records if r.stage == "evaluation" and r.value is not None])

    def without_domain(self, domain: str) -> History:
        """Every record of the other domains: all the tasks of ``domain`` (each view, each model) left out."""
        return History([r for r in self.records if r.domain != domain])

    def of_task(self, task: str) -> History:
        return History([r for r in self.records if r.task == task])

    def strategies(self) -> list[dict[str, Any]]:
        """Distinct strategies, in first-seen order."""
        seen: dict[str, dict[str, Any]] = {}
        for record in self.records:
            seen.setdefault(record.strategy_key(), record.strategy)
        return list(seen.values())

    # portable files ------------------------------------------------------------------------

    def to_jsonl(self, path: str | Path) -> Path:
        """One record per line; gzip-compressed when the name ends in ``.gz`` (byte for byte the
        same file for the same records: no timestamp in the gzip header)."""
        path = Path(path)
        text = "".join(r.model_dump_json() + "\n" for r in self.records)
        if path.suffix == ".gz":
            import gzip

            path.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))
        else:
            path.write_text(text)
        return path

    @classmethod
    def from_jsonl(cls, path: str | Path) -> History:
        path = Path(path)
        try:
            if path.suffix == ".gz":
                import gzip

                text = gzip.decompress(path.read_bytes()).decode("utf-8")
            else:
                text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, EOFError) as error:
            raise ConfigError(f"history file {path}: cannot read it ({error})") from None
        return cls([parse_record(values, f"{path}: row {number}") for number, values in json_objects(text.splitlines(), str(path))])

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
            records.append(parse_record(values, f"{path}: row {number}"))
        return cls(records)

    @classmethod
    def load(cls, path: str | Path) -> History:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"history file {path} does not exist (looked at {path.resolve()})")
        if path.suffix == ".parquet":
            return cls.from_parquet(path)
        if path.suffix in (".jsonl", ".json") or path.name.endswith(".jsonl.gz"):
            return cls.from_jsonl(path)
        raise ConfigError(f"{path}: a history file is .jsonl, .jsonl.gz or .parquet")


SEED_HISTORY = Path(__file__).resolve().parent / "data" / "history" / "seed.jsonl.gz"
"""The shipped history: the meta-dataset built by ``experiments/02_build_meta_dataset.py``."""


def load_history(paths: list[str] | None = None) -> History:
    """The given history files (default: the shipped seed history); ``tracking.load_history`` adds
    an experiment's trials. A missing file is an error naming where it was looked for, never an
    empty history."""
    history = History()
    for path in paths or [str(SEED_HISTORY)]:
        history = history + History.load(path)
    return history


_SIGNS = {"maximize": 1.0, "max": 1.0, "minimize": -1.0, "min": -1.0}


def direction_sign(direction: str) -> float:
    """+1.0 where higher is better (``maximize``, Ray's ``max``), -1.0 where lower is: multiply a
    value by it and higher is always better."""
    if direction not in _SIGNS:
        raise ValueError(f"direction: {direction!r} is none of {', '.join(_SIGNS)}")
    return _SIGNS[direction]


def best_of(direction: str) -> Callable[..., Any]:
    """``max`` or ``min``: the builtin that picks the better value(s) under ``direction``."""
    return max if direction_sign(direction) > 0 else min
