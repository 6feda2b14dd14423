"""A task's recorded cells as comparable values: one record per strategy (the last one
recorded), signed so that higher is better, with per-question outcomes when the cells kept them
on one question sample or on nested prefixes of it (successive halving). The benchmark, the
learners' normalized scores and the winners report all read a task (a domain, its view and
base model: ``history.task_name``) through this."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from domaintune.history import History, direction_sign


@dataclass
class TaskTable:
    """One task's recorded cells: candidates, values signed so higher is better, standard
    errors, and per-question outcomes when every cell kept them on one nested sample (the same
    questions, or, after successive halving, the first n of the longest cell's questions; NaN
    past a cell's own n)."""

    keys: list[str]
    values: np.ndarray
    stderr: np.ndarray
    outcomes: np.ndarray | None  # strategies x questions, signed like values
    sign: float
    recorded_order: list[str] | None = None  # the keys in the order first recorded (learners break ties by it)

    @classmethod
    def from_records(cls, records: list[Any]) -> TaskTable:
        """One task's records; a re-recorded strategy counts once, its last record."""
        keyed = [(r.strategy_key(), r) for r in records]
        last = dict(keyed)
        chosen = [last[k] for k in sorted(last)]
        sign = direction_sign(chosen[0].direction)
        outcomes = nested_outcomes(chosen)
        values = np.array([sign * float(r.value) for r in chosen])
        if outcomes is not None:
            outcomes = sign * outcomes
            if np.isnan(outcomes).any():
                values = on_the_longest_sample(outcomes, values)
        stderr = np.array([float(r.stderr or 0.0) for r in chosen])
        return cls(keys=sorted(last), values=values, stderr=stderr, outcomes=outcomes, sign=sign,
                   recorded_order=list(dict.fromkeys(k for k, _ in keyed)))

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


def task_tables(history: History) -> dict[str, TaskTable]:
    """Task name -> its table. A domain asked in two views, or scored with two base models, is two
    tasks: their cells are never merged by strategy."""
    return {task: table_of(records) for task, records in sorted(by_task(history).items())}


def by_task(history: History) -> dict[str, list[Any]]:
    """Task name -> its records, in the history's order."""
    records: dict[str, list[Any]] = {}
    for r in history:
        records.setdefault(r.task, []).append(r)
    return records


_TABLES: OrderedDict[tuple[int, ...], tuple[tuple[Any, ...], TaskTable]] = OrderedDict()
_TABLES_KEPT = 4096


def table_of(records: list[Any]) -> TaskTable:
    """One task's table, memoized by the identity of its (immutable) records: the benchmark builds
    the same task's table once per held-out task otherwise. An entry holds its records, so their
    ids cannot be reused while it is kept."""
    key = tuple(map(id, records))
    if key in _TABLES:
        _TABLES.move_to_end(key)
        return _TABLES[key][1]
    table = TaskTable.from_records(records)
    _TABLES[key] = (tuple(records), table)
    if len(_TABLES) > _TABLES_KEPT:
        _TABLES.popitem(last=False)
    return table


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
