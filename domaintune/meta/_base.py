"""The learner interface: fit on a history, propose strategies for a domain."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domaintune.history import History, Record, strategy_key


@dataclass
class Proposal:
    strategy: dict[str, Any]  # active levers
    reason: str
    predicted: float | None = None
    predicted_cost: float | None = None

    def parsed_strategy(self) -> Any:
        from domaintune.strategy import Strategy

        return Strategy.from_dict(self.strategy)


class Learner(ABC):
    """Fit on past domains' records; propose strategies for a (new) domain from its meta-features."""

    name: str = ""

    def __init__(self, features: dict[str, dict[str, float]]):
        # domain name -> meta-features; passed in, never looked up globally
        self.features = features
        self.history = History()

    def fit(self, history: History) -> Learner:
        self.history = history.validated(finished=True)
        return self

    def past(self, domain: str) -> History:
        """What may be learned from when proposing for ``domain``: every record of the *other*
        domains. A learner never reads the target domain's own records from its history (they
        come in as ``observed``), so fitting on a history that holds them cannot leak them."""
        return self.history.without_domain(domain)

    def mean_costs(self, domains: list[str] | None = None, exclude: str | None = None) -> dict[str, float]:
        """Strategy key -> mean recorded train + eval seconds (over ``domains``, default all but ``exclude``)."""
        totals: dict[str, list[float]] = {}
        for r in self.history:
            if (domains is None or r.domain in domains) and r.domain != exclude:
                totals.setdefault(r.strategy_key(), []).append(r.cost.get("train_seconds", 0.0) + r.cost.get("eval_seconds", 0.0))
        return {k: sum(v) / len(v) for k, v in totals.items()}

    def with_costs(self, proposals: list[Proposal], domains: list[str] | None = None, exclude: str | None = None) -> list[Proposal]:
        """Fill each proposal's predicted cost from what the strategy cost on past domains (never ``exclude``)."""
        costs = self.mean_costs(domains, exclude)
        for p in proposals:
            if p.predicted_cost is None:
                p.predicted_cost = costs.get(strategy_key(p.strategy))
        return proposals

    @abstractmethod
    def propose(self, domain: str, n: int, observed: list[Record] | None = None) -> list[Proposal]:
        """n distinct strategies, best first; ``observed`` are the domain's own results so far."""


def normalized_scores(history: History) -> dict[str, dict[str, float]]:
    """domain -> strategy key -> score scaled to [0, 1] within the domain (1 = its best; the cells
    of successive halving compared on the questions they share, ``DomainTable``)."""
    from domaintune.meta._table import domain_tables

    out = {}
    for domain, t in domain_tables(history).items():
        scores = dict(zip(t.keys, map(float, t.scores())))
        # in the history's order (learners break ties by it), not the table's sorted one
        out[domain] = {k: scores[k] for k in dict.fromkeys(r.strategy_key() for r in history if r.domain == domain)}
    return out


REGISTRY: dict[str, Callable[..., Learner]] = {}


def register_learner(name: str) -> Callable[[type[Learner]], type[Learner]]:
    def wrap(cls: type[Learner]) -> type[Learner]:
        if name in REGISTRY:
            raise ValueError(f"learner {name!r} is already registered")
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return wrap
