"""Leave-one-domain-out evaluation: normalized regret after k evaluations, average rank, and
how sure we are of them.

The unit is the task (a domain asked in a view with a base model). Every method proposes an
order of the held-out task's recorded strategies, fitted on the other domains' tasks only (no
task of the held-out domain, in any view or with any model); regret after k is 1 - the best
normalized score among its first k. Two baselines need no fitting: ``single-best`` (the
strategies by their mean normalized score on those tasks, so its first pick is the one strategy
best on average) and ``random``, whose regret on the table is the exact expectation over picks
without replacement (computed, not sampled).

This module is the *table view*: regret on the screening table, where a strategy screened out at
an early rung is valued on the questions that screened it out. Where the history holds
evaluation-stage cells, the headline is measured on those questions instead (``_eval_view``).

Intervals are a bootstrap over domains (each drawn with all its tasks) and, where the history
keeps per-question outcomes on one question sample (or nested prefixes of it, as successive
halving records), over the held-out task's questions too (its scores, its best strategy and so
the regret of every order are recomputed on each resample). The methods' orders stay as they
were decided: the interval is the noise of measuring them, not of refitting.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from domaintune.errors import ConfigError
from domaintune.history import History
from domaintune.meta._base import REGISTRY
from domaintune.meta._orders import BASELINES, check_method, default_methods, method_orders
from domaintune.meta._regret import evaluate
from domaintune.meta._evaluation import verdict
from domaintune.meta._table import TaskTable, task_tables
from domaintune.stats import bootstrap_interval

KS = (1, 3, 5, 10, 20)
SEEDS = (0,)  # the evaluation view counts each seeded method's first seed; the table view follows it
PAIRED_KS = (1, 3)  # the best learner against single-best at these k
BOOTSTRAP = 1000
INTERVAL = ("bias-corrected percentile, 95%, widened to contain its estimate where the replicates lie on one side; "
            "tasks drawn by domain (all tasks of a drawn domain together), then each task's questions")


def leave_one_domain_out(
    history: History,
    features: dict[str, dict[str, float]],
    methods: list[str] | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    ks: tuple[int, ...] = KS,
    bootstrap: int = BOOTSTRAP,
    bootstrap_seed: int = 0,
) -> dict[str, Any]:
    """For every task: fit each method on the other domains' tasks, replay its proposal order on
    the held-out task, and record normalized regret after k evaluations.

    Where the history holds evaluation-stage cells (questions no screening or selection saw), the
    headline is measured there (``on: evaluation``, ``_eval_view``) and this table view, on the
    screening table, is kept under ``table``, labelled as secondary. Without them the table view
    is the result (``on: table``).

    The table view gives ``tasks``, ``domains``, ``seeds``, ``cells`` (evaluations in the history),
    ``methods`` -> method -> k -> ``regret`` (with ``ci_low``/``ci_high``, 95% bootstrap), ``rank``
    (with its interval), ``gap`` and ``within_noise``; ``samples`` (per method: tasks, domains,
    cases, whether the method is deterministic, the effective sample); ``paired`` (the best learner
    against single-best at k = 1 and 3, and against cold TPE at the largest k); ``bootstrap``."""
    screening = history.validated()
    if not screening.tasks():
        raise ConfigError("leave-one-domain-out needs validation records with values; the history has none")
    methods = list(dict.fromkeys(methods or default_methods()))
    for method in methods:
        check_method(method)
    tables = task_tables(screening)
    ks = tuple(k for k in ks if k <= max(len(t.keys) for t in tables.values()))
    orders = method_orders(screening, features, methods, tables, seeds, ks)
    table = table_view(screening, tables, orders, methods, seeds, ks, bootstrap, bootstrap_seed)
    if not history.evaluation():
        return {"on": "table", **table}
    from domaintune.meta._eval_view import evaluation_view

    return evaluation_view(history, features, tables, orders, methods, seeds, table, bootstrap, bootstrap_seed)


def table_view(
    screening: History,
    tables: dict[str, TaskTable],
    orders: dict[str, dict[str, np.ndarray]],
    methods: list[str],
    seeds: tuple[int, ...],
    ks: tuple[int, ...],
    bootstrap: int,
    bootstrap_seed: int,
) -> dict[str, Any]:
    """Regret on the screening table (every strategy valued at the last rung it reached)."""
    table = _point_table(screening, tables, orders, methods, seeds, ks)
    if bootstrap > 0:
        _add_intervals(table, tables, screening.tasks(), orders, methods, len(seeds), ks, bootstrap, bootstrap_seed)
    with_outcomes = sum(t.outcomes is not None for t in tables.values())
    table["bootstrap"] = {
        "replicates": bootstrap,
        "seed": bootstrap_seed,
        "over": ["domains", "questions"] if with_outcomes else ["domains"],
        "tasks_with_outcomes": with_outcomes,
        "orders": "fixed as the methods chose them (measurement noise, not refitting)",
        "interval": INTERVAL,
    }
    return table


def _point_table(
    history: History,
    tables: dict[str, TaskTable],
    orders: dict[str, dict[str, np.ndarray]],
    methods: list[str],
    seeds: tuple[int, ...],
    ks: tuple[int, ...],
) -> dict[str, Any]:
    """The estimates on the data as recorded: per method and k, regret, rank, gap and within-noise
    share; each method's sample; the paired comparisons (their intervals come from the bootstrap)."""
    tasks = history.tasks()
    point = evaluate(tables, tasks, orders, methods, ks, None, len(seeds))
    table: dict[str, Any] = {
        "tasks": len(tasks),
        "domains": len(history.domains()),
        "seeds": list(seeds),
        "cells": len(history),
        "questions_per_cell": _questions(history),
        "methods": {},
        "samples": {},
    }
    for m in methods:
        entry = table["methods"].setdefault(m, {})
        for j, k in enumerate(ks):
            entry[str(k)] = {
                "regret": float(point["regret"][m][j]),
                "rank": float(point["rank"][m][j]),
                # in the metric's own units: how far the best found so far is from the task's best,
                # and the share of cases where that gap is within noise (the export's paired test)
                "gap": float(point["gap"][m][j]),
                "within_noise": float(point["within"][m][j]),
            }
        deterministic = m in BASELINES or all(
            (orders[m][t] == orders[m][t][0]).all() for t in tasks
        )
        table["samples"][m] = {
            "tasks": len(tasks),
            "domains": table["domains"],
            "cases": len(tasks) * (1 if m == "random" else len(seeds)),
            "deterministic": deterministic,
            # the seeds of a deterministic method repeat one result; a random one's seeds are not
            # independent of its task either, nor are the tasks of one domain: the unit of the
            # interval is the domain
            "effective": table["domains"],
        }
    table["paired"] = _paired_spec(table, ks)
    return table


