"""A domain's recorded cells as comparable values: one record per strategy (the last one
recorded), signed so that higher is better, with per-question outcomes when the cells kept them
on one question sample or on nested prefixes of it (successive halving). The benchmark, the
learners' normalized scores and the winners report all read a domain through this."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from domaintune.errors import ConfigError
from domaintune.history import History, direction_sign


@dataclass
class DomainTable:
    """One domain's recorded cells: candidates, values signed so higher is better, standard
    errors, and per-question outcomes when every cell kept them on one nested sample (the same
    questions, or, after successive halving, the first n of the longest cell's questions; NaN
    past a cell's own n)."""

    keys: list[str]
    values: np.ndarray
    stderr: np.ndarray
    outcomes: np.ndarray | None  # strategies x questions, signed like values
    sign: float

    @classmethod
    def from_records(cls, records: list[Any]) -> DomainTable:
        """One domain's records; a re-recorded strategy counts once, its last record."""
        last = {r.strategy_key(): r for r in records}
        chosen = [last[k] for k in sorted(last)]
        sign = direction_sign(chosen[0].direction)
        outcomes = nested_outcomes(chosen)
        values = np.array([sign * float(r.value) for r in chosen])
        if outcomes is not None:
            outcomes = sign * outcomes
            if np.isnan(outcomes).any():
                values = on_the_longest_sample(outcomes, values)
        stderr = np.array([float(r.stderr or 0.0) for r in chosen])
        return cls(keys=sorted(last), values=values, stderr=stderr, outcomes=outcomes, sign=sign)

    @property
    def questions(self) -> np.ndarray:
        """Questions each cell scored (0 where no outcomes were kept)."""
        if self.outcomes is None:
            return np.zeros(len(self.keys), dtype=int)
        return (~np.isnan(self.outcomes)).sum(axis=1)

    def scores(self, values: np.ndarray | None = None) -> np.ndarray:
        """Values scaled to [0, 1] within the domain (1 = its best)."""
        v = self.values if values is None else values
        low, high = float(v.min()), float(v.max())
        return (v - low) / (high - low) if high > low else np.ones_like(v)

    def resampled(self, rng: np.random.Generator) -> np.ndarray:
        """Values on a bootstrap resample of the questions (the recorded values where no outcomes were kept)."""
        if self.outcomes is None:
            return self.values
        questions = rng.integers(0, self.outcomes.shape[1], self.outcomes.shape[1])
        if np.isnan(self.outcomes).any():
            return on_the_longest_sample(self.outcomes[:, questions], self.values)
        return self.outcomes[:, questions].mean(axis=1)

    def paired(self, a: int, b: int) -> tuple[list[float], list[float]]:
        """Two cells' (signed) outcomes on the questions both scored."""
        if self.outcomes is None:
            raise ValueError("paired: this domain's cells kept no outcomes on shared questions")
        both = ~np.isnan(self.outcomes[a]) & ~np.isnan(self.outcomes[b])
        return list(self.outcomes[a, both]), list(self.outcomes[b, both])


def domain_tables(history: History) -> dict[str, DomainTable]:
    """Every domain's table. A domain recorded in several views (a glossary asked term ->
    definition and definition -> term) is an error here: its cells are different tasks, and
    merging them by strategy would compare scores of one view with the other's. Pick one
    (``History.in_view``, ``--view``)."""
    mixed = {d: views for d, views in history.views_by_domain().items() if len(views) > 1}
    if mixed:
        listed = "; ".join(f"{d}: {', '.join(v or '(none)' for v in views)}" for d, views in sorted(mixed.items()))
        raise ConfigError(f"history: {len(mixed)} domain(s) recorded in more than one view ({listed}); "
                          "a table holds one view per domain: choose one with --view")
    return {domain: DomainTable.from_records([r for r in history if r.domain == domain]) for domain in history.domains()}


def nested_outcomes(records: list[Any]) -> np.ndarray | None:
    """Strategies x questions, when every record kept outcomes on a prefix of one question sample
    (all the same, or nested rungs of successive halving); NaN past a record's questions. None when
    a record kept none, or two records scored different questions (compared by id where kept)."""
    if not records or any(not r.outcomes for r in records):
        return None
    longest = max(records, key=lambda r: len(r.outcomes))
    if all(r.question_ids for r in records):
        ids = list(longest.question_ids)
        if any(list(r.question_ids) != ids[: len(r.outcomes)] for r in records):
            return None
    elif any(r.question_ids for r in records) or len({len(r.outcomes) for r in records}) != 1:
        return None  # without ids, only equally long outcome lists are taken as the same questions
    table = np.full((len(records), len(longest.outcomes)), np.nan)
    for i, r in enumerate(records):
        table[i, : len(r.outcomes)] = r.outcomes
    return table


def on_the_longest_sample(outcomes: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Every cell's value on the longest cells' questions, from nested samples (successive halving):
    a cell scored on fewer questions gets its own mean plus the reference's mean on all questions
    minus the reference's on the cell's questions, the reference being the best of the longest
    cells. So each cell sits at its paired gap to the reference on the questions both scored,
    and an early, lucky cell cannot outrank the refined ones on an easier subset."""
    own = ~np.isnan(outcomes)
    counts = own.sum(axis=1)
    means = np.where(counts > 0, np.nansum(outcomes, axis=1) / np.maximum(counts, 1), fallback)
    longest = np.flatnonzero(counts == counts.max())
    ref = longest[np.argmax(means[longest])]
    ref_on_own = np.where(own, outcomes[ref], 0.0).sum(axis=1) / np.maximum(counts, 1)
    return np.where(counts > 0, means + means[ref] - ref_on_own, fallback)
