"""A runner that answers from a history instead of a model: sweeps and learners tested in seconds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domaintune.errors import ConfigError
from domaintune.meta._history import History, Record
from domaintune.runners._base import Report, TrialResult

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.strategy import Strategy


class ReplayRunner:
    """Looks a (domain, strategy) up in recorded evaluations; exact by default, nearest on request."""

    def __init__(self, history: History, nearest: bool = False):
        self.history = history
        self.nearest = nearest

    def lookup(self, domain_name: str, strategy: Strategy, view: str = "", split: str = "validation") -> Record:
        wanted = strategy.active()
        candidates = [r for r in self.history if r.domain == domain_name and r.split == split and (not view or r.view == view)]
        if not candidates:
            raise ConfigError(f"replay: no records for domain {domain_name!r} ({split})")
        for record in candidates:
            if record.strategy == wanted:
                return record
        if not self.nearest:
            raise ConfigError(f"replay: strategy {strategy.describe()!r} was never recorded on {domain_name!r}")

        def distance(record: Record) -> int:
            keys = set(record.strategy) | set(wanted)
            return sum(record.strategy.get(k) != wanted.get(k) for k in keys)

        return min(candidates, key=distance)

    def run(
        self,
        domain: Domain,
        strategy: Strategy,
        report: Report | None = None,
        split: str = "validation",
        adapter_dir: str | None = None,
        load_adapter: str | None = None,
    ) -> TrialResult:
        record = self.lookup(domain.name, strategy, domain.view_name, split)
        metrics = {record.metric: float(record.value)} if record.value is not None else {}
        if report is not None:
            report(record.fidelity, dict(metrics), dict(record.cost))
        return TrialResult(metrics=metrics, cost=dict(record.cost), split=split, steps=record.fidelity)
