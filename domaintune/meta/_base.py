"""The learner interface: fit on a history, propose strategies for a domain."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domaintune.history import History, Record, strategy_key, task_domain


@dataclass
class Proposal:
    strategy: dict[str, Any]  # active levers
    reason: str
    predicted: float | None = None
    predicted_cost: float | None = None
    caveats: list[str] = field(default_factory=list)  # what the history lacks for this task (family, model)

    def parsed_strategy(self) -> Any:
        from domaintune.strategy import Strategy

        return Strategy.from_dict(self.strategy)


class Learner(ABC):
    """Fit on past tasks' records; propose strategies for a (new) task from its meta-features.

    A task is a domain asked in a view with a base model (``history.task_name``); ``features``
    maps task names to their meta-features."""

    name: str = ""

    def __init__(self, features: dict[str, dict[str, float]]):
        # task name -> meta-features; passed in, never looked up globally
        self.features = features
        self.history = History()

    def fit(self, history: History) -> Learner:
        self.history = history.validated(finished=True)
        return self

    def past(self, task: str) -> History:
        """What may be learned from when proposing for ``task``: every record of the *other*
        domains (no task of the same domain, in any view or with any model). A learner never reads
        the target domain's own records from its history (they come in as ``observed``), so
        fitting on a history that holds them cannot leak them."""
        return self.history.without_domain(task_domain(task))

    def candidates(self, task: str, observed: list[Record] | None = None) -> list[dict[str, Any]]:
        """The strategies a proposal for ``task`` is drawn from: those recorded on past tasks (never on
        its own domain) of its family (the ``task.family_*`` feature), or on any past task when the
        family is new; less those in ``observed``."""
        family = family_of(self.features.get(task, {}))
        past = self.past(task)
        same = [r for r in past if family and family_of(self.features.get(r.task, {})) == family]
        pool = History(same).strategies() if same else past.strategies()
        done = {r.strategy_key() for r in observed or []}
        return [s for s in pool if strategy_key(s) not in done]

    def mean_costs(self, tasks: list[str] | None = None, exclude: str | None = None) -> dict[str, float]:
        """Strategy key -> mean recorded train + eval seconds (over ``tasks``, default every task
        but those of ``exclude``'s domain)."""
        totals: dict[str, list[float]] = {}
        skip = task_domain(exclude) if exclude else None
        for r in self.history:
            if (tasks is None or r.task in tasks) and r.domain != skip:
                totals.setdefault(r.strategy_key(), []).append(r.cost.get("train_seconds", 0.0) + r.cost.get("eval_seconds", 0.0))
        return {k: sum(v) / len(v) for k, v in totals.items()}

    def with_costs(self, proposals: list[Proposal], tasks: list[str] | None = None, exclude: str | None = None) -> list[Proposal]:
        """Fill each proposal's predicted cost from what the strategy cost on past tasks (never ``exclude``'s domain)."""
        costs = self.mean_costs(tasks, exclude)
        for p in proposals:
            if p.predicted_cost is None:
                p.predicted_cost = costs.get(strategy_key(p.strategy))
        return proposals

    @abstractmethod
    def propose(self, task: str, n: int, observed: list[Record] | None = None) -> list[Proposal]:
        """n distinct strategies, best first; ``observed`` are the task's own results so far."""


def normalized_scores(history: History) -> dict[str, dict[str, float]]:
    """task -> strategy key -> score scaled to [0, 1] within the task (1 = its best; the cells
    of successive halving compared on the questions they share, ``TaskTable``)."""
    from domaintune.meta._table import by_task, table_of

    out = {}
    for task, records in sorted(by_task(history).items()):
        t = table_of(records)
        scores = dict(zip(t.keys, map(float, t.scores())))
        # in the history's order (learners break ties by it), not the table's sorted one
        out[task] = {k: scores[k] for k in t.recorded_order or t.keys}
    return out


FAMILY_PREFIX = "task.family_"  # a task's family as a meta-feature: task.family_<name> = 1
MODEL_PREFIX = "task.model_"  # its base model: task.model_<name> = 1


def family_of(features: dict[str, float]) -> str:
    """The task family named by a task's meta-features ("" when they name none)."""
    return next((k[len(FAMILY_PREFIX):] for k, v in sorted(features.items()) if k.startswith(FAMILY_PREFIX) and v), "")


def model_of(features: dict[str, float]) -> str:
    """The base model named by a task's meta-features ("" when they name none)."""
    return next((k[len(MODEL_PREFIX):] for k, v in sorted(features.items()) if k.startswith(MODEL_PREFIX) and v), "")


REGISTRY: dict[str, Callable[..., Learner]] = {}


def register_learner(name: str) -> Callable[[type[Learner]], type[Learner]]:
    def wrap(cls: type[Learner]) -> type[Learner]:
        if name in REGISTRY:
            raise ValueError(f"learner {name!r} is already registered")
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return wrap
