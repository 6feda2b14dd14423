"""The runner interface: evaluate one strategy on one domain, return the metric and its cost.

Runners know nothing of Ray or MLflow. ``report`` is a plain callback the sweep (or a
benchmark) passes in; a runner calls it with intermediate validation results so that an
early-stopping scheduler can act on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.strategy import Strategy

Report = Callable[[int, dict[str, float], dict[str, float]], None]
"""``report(step, metrics, cost)``: steps trained so far, the split's metrics, the cost so far."""


@dataclass
class TrialResult:
    """What one evaluation produced. ``metrics`` holds the scored split's values."""

    metrics: dict[str, float]
    cost: dict[str, float]
    split: str = "validation"
    steps: int = 0
    train_losses: list[float] = field(default_factory=list)
    adapter_dir: str | None = None
    outcomes: list[int] | None = None  # per scored question, 1 if right (multiple choice), last evaluation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Runner(Protocol):
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
