"""Regret on evaluation questions: each method's picks scored on questions that no screening or
selection step saw.

A task's evaluation cells (``stage: evaluation``) score strategies on the validation questions
after the last rung's: the screening table's finalists, then every strategy a method picks
within its first k (``wanted_cells`` lists those still missing; the meta-dataset build scores
them). The methods' orders come from the screening table, fit on the other domains as in the
table view; only their first picks are valued here, all on the same questions of a task.

A pick's normalized regret is 1 - (its value - floor) / (best - floor): ``best`` is the best value
on the task's evaluation questions among every strategy scored there (the finalists and all
picks: the oracle among them), ``floor`` the task's worst value on its screening table (a fixed
scale: the worst strategy is screened out early and never rescored).

``random`` picks k strategies uniformly at random; its regret@k is the expectation over the
k-subsets of its rows. On a task whose evaluation questions score every strategy of its table,
the rows are all of them and the figure is exact. Elsewhere they are one seeded draw of
``RANDOM_PICKS`` strategies, scored like any method's picks: a uniform k-subset of a uniform draw
is a uniform k-subset of the table, so the figure is an unbiased estimate (regret@1 the draw's
mean, regret@3 its best), sampled, and resampling tasks carries that noise into the interval.
The meta-dataset build's ``--exact-random`` stage scores the rest (``unscored_strategies``). A
seeded method (TPE, the surrogate) counts its first seed's order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from domaintune.errors import ConfigError
from domaintune.history import History
from domaintune.meta._regret import draw_tasks
from domaintune.meta._table import TaskTable
from domaintune.stats import max_of_random_picks

EVAL_KS = (1, 3)  # every method's picks within k <= 3 are scored on the evaluation questions
TPE_K = 10  # and cold-start TPE's within 10: the learner at k = 1 against TPE at k = 10
RANDOM_PICKS = 3


def verdict(pair: dict[str, Any]) -> str:
    """A paired difference's reading: a side is better only when its interval excludes 0."""
    if pair["ci_high"] < 0:
        return f"{pair['learner']} better"
    if pair["ci_low"] > 0:
        return f"{pair['baseline']} better"
    return "tie within noise"


@dataclass
class EvaluationTable:
    """One task's evaluation cells: strategy keys, per-question outcomes (signed so higher is
    better; every cell on the same questions) and the screening table's floor."""

    keys: list[str]
    outcomes: np.ndarray  # strategies x questions
    floor: float

    @classmethod
    def from_records(cls, task: str, records: list[Any], table: TaskTable) -> EvaluationTable:
        last = {r.strategy_key(): r for r in records}
        keys = sorted(last)
        ids = last[keys[0]].question_ids
        for key in keys:
            r = last[key]
            if not r.outcomes or (r.question_ids or None) != (ids or None) or len(r.outcomes) != len(last[keys[0]].outcomes):
                raise ConfigError(f"task {task}: its evaluation cells must keep per-question outcomes on the same "
                                  f"questions (strategy {key} does not)")
        outcomes = table.sign * np.array([last[k].outcomes for k in keys], dtype=float)
        return cls(keys=keys, outcomes=outcomes, floor=float(table.values.min()))

    def scores(self, questions: np.ndarray | None = None) -> np.ndarray:
        """Normalized scores of the scored strategies (on a resample of the questions when given)."""
        values = (self.outcomes if questions is None else self.outcomes[:, questions]).mean(axis=1)
        best = float(values.max())
        return (values - self.floor) / (best - self.floor) if best > self.floor else np.ones_like(values)


def evaluation_tables(evaluation: History, tables: dict[str, TaskTable]) -> dict[str, EvaluationTable]:
    """Task -> its evaluation table, for the tasks with evaluation cells and a screening table."""
    records: dict[str, list[Any]] = {}
    for r in evaluation:
        records.setdefault(r.task, []).append(r)
    return {task: EvaluationTable.from_records(task, rows, tables[task]) for task, rows in sorted(records.items()) if task in tables}


def method_ks(method: str) -> tuple[int, ...]:
    return (*EVAL_KS, TPE_K) if method == "tpe" else EVAL_KS


def is_exact(table: TaskTable, etable: EvaluationTable) -> bool:
    """Whether the evaluation questions score every strategy of the task's table (random is exact there)."""
    return set(table.keys) <= set(etable.keys)


