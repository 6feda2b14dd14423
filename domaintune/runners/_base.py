"""The runner interface: evaluate one strategy on one domain, return the metric and its cost.

Runners know nothing of Ray or MLflow. ``report`` is a plain callback the sweep (or a
benchmark) passes in; a runner calls it with intermediate validation results so that an
early-stopping scheduler can act on them. Every runner passes the shared contract suite in
``domaintune.testing.runners``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from domaintune.errors import ConfigError

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.strategy import Strategy

Report = Callable[[int, dict[str, float], dict[str, float]], None]
"""``report(step, metrics, cost)``: steps trained so far, the split's metrics, the cost so far."""


@dataclass
class TrialResult:
    """What one evaluation produced. ``metrics`` holds the scored split's values (empty when the
    runner has no answer for that split, e.g. a history without test records)."""

    metrics: dict[str, float]
    cost: dict[str, float]
    split: str = "validation"
    steps: int = 0
    train_losses: list[float] = field(default_factory=list)
    adapter_dir: str | None = None
    questions: int = 0  # how many questions the metrics are the mean of
    question_ids: list[str] | None = None  # which, in order (paired comparisons)
    outcomes: list[float] | None = None  # per scored question: 1/0 (multiple choice) or token F1 (free text)
    predictions: list[int] | None = None  # per scored question: the chosen option's index (multiple choice)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Runner(Protocol):
    """Evaluates strategies. ``prepare`` checks, before any trial starts, what every trial will
    need (a model to convert, a history to read) and fails with a clear error if it is missing."""

    def prepare(self) -> None: ...

    def run(
        self,
        domain: Domain,
        strategy: Strategy,
        report: Report | None = None,
        split: str = "validation",
        adapter_dir: str | None = None,
        load_adapter: str | None = None,
    ) -> TrialResult:
        """Train (if the strategy says so) or load the trained adapter, score ``split``, return metric + cost."""
        ...


def question_id(row: dict[str, Any]) -> str:
    """A stable id of a question (its text's hash): the same question has the same id in every run."""
    return hashlib.sha1(str(row.get("question", row.get("term", ""))).encode()).hexdigest()[:12]


def scored_rows(domain: Domain, split: str, limit: int, seed: int, skip: int = 0) -> list[dict[str, Any]]:
    """A fixed, seeded sample of a split: every trial of a sweep scores the same questions. The
    first ``skip`` of the seeded order are passed over (questions kept for another use)."""
    if split not in domain.splits:
        raise ConfigError(f"split {split!r} not in domain {domain.name!r} ({', '.join(domain.splits)})")
    rows = list(domain.splits[split])
    random.Random(seed).shuffle(rows)
    return rows[skip : skip + limit] if limit else rows[skip:]
