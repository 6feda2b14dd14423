"""The meta benchmark's headline on evaluation questions: every method's picks, the default
learner, paired comparisons, per family and per base model, and the cross-model line.

See ``_evaluation`` for how a pick is valued. Every figure comes with a 95% bootstrap interval
(domains drawn with all their tasks, then each task's evaluation questions; the same draws for
every method, so differences are paired) that contains its estimate. A method whose picks are not
all scored yet gets no figure: its ``missing`` count says how many tasks lack a scored pick, and
the top-level ``missing`` lists the cells to score (the meta-dataset build's ``--picks`` stage).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from domaintune.history import History, task_domain, task_parts
from domaintune.meta._base import REGISTRY, family_of
from domaintune.meta._evaluation import (
    EVAL_KS, RANDOM_PICKS, TPE_K, EvaluationTable, evaluation_tables, is_exact, method_ks, pick_rows, regrets, verdict, wanted_cells,
)
from domaintune.meta._orders import method_orders
from domaintune.meta._table import TaskTable
from domaintune.stats import bootstrap_interval


def task_model(task: str) -> str:
    return task_parts(task)[2]


def _summary(
    etables: dict[str, EvaluationTable], rows: dict[str, dict[str, list[int | None]]], tasks: list[str], bootstrap: int, seed: int
) -> dict[str, Any]:
    """Per method and k: regret with its interval over ``tasks``; paired differences of every
    method pair are read from the same draws (``_paired``)."""
    point = regrets(etables, rows, tasks)
    rng = np.random.default_rng(seed)
    reps = [regrets(etables, rows, tasks, rng) for _ in range(bootstrap)]
    methods: dict[str, dict[str, Any]] = {}
    for method, per_k in point.items():
        entry = methods.setdefault(method, {})
        for k, value in per_k.items():
            if value is None:
                needed = (lambda r: r) if method == "random" else (lambda r, k=k: r[:k])
                entry[str(k)] = {"regret": None, "missing": sum(any(i is None for i in needed(rows[method][t])) for t in tasks)}
                continue
            cell: dict[str, Any] = {"regret": value}
            if bootstrap:
                cell["ci_low"], cell["ci_high"] = bootstrap_interval(np.array([r[method][k] for r in reps]), value)
            entry[str(k)] = cell
    return {"tasks": len(tasks), "domains": len({task_domain(t) for t in tasks}), "methods": methods, "_reps": reps, "_point": point}


def _paired(summary: dict[str, Any], learner: str | None) -> list[dict[str, Any]]:
    """The learner against single-best at k = 1 and 3, and its k = 1 against cold TPE's k = 10."""
    if learner is None:
        return []
    point, reps = summary["_point"], summary["_reps"]
    pairs = []
    for baseline, k, k_base in [("single-best", k, k) for k in EVAL_KS] + [("tpe", 1, TPE_K)]:
        a, b = point.get(learner, {}).get(k), point.get(baseline, {}).get(k_base)
        if a is None or b is None:
            continue
        pair: dict[str, Any] = {"learner": learner, "baseline": baseline, "k": k, "baseline_k": k_base, "difference": a - b}
        if reps:
            diffs = np.array([r[learner][k] - r[baseline][k_base] for r in reps])
            pair["ci_low"], pair["ci_high"] = bootstrap_interval(diffs, pair["difference"])
            pair["verdict"] = verdict(pair)
        pairs.append(pair)
    return pairs


def _public(summary: dict[str, Any], learner: str | None) -> dict[str, Any]:
    out = {k: v for k, v in summary.items() if not k.startswith("_")}
    out["paired"] = _paired(summary, learner)
    return out


def default_learner(summary: dict[str, Any]) -> str | None:
    """The learner the evaluation questions rank first: lowest regret@1, then @3, then name."""
    methods = summary["methods"]
    ranked = [m for m in sorted(REGISTRY) if m != "random" and m in methods
              and all(methods[m][str(k)]["regret"] is not None for k in EVAL_KS)]
    return min(ranked, key=lambda m: (methods[m]["1"]["regret"], methods[m]["3"]["regret"], m), default=None)