def random_picks(task: str, table: TaskTable, etable: EvaluationTable | None = None) -> list[str]:
    """The random method's rows on a task: every strategy of its table where the evaluation
    questions score them all, else a seeded draw of ``RANDOM_PICKS`` distinct strategies."""
    if etable is not None and is_exact(table, etable):
        return sorted(table.keys)
    return random.Random(f"evaluation:{task}").sample(sorted(table.keys), min(RANDOM_PICKS, len(table.keys)))


def picks(
    method: str, task: str, orders: dict[str, dict[str, np.ndarray]], tables: dict[str, TaskTable], etable: EvaluationTable | None = None
) -> list[str]:
    """A method's picks on a task that the evaluation questions value: its first max(k) (first seed)."""
    if method == "random":
        return random_picks(task, tables[task], etable)
    return [tables[task].keys[i] for i in orders[method][task][0][: max(method_ks(method))]]


def unscored_strategies(tables: dict[str, TaskTable], etables: dict[str, EvaluationTable]) -> list[tuple[str, str]]:
    """(task, strategy key) of every strategy on a task's table that its evaluation questions have
    not scored: what an exact ``random`` needs, task by task."""
    return [(task, key) for task, etable in etables.items() for key in sorted(set(tables[task].keys) - set(etable.keys))]


def wanted_cells(
    orders: dict[str, dict[str, np.ndarray]], tables: dict[str, TaskTable], etables: dict[str, EvaluationTable], methods: list[str]
) -> list[tuple[str, str]]:
    """(task, strategy key) of every pick that the evaluation questions need and do not have yet."""
    missing: dict[tuple[str, str], None] = {}
    for task, etable in etables.items():
        have = set(etable.keys)
        for method in methods:
            for key in picks(method, task, orders, tables, etable):
                if key not in have:
                    missing[(task, key)] = None
    return list(missing)


def _regret(method: str, rows: list[int | None], scores: np.ndarray, k: int) -> float | None:
    """Regret after k picks (None when one of the picks it needs is unscored). Random's is the
    expectation over the k-subsets of its rows, so it needs all of them: with three drawn rows,
    regret@1 is their mean and regret@3 their best."""
    needed = rows if method == "random" else rows[:k]
    if any(r is None for r in needed):
        return None
    if method == "random" and k == 1:
        return float(np.mean(1.0 - scores[needed]))
    if method == "random" and k < len(needed):
        ascending = np.sort(scores[needed], kind="stable")
        return float(np.asarray(max_of_random_picks(len(needed), k)) @ (1.0 - ascending))
    return float(1.0 - scores[needed[:k]].max())


def pick_rows(
    methods: list[str], orders: dict[str, dict[str, np.ndarray]], tables: dict[str, TaskTable], etables: dict[str, EvaluationTable]
) -> dict[str, dict[str, list[int | None]]]:
    """method -> task -> the rows of its picks in the task's evaluation table (None: that pick is unscored)."""
    out: dict[str, dict[str, list[int | None]]] = {}
    for method in methods:
        for task, etable in etables.items():
            index = {k: i for i, k in enumerate(etable.keys)}
            out.setdefault(method, {})[task] = [index.get(k) for k in picks(method, task, orders, tables, etable)]
    return out


def regrets(
    etables: dict[str, EvaluationTable], rows: dict[str, dict[str, list[int | None]]], tasks: list[str], rng: np.random.Generator | None = None
) -> dict[str, dict[int, float | None]]:
    """method -> k -> mean regret over ``tasks`` (a bootstrap draw of their domains and questions
    when ``rng``); None where some task lacks a scored pick."""
    drawn = draw_tasks(tasks, rng) if rng is not None else tasks
    sums: dict[str, dict[int, float | None]] = {m: {k: 0.0 for k in method_ks(m)} for m in rows}
    for task in drawn:
        etable = etables[task]
        questions = rng.integers(0, etable.outcomes.shape[1], etable.outcomes.shape[1]) if rng is not None else None
        scores = etable.scores(questions)
        for method, per_task in rows.items():
            for k in method_ks(method):
                total, regret = sums[method][k], _regret(method, per_task[task], scores, k)
                sums[method][k] = None if total is None or regret is None else total + regret
    return {m: {k: (None if v is None else v / len(drawn)) for k, v in per_k.items()} for m, per_k in sums.items()}
