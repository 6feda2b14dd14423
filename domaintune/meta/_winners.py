"""Which strategy wins where, beyond noise: the question a meta-learner needs answered "often"
before it has anything task-specific to learn.

For every task of a history (a domain, its view and base model): its best strategy on the
screening table (the table's winner), its family's single best strategy (the best mean
normalized score over the family's tasks, among the strategies recorded on all of them: a
free-text task and a multiple-choice one are not offered the same strategies), and whether the
winner beats the single best beyond noise.

The winner was chosen on its table's questions, so a test on those questions favours it (the
winner's curse: the best of 49 looks ahead of anything on the questions that chose it). The
test that counts is on the evaluation questions (``History.evaluation()``: questions no screening
or selection saw), where both the winner and the single best were scored: ``beyond_noise_on`` is
"evaluation" there. Elsewhere the table test is kept, labelled "table", and counted apart as
selection-biased. For each level (black, grey, white box, none, hybrids counted under every
level they use): the tasks where that level's best is the table's winner, or within noise of it
on the table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from domaintune.errors import ConfigError, DomainError
from domaintune.history import History, Record
from domaintune.meta._base import family_of
from domaintune.meta._markdown import markdown_table
from domaintune.meta._table import TaskTable, task_tables
from domaintune.stats import paired_gap, within_noise_unpaired, z_value
from domaintune.strategy import LEVELS, Strategy

EVALUATION = "evaluation"
TABLE = "table"


def winners(history: History, features: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
    """The winners report of a history (see the module docstring). ``features`` (task name ->
    meta-features, ``feature_table``) names each task's family; a task it does not name gets the
    family of its installed domain in its view (``task_family``)."""
    screening = history.validated()
    tables = task_tables(screening)
    if not tables:
        raise ConfigError("winners: the history has no validation records with values")
    evaluation = task_tables(history.evaluation())
    first = {r.task: r for r in reversed(screening.records)}
    strategies = {r.strategy_key(): r.strategy for r in screening}
    families = {task: _family(first[task], (features or {}).get(task)) for task in tables}
    singles = {family: _single_best([t for t in tables if families[t] == family], tables, family)
               for family in sorted(set(families.values()))}
    levels_of = {k: Strategy.from_dict(strategy).levels() for k, strategy in strategies.items()}
    levels: dict[str, dict[str, list[str]]] = {level: {"wins": [], "tied": []} for level in ("none", *LEVELS)}
    rows = []
    for task, t in tables.items():
        family = families[task]
        row = _row(first[task], family, t, evaluation.get(task), singles[family][0])
        rows.append({**row, "best": _describe(row["best"], strategies), "levels": levels_of[row["best"]]})
        _count_levels(task, t, levels_of, levels)
    evaluated = [r for r in rows if r["beyond_noise_on"] == EVALUATION]
    beyond = [r for r in evaluated if r["beyond_noise"]]
    return {
        "tasks": len(rows),
        "domains": len({r["domain"] for r in rows}),
        "cells": len(screening),
        "evaluation_cells": len(history.evaluation()),
        "strategies": len(strategies),
        "single_best": {family: {**_describe(key, strategies), "mean_normalized_score": mean, "tasks": n}
                        for family, (key, mean, n) in singles.items()},
        "per_task": rows,
        "beyond_noise": len(beyond),
        "testable": len(evaluated),
        "beyond_noise_on_table": sum(r["table"]["beyond_noise"] for r in rows),
        "distinct_winners": len({r["best"]["key"] for r in rows}),
        "distinct_winners_beyond_noise": len({r["best"]["key"] for r in beyond}),
        "levels": levels,
    }


def _family(record: Record, features: dict[str, float] | None) -> str:
    """A task's family: from its meta-features when they name one, else from its installed domain."""
    from domaintune.domains import load_domain
    from domaintune.meta.features import task_family

    named = family_of(features or {})
    if named:
        return named
    try:
        return task_family(load_domain(record.domain).view(record.view or None))
    except DomainError as error:
        raise ConfigError(f"winners: task {record.task}: its family picks the single best it is compared with, and its domain "
                          f"cannot be loaded ({error}); install the domain or pass the tasks' features") from None


def _single_best(tasks: list[str], tables: dict[str, TaskTable], family: str) -> tuple[str, float, int]:
    """A family's single best: among the strategies recorded on each of its tasks, the best mean
    normalized score over them (key, that score, how many tasks)."""
    common = set.intersection(*(set(tables[t].keys) for t in tasks))
    if not common:
        raise ConfigError(f"winners: no strategy is recorded on every task of the {family or '(unnamed)'} family "
                          f"({', '.join(tasks)}), so it has no single best to compare with")
    scores = {t: dict(zip(tables[t].keys, tables[t].scores())) for t in tasks}
    means = {k: float(np.mean([scores[t][k] for t in tasks])) for k in common}
    key = max(sorted(means), key=lambda k: means[k])
    return key, means[key], len(tasks)


