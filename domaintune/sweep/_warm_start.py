"""A sweep's warm start: what the search evaluates first and what it is told before it starts.

Three sources, in order: the config's own ``search.points_to_evaluate``; the meta-learner's
proposals from other domains (evaluated first); and this domain's earlier results in the
history (any version; told to the search as evaluated points, never run again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError
from domaintune.history import strategy_key
from domaintune.meta import Proposal

if TYPE_CHECKING:
    from domaintune.config import SweepConfig
    from domaintune.domains import Domain
    from domaintune.search_spaces import SearchSpace


@dataclass
class EarlierResult:
    point: dict[str, Any]
    value: float
    version: str  # the domain version it was measured on
    source: str


@dataclass
class WarmStartPlan:
    points: list[dict[str, Any]] = field(default_factory=list)  # evaluated first, in order
    proposals: list[tuple[dict[str, Any], Proposal]] = field(default_factory=list)  # the learner's, in the space
    earlier: list[EarlierResult] = field(default_factory=list)  # told to the search, not run

    def to_dict(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "proposals": [{"point": pt, "strategy": p.strategy, "reason": p.reason, "predicted": p.predicted} for pt, p in self.proposals],
            "earlier_results": [vars(e) for e in self.earlier],
        }


def plan_warm_start(config: SweepConfig, domain: Domain, space: SearchSpace) -> WarmStartPlan:
    """The warm start of a sweep over ``space`` on ``domain`` (in its view)."""
    plan = WarmStartPlan(points=[space.point(s, "search.points_to_evaluate") for s in config.warm_start_strategies(space=space)])
    if config.warm_start is None:
        return plan
    from domaintune.tracking import load_history
    from domaintune.meta import propose

    settings = config.warm_start
    history = load_history(settings.history or None, config.tracking.uri, settings.experiment)
    for proposal in propose(domain, history, settings.learner, settings.n):
        try:
            plan.proposals.append((space.point(proposal.parsed_strategy(), "warm_start"), proposal))
        except ConfigError:
            continue  # a proposal outside this sweep's space is not evaluated
    if not config.objectives:  # a multi-objective search cannot be told one value
        earlier: dict[str, EarlierResult] = {}
        for record in history:
            if (record.domain, record.view, record.metric, record.split, record.status) != (
                domain.name, domain.view_name or "", config.metric, "validation", "FINISHED"
            ) or record.value is None:
                continue
            try:
                point = space.point(record.parsed_strategy(), "warm_start")
            except ConfigError:
                continue
            earlier[strategy_key(point)] = EarlierResult(point, float(record.value), record.domain_version, record.source)  # the latest wins
        plan.earlier = list(earlier.values())
    told = {strategy_key(e.point) for e in plan.earlier}
    seen = {strategy_key(p) for p in plan.points}
    for point, _ in plan.proposals:
        if strategy_key(point) not in seen | told:
            plan.points.append(point)
            seen.add(strategy_key(point))
    return plan
