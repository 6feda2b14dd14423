"""A runner that answers from a history instead of a model (a simulated backend, as Syne Tune's
tabular backend): a real sweep on a history runs in seconds, so sweep, schedule, resume and
report tests need no model."""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

from domaintune.errors import ConfigError
from domaintune.history import History, Record
from domaintune.runners._base import Report, TrialResult

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.strategy import Strategy


class ReplayRunner:
    """Looks a (domain, view, strategy) up in recorded evaluations; exact by default, nearest on request.

    An unrecorded strategy is an error (the trial is recorded as failed), unless ``nearest``:
    then the recorded strategy that differs in the fewest active levers answers, and the
    result says which (``replayed`` in its metrics is not set; ``cost`` is the record's).
    """

    def __init__(self, history: History, nearest: bool = False, delay: float = 0.0, model: str = ""):
        # screening records only: an evaluation-stage cell scored other questions of the same split
        self.history = History([r for r in history if r.status == "FINISHED" and r.value is not None and r.stage == "screening"])
        # a history of several base models answers with the runner's own model's records where it has them
        name = Path(model).name if model else ""
        if name and any(r.base_model == name for r in self.history):
            self.history = History([r for r in self.history if r.base_model in (name, "")])
        self.nearest = nearest
        self.delay = delay  # seconds an evaluation takes, as a model would (crash tests need a trial in flight)

    def prepare(self) -> None:
        if not len(self.history):
            raise ConfigError("replay: the history holds no finished evaluation to answer from")

    def lookup(self, domain_name: str, strategy: Strategy, view: str = "", split: str = "validation") -> Record | None:
        """The record that answers, or None when the history has no record of ``split`` for the domain."""
        wanted = strategy.active()
        candidates = [r for r in self.history if r.domain == domain_name and r.split == split and (not view or r.view == view)]
        if not candidates:
            if split == "validation":
                domains = ", ".join(self.history.domains()[:8])
                raise ConfigError(f"replay: no {split} records for domain {domain_name!r} (view {view or 'any'}); recorded: {domains}, ...")
            return None
        exact = [r for r in candidates if r.strategy == wanted]
        if exact:
            return exact[-1]  # the latest record of a strategy wins
        if not self.nearest:
            raise ConfigError(f"replay: strategy {strategy.describe()!r} was never recorded on {domain_name!r}; set runner.nearest: true to answer with the nearest recorded one")

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
        if split not in domain.splits:
            raise ConfigError(f"split {split!r} not in domain {domain.name!r} ({', '.join(domain.splits)})")
        record = self.lookup(domain.name, strategy, domain.view_name, split)
        if record is None:  # e.g. the test split of a history that records validation only
            return TrialResult(metrics={}, cost={}, split=split)
        metrics = {record.metric: float(record.value)} if record.value is not None else {}
        if self.delay:
            import time

            time.sleep(self.delay)
        if report is not None:
            report(record.steps, dict(metrics), dict(record.cost))
        return TrialResult(
            metrics=metrics,
            cost=dict(record.cost),
            split=split,
            steps=record.steps,
            questions=record.questions or len(record.outcomes or []),
            question_ids=record.question_ids,
            outcomes=record.outcomes,
        )