def _cross_model(
    screening: History, features: dict[str, dict[str, float]], tables: dict[str, TaskTable], etables: dict[str, EvaluationTable],
    learner: str | None, seeds: tuple[int, ...], bootstrap: int, seed: int, missing: list[tuple[str, str]],
) -> list[dict[str, Any]]:
    """For each pair of base models: the learner (and single-best) fit on one model's tasks only and
    on the scored model's own, scored on the other's evaluation tasks. A scored task is held out
    with its domain, so a line covers the tasks that the fit-on model has another domain for (its
    ``tasks``); a pair with none is left out."""
    models = sorted({task_model(t) for t in screening.tasks()} - {""})
    if learner is None or len(models) < 2:
        return []
    lines = []
    for scored in models:
        for fit_on in models:
            train = History([r for r in screening if task_model(r.task) == fit_on])
            # a scored task is held out with its whole domain: it needs a task of another domain to fit on
            fit_domains = {task_domain(t) for t in train.tasks()}
            targets = [t for t in etables if task_model(t) == scored and fit_domains - {task_domain(t)}]
            if not targets:
                continue
            orders = method_orders(screening, features, [learner, "single-best"], tables, seeds[:1], EVAL_KS, targets, train)
            rows = pick_rows([learner, "single-best"], orders, tables, {t: etables[t] for t in targets})
            missing += wanted_cells(orders, tables, {t: etables[t] for t in targets}, [learner, "single-best"])
            summary = _summary(etables, rows, targets, bootstrap, seed)
            lines.append({"fit_on": fit_on, "scored_on": scored, **_public(summary, learner)})
    return lines


def _groups(tasks: list[str], key: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for task in tasks:
        out.setdefault(key(task), []).append(task)
    return dict(sorted(out.items()))


def evaluation_view(
    history: History,
    features: dict[str, dict[str, float]],
    tables: dict[str, TaskTable],
    orders: dict[str, dict[str, np.ndarray]],
    methods: list[str],
    seeds: tuple[int, ...],
    table: dict[str, Any],
    bootstrap: int,
    bootstrap_seed: int,
) -> dict[str, Any]:
    """The benchmark on evaluation questions, with the table view kept under ``table``."""
    screening, evaluation = history.validated(), history.evaluation()
    etables = evaluation_tables(evaluation, tables)
    if not etables:  # evaluation cells only of tasks without a screening table: nothing to value picks on
        return {"on": "table", **table}
    scored = [m for m in methods if m == "random" or m in orders]
    rows = pick_rows(scored, orders, tables, etables)
    tasks = sorted(etables)
    summary = _summary(etables, rows, tasks, bootstrap, bootstrap_seed)
    learner = default_learner(summary)
    missing = wanted_cells(orders, tables, etables, scored)
    family = {t: family_of(features.get(t, {})) for t in tables}
    by_family = {f: _public(_summary(etables, rows, ts, bootstrap, bootstrap_seed), learner)
                 for f, ts in _groups(tasks, family.__getitem__).items()}
    by_model = {m: _public(_summary(etables, rows, ts, bootstrap, bootstrap_seed), learner) for m, ts in _groups(tasks, task_model).items()}
    cross = _cross_model(screening, features, tables, etables, learner, seeds, bootstrap, bootstrap_seed, missing)
    strategies = {r.strategy_key(): r.strategy for r in screening}
    questions = sorted(e.outcomes.shape[1] for e in etables.values())
    exact = sum(is_exact(tables[t], etables[t]) for t in tasks)
    return {
        "on": "evaluation",
        "tasks": len(tables),
        "domains": len(screening.domains()),
        "cells": len(screening) + len(evaluation),
        "screening_cells": len(screening),
        "evaluation_cells": len(evaluation),
        "families": {f: len(ts) for f, ts in _groups(list(tables), family.__getitem__).items()},
        "models": {m: len(ts) for m, ts in _groups(list(tables), task_model).items()},
        "seeds": list(seeds),
        "default_learner": learner,
        "evaluation": {
            "tasks": len(tasks), "domains": summary["domains"],
            "questions_per_task": {"min": questions[0], "median": questions[len(questions) // 2], "max": questions[-1]},
            "ks": {m: list(method_ks(m)) for m in scored},
            # random is exact on a task whose evaluation questions score its whole table, a seeded draw elsewhere
            "random": {"exact_tasks": exact, "drawn_tasks": len(tasks) - exact, "draw": RANDOM_PICKS},
        },
        **{k: v for k, v in _public(summary, learner).items() if k not in ("tasks", "domains")},
        "by_family": by_family,
        "by_model": by_model,
        "cross_model": cross,
        "missing": [{"task": t, "strategy": strategies.get(k, k)} for t, k in dict.fromkeys(missing)],
        "bootstrap": {**table["bootstrap"], "over": ["domains", "questions"]},
        "table": {**table, "note": "secondary view: the screening table, where a strategy screened out at an early rung "
                  "is valued on the questions that screened it out"},
    }