def _row(record: Record, family: str, t: TaskTable, e: TaskTable | None, single: str) -> dict[str, Any]:
    """A task's line: the table's winner (by key) and the single best, on the table and, where the
    evaluation stage scored both, on the evaluation questions; the test that counts is the latter."""
    best = int(np.argmax(t.values))
    key = t.keys[best]
    gap, se, beyond = _gap(t, best, t.keys.index(single))
    table = {"gap": gap, "gap_se": se, "beyond_noise": beyond}
    on_evaluation = _on_evaluation(e, key, single)
    test = on_evaluation if on_evaluation is not None and on_evaluation["single_best_value"] is not None else table
    return {
        "task": record.task,
        "domain": record.domain,
        "view": record.view,
        "model": Path(record.base_model).name if record.base_model else "",
        "family": family,
        "best": key,
        "best_value": float(t.sign * t.values[best]),
        "questions": int(t.questions[best]),
        "best_evaluation_value": None if on_evaluation is None else on_evaluation["best_value"],
        "single_best_value": float(t.sign * t.values[t.keys.index(single)]),
        "table": table,
        "evaluation": on_evaluation,
        "gap": test["gap"],
        "gap_se": test["gap_se"],
        "beyond_noise": test["beyond_noise"],
        "beyond_noise_on": EVALUATION if test is on_evaluation else TABLE,
    }


def _on_evaluation(e: TaskTable | None, best: str, single: str) -> dict[str, Any] | None:
    """The winner (and the single best, with the paired test, when it too was scored) on the
    evaluation questions; None where the evaluation stage did not score the winner."""
    if e is None or best not in e.keys:
        return None
    i = e.keys.index(best)
    out: dict[str, Any] = {"best_value": float(e.sign * e.values[i]), "questions": int(e.questions[i]),
                           "single_best_value": None, "gap": None, "gap_se": None, "beyond_noise": None}
    if single in e.keys:
        j = e.keys.index(single)
        gap, se, beyond = _gap(e, i, j)
        out.update(single_best_value=float(e.sign * e.values[j]), gap=gap, gap_se=se, beyond_noise=beyond)
    return out


def _count_levels(task: str, t: TaskTable, levels_of: dict[str, list[str]], levels: dict[str, dict[str, list[str]]]) -> None:
    """Add ``task`` under each level whose best is the table's winner, or within noise of it (on the table)."""
    best = int(np.argmax(t.values))
    for level, entry in levels.items():
        members = [i for i, k in enumerate(t.keys) if level in levels_of[k]]
        if not members:
            continue
        top = max(members, key=lambda i: t.values[i])
        if top == best:
            entry["wins"].append(task)
        elif not _gap(t, best, top)[2]:
            entry["tied"].append(task)


def _gap(t: TaskTable, best: int, other: int) -> tuple[float, float, bool]:
    """Gap best - other (signed so positive = best ahead), its standard error, and whether it is
    beyond noise: paired on shared questions where outcomes were kept, else from the cells' errors."""
    if best == other:
        return 0.0, 0.0, False
    if t.outcomes is not None:
        mean, se = paired_gap(*t.paired(best, other))
        return float(mean), float(se), bool(mean > z_value() * se)
    gap = float(t.values[best] - t.values[other])
    se = float(np.hypot(t.stderr[best], t.stderr[other]))
    return gap, se, not within_noise_unpaired(gap, float(t.stderr[best]), float(t.stderr[other]))


def _describe(key: str, strategies: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"key": key, "label": Strategy.from_dict(strategies[key]).describe(), "strategy": strategies[key]}


def winners_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: the single best per family, the headline counts, a row per task, the levels."""
    singles = "; ".join(f"{family or '(unnamed)'}: **{s['label']}** ({s['mean_normalized_score']:.3f} over {s['tasks']} tasks)"
                        for family, s in report["single_best"].items())
    n = report["tasks"]
    lines = [
        f"{n} tasks ({report['domains']} domains), {report['cells']} screening cells, {report['evaluation_cells']} evaluation "
        f"cells, {report['strategies']} strategies. Single best per family (best mean normalized score on the screening "
        f"tables): {singles}.",
        f"Tasks whose table winner beats its family's single best beyond noise **on evaluation questions** (questions that "
        f"chose neither; paired test, gap > 1.96 SE): **{report['beyond_noise']} of {report['testable']} tasks** "
        f"({report['testable']} of {n} tasks testable: the evaluation stage scored both). Distinct winners: "
        f"{report['distinct_winners']} ({report['distinct_winners_beyond_noise']} among the tasks beyond noise).",
        f"On the screening table, the questions that chose the winner (selection-biased: the winner's curse favours it), "
        f"{report['beyond_noise_on_table']} of {n} tasks.",
        "",
    ]
    lines += markdown_table(["task", "family", "best strategy", "levels", "best: table", "best: evaluation", "single best: table",
                             "single best: evaluation", "gap ± 1.96 SE", "beyond noise (on)"], map(_markdown_row, report["per_task"]))
    levels = [[level, *(f"{len(entry[k])}: {_cell(', '.join(entry[k])) or '-'}" for k in ("wins", "tied"))]
              for level, entry in report["levels"].items()]
    lines += ["", "Levels, on the screening table (selection-biased):", "",
              *markdown_table(["level", "its best is the table's winner", "within noise of it"], levels)]
    return "\n".join(lines) + "\n"


def _markdown_row(r: dict[str, Any]) -> list[str]:
    e = r["evaluation"] or {}

    def value(v: float | None, questions: int | None = None) -> str:
        return "-" if v is None else f"{v:.3f}" + (f" ({questions} q)" if questions else "")

    return [_cell(r["task"]), r["family"], r["best"]["label"], "+".join(r["levels"]), value(r["best_value"], r["questions"]),
            value(e.get("best_value"), e.get("questions")), value(r["single_best_value"]), value(e.get("single_best_value")),
            f"{r['gap']:+.3f} ± {z_value() * r['gap_se']:.3f}", f"{'yes' if r['beyond_noise'] else 'tie'} ({r['beyond_noise_on']})"]


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a task name's ``|`` would end the cell."""
    return text.replace("|", "\\|")
