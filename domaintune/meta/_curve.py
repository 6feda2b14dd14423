"""The knowledge curve (issue 23): how a learner's regret falls as it learns from more tasks.

For every held-out task, the learner is fitted on m tasks drawn at random from the *other*
domains (never a task of the held-out domain, in any view or with any model), for a handful of
sizes m, several draws each (a draw is shared by the tasks of one domain, whose pool is the
same); its proposal order of the held-out task's recorded strategies is
scored by normalized regret after k (1 - the best normalized score among its first k). A curve
that falls with m says the history's tasks carry knowledge the learner uses; a flat one says
more recorded tasks would not help it.

The values are the screening table's (``on: table``): a strategy screened out early by
successive halving is valued on the questions that screened it out (``TaskTable``), not on
evaluation questions. The interval is a bootstrap over domains (a domain's tasks resampled
together), the unit that is independent; the draws and the learner's fit are not refitted.
"""

from __future__ import annotations

import inspect
import random
import time
from typing import Any

import numpy as np

from domaintune.errors import ConfigError
from domaintune.history import History, strategy_key, task_domain
from domaintune.meta._base import REGISTRY, family_of
from domaintune.meta._learners import one_thread
from domaintune.meta._table import task_tables
from domaintune.stats import bootstrap_interval

BOOTSTRAP = 1000  # replicates of the interval over domains
ON_TABLE = ("values are the screening table's: a strategy screened out early is valued on the questions "
            "that screened it out; the interval resamples domains (all their tasks together), not draws")