def _add_intervals(
    table: dict[str, Any],
    tables: dict[str, TaskTable],
    tasks: list[str],
    orders: dict[str, dict[str, np.ndarray]],
    methods: list[str],
    n_seeds: int,
    ks: tuple[int, ...],
    bootstrap: int,
    bootstrap_seed: int,
) -> None:
    """95% intervals of every regret, rank and paired difference from ``bootstrap`` draws of the
    domains (with their tasks) and, where kept, of their questions (the nested bootstrap; the
    orders stay fixed)."""
    rng = np.random.default_rng(bootstrap_seed)
    reps = [evaluate(tables, tasks, orders, methods, ks, rng, n_seeds, resample=True) for _ in range(bootstrap)]
    for m in methods:
        for j, k in enumerate(ks):
            regrets = np.array([r["regret"][m][j] for r in reps])
            ranks = np.array([r["rank"][m][j] for r in reps])
            cell = table["methods"][m][str(k)]
            cell["ci_low"], cell["ci_high"] = bootstrap_interval(regrets, cell["regret"])
            cell["rank_ci_low"], cell["rank_ci_high"] = bootstrap_interval(ranks, cell["rank"])
    for pair in table["paired"]:
        j = ks.index(pair["k"])
        diffs = np.array([r["regret"][pair["learner"]][j] - r["regret"][pair["baseline"]][j] for r in reps])
        pair["ci_low"], pair["ci_high"] = bootstrap_interval(diffs, pair["difference"])
        pair["verdict"] = verdict(pair)


def _questions(history: History) -> dict[str, int] | None:
    counts = sorted(r.questions or (len(r.outcomes) if r.outcomes else 0) for r in history)
    counts = [c for c in counts if c]
    if not counts:
        return None
    return {"min": counts[0], "median": counts[len(counts) // 2], "max": counts[-1]}


def _paired_spec(table: dict[str, Any], ks: tuple[int, ...]) -> list[dict[str, Any]]:
    """The best learner (lowest mean regret at that k among the registered learners) against
    single-best at k = 1 and 3, and against cold-start TPE at the largest k up to 10."""
    methods = table["methods"]
    learners = [m for m in methods if m in REGISTRY and m != "random"]
    pairs = []
    wanted = [("single-best", k) for k in PAIRED_KS if k in ks]
    tpe_k = max((k for k in ks if k <= 10), default=None)
    if tpe_k is not None:
        wanted.append(("tpe", tpe_k))
    for baseline, k in wanted:
        if baseline not in methods or not learners:
            continue
        best = min(learners, key=lambda m: (methods[m][str(k)]["regret"], m))
        difference = methods[best][str(k)]["regret"] - methods[baseline][str(k)]["regret"]
        pairs.append({"learner": best, "baseline": baseline, "k": k, "difference": difference})
    return pairs


def benchmark(history: History, groups: tuple[str, ...] | None = None, seeds: tuple[int, ...] = SEEDS, bootstrap: int = BOOTSTRAP) -> dict[str, Any]:
    """``domaintune meta eval``: the meta-features of every task (``groups``, default the model-free
    ones) and the leave-one-domain-out benchmark, with the groups named in the result. The same
    history and arguments give the same JSON, byte for byte (the shipped
    ``benchmarks/results/meta_eval.json`` is checked against a fresh run)."""
    from domaintune.meta.features import MODEL_FREE_GROUPS, feature_table

    groups = tuple(groups or MODEL_FREE_GROUPS)
    table = leave_one_domain_out(history, feature_table(history.validated(), groups), seeds=seeds, bootstrap=bootstrap)
    return {**table, "features": list(groups)}