def knowledge_curve(
    history: History,
    features: dict[str, dict[str, float]],
    learner: str,
    sizes: list[int] | tuple[int, ...] | None = None,
    draws: int = 5,
    ks: tuple[int, ...] = (1, 3),
    seed: int = 0,
) -> dict[str, Any]:
    """Regret@k of ``learner`` against the number of training tasks, overall and per task family.

    Returns ``sizes``, ``curve`` (one entry per size: ``regret`` and ``ci`` per k, the tasks,
    domains and draws behind it, and how many tasks had fewer training tasks available than
    the size and used all of them: ``capped``), ``families`` (family -> the same entries, by
    the held-out task's ``task.family_*`` feature), ``on`` and ``note``, and the ``seconds`` it took."""
    _check(learner, draws, ks, sizes)
    started = time.perf_counter()
    screening = history.validated()
    held_out = [t for t in screening.tasks() if t in features]
    pools = {t: [p for p in screening.without_domain(task_domain(t)).tasks() if p in features] for t in held_out}
    held_out = [t for t in held_out if pools[t]]
    if not held_out:
        raise ConfigError("knowledge curve: no task has a task of another domain to learn from (with meta-features)")
    available = min(len(pools[t]) for t in held_out)
    chosen = _sizes(sizes, available, max(len(p) for p in pools.values()))
    regrets = _regrets(screening, features, learner, held_out, pools, chosen, draws, ks, seed)
    families = {t: family_of(features[t]) or "unknown" for t in held_out}

    def entries(tasks: list[str]) -> list[dict[str, Any]]:
        return [_entry(m, tasks, pools, regrets[m], ks, draws, seed) for m in chosen]

    return {
        "learner": learner,
        "sizes": chosen,
        "ks": list(ks),
        "draws": draws,
        "seed": seed,
        "tasks": len(held_out),
        "domains": len({task_domain(t) for t in held_out}),
        "without_features": [t for t in screening.tasks() if t not in features],
        "curve": entries(held_out),
        "families": {f: entries([t for t in held_out if families[t] == f]) for f in sorted(set(families.values()))},
        "bootstrap": {"replicates": BOOTSTRAP, "over": "domains", "interval": "bias-corrected percentile, 95%"},
        "on": "table",
        "note": ON_TABLE,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _check(learner: str, draws: int, ks: tuple[int, ...], sizes: Any) -> None:
    if learner not in REGISTRY:
        raise ConfigError(f"knowledge curve: unknown learner {learner!r}; known: {', '.join(sorted(REGISTRY))}")
    if draws < 1:
        raise ConfigError(f"knowledge curve: draws must be at least 1, got {draws}")
    if not ks or any(k < 1 for k in ks):
        raise ConfigError(f"knowledge curve: every k must be at least 1, got {list(ks)}")
    if sizes is not None and (not sizes or any(not isinstance(m, int) or m < 1 for m in sizes)):
        raise ConfigError(f"knowledge curve: sizes must be whole numbers of training tasks, at least 1; got {list(sizes)}")


def _sizes(sizes: Any, available: int, most: int) -> list[int]:
    """The given sizes (capped at the most training tasks any held-out task has), or by default
    1, 2, 4, ... below the number every held-out task has, and that number (all of them)."""
    if sizes is not None:
        return sorted({min(m, most) for m in sizes})
    doubling = [2**i for i in range(available.bit_length()) if 2**i < available]
    return doubling + [available]


def _regrets(
    screening: History,
    features: dict[str, dict[str, float]],
    learner: str,
    held_out: list[str],
    pools: dict[str, list[str]],
    sizes: list[int],
    draws: int,
    ks: tuple[int, ...],
    seed: int,
) -> dict[int, dict[str, np.ndarray]]:
    """size -> task -> draws x len(ks) regrets. Every task of a domain has the same pool (the
    other domains' tasks), so a draw is made, and the learner fitted, once per held-out domain
    and serves all its tasks; a draw that repeats an earlier one's tasks (every draw, once the
    size takes all of them) reuses its fit (fitted with the curve's seed: same tasks, same fit)."""
    tables = task_tables(screening)
    scores = {t: dict(zip(tables[t].keys, map(float, tables[t].scores()))) for t in held_out}
    out: dict[int, dict[str, np.ndarray]] = {m: {t: np.zeros((draws, len(ks))) for t in held_out} for m in sizes}
    by_domain: dict[str, list[str]] = {}
    for task in held_out:
        by_domain.setdefault(task_domain(task), []).append(task)
    for domain, tasks in sorted(by_domain.items()):
        fits: dict[frozenset[str], Any] = {}
        for m in sizes:
            for d in range(draws):
                drawn = _draw(pools[tasks[0]], m, seed, d, domain)
                with one_thread():
                    if drawn not in fits:
                        fits[drawn] = _fit(learner, features, History([r for r in screening if r.task in drawn]), seed)
                    orders = {task: _order(fits[drawn], task, scores[task]) for task in tasks}
                for task, order in orders.items():
                    out[m][task][d] = [1.0 - max(scores[task][key] for key in order[:k]) for k in ks]
    return out


def _draw(pool: list[str], m: int, seed: int, draw: int, domain: str) -> frozenset[str]:
    """m training tasks (all of them when the pool is smaller), seeded by seed, draw, the held-out domain and m."""
    return frozenset(random.Random(f"{seed}:{draw}:{domain}:{m}").sample(pool, min(m, len(pool))))


def _fit(learner: str, features: dict[str, dict[str, float]], train: History, seed: int) -> Any:
    """The learner fitted on ``train`` (in the history's order: learners break ties by it), seeded
    where it takes a seed."""
    factory = REGISTRY[learner]
    takes_seed = "seed" in inspect.signature(factory).parameters
    return (factory(features, seed=seed) if takes_seed else factory(features)).fit(train)


def _order(fitted: Any, task: str, scores: dict[str, float]) -> list[str]:
    """The fitted learner's proposal order of the task's recorded strategies, the ones it did not
    propose after them, sorted (as ``_orders._learner_order`` orders them for the benchmark)."""
    proposed = (strategy_key(p.strategy) for p in fitted.propose(task, len(scores)))
    order = [k for k in dict.fromkeys(proposed) if k in scores]
    return order + [k for k in sorted(scores) if k not in order]


def _entry(
    size: int,
    tasks: list[str],
    pools: dict[str, list[str]],
    regrets: dict[str, np.ndarray],
    ks: tuple[int, ...],
    draws: int,
    seed: int,
) -> dict[str, Any]:
    """One size's mean regret over (tasks x draws) per k, with its 95% interval over domains."""
    domains = sorted({task_domain(t) for t in tasks})
    per_task = np.array([regrets[t].mean(axis=0) for t in tasks])  # tasks x ks
    member = np.array([[task_domain(t) == d for t in tasks] for d in domains], dtype=float)  # domains x tasks
    sums, counts = member @ per_task, member.sum(axis=1)
    rng = np.random.default_rng(seed)
    picks = rng.multinomial(len(domains), np.full(len(domains), 1 / len(domains)), size=BOOTSTRAP)  # replicates x domains
    replicates = (picks @ sums) / (picks @ counts)[:, None]  # replicates x ks
    estimate = per_task.mean(axis=0)
    return {
        "size": size,
        "tasks": len(tasks),
        "domains": len(domains),
        "draws": draws,
        "cases": len(tasks) * draws,
        "capped": sum(len(pools[t]) < size for t in tasks),
        "regret": {str(k): float(estimate[j]) for j, k in enumerate(ks)},
        "ci": {str(k): list(bootstrap_interval(replicates[:, j], float(estimate[j]))) for j, k in enumerate(ks)},
    }
