"""What each method of the leave-one-domain-out benchmark proposes for a held-out task: the
order in which it would try the task's recorded strategies, fitted on the other domains' tasks
only (no task of the held-out domain, in any view or with any model).

``single-best`` orders them by their mean normalized score on those tasks; ``tpe`` is
Optuna's TPE replaying the recorded scores (``tpe+<learner>`` enqueues the learner's first
proposals); a registered learner proposes from the meta-features; Syne Tune's transfer
baselines are driven ask/tell (``_transfer``). ``random`` needs no order: its regret is exact.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from domaintune.errors import ConfigError
from domaintune.history import History, strategy_key, task_domain
from domaintune.meta import _transfer
from domaintune.meta._base import REGISTRY, normalized_scores
from domaintune.meta._table import TaskTable

WARM_START = 3  # a learner's first proposals enqueued before TPE takes over (tpe+<learner>)
BASELINES = ("random", "single-best")  # need no learner: exact random expectation, best mean elsewhere


def _replay(ask: Callable[[], str | None], tell: Callable[[str, float], None], scores: dict[str, float], n: int, seed: int) -> list[str]:
    """Drive an ask/tell optimizer over the candidate strategies, answering each ask with the
    held-out task's recorded score, until it has proposed n distinct ones (at most 3n asks);
    the candidates it never proposed follow in a seeded random order."""
    keys = sorted(scores)
    want = min(n, len(keys))
    order: list[str] = []
    for _ in range(want * 3):
        if len(order) == want:
            break
        key = ask()
        if key is None:
            break
        tell(key, scores[key])
        if key not in order:
            order.append(key)
    remaining = [k for k in keys if k not in order]
    random.Random(seed).shuffle(remaining)
    return order + remaining


def _tpe_order(scores: dict[str, float], n: int, seed: int, warm_start: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Optuna TPE over the candidate strategies, replaying recorded scores; ``warm_start`` keys
    (e.g. a learner's first proposals) are enqueued as the study's first trials, then TPE goes on."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    keys = sorted(scores)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=3))
    for key in dict.fromkeys(warm_start):
        study.enqueue_trial({"strategy": keys.index(key)})
    pending: list[Any] = []

    def ask() -> str:
        trial = study.ask()
        pending.append(trial)
        return keys[trial.suggest_categorical("strategy", list(range(len(keys))))]

    def tell(key: str, value: float) -> None:
        study.tell(pending.pop(), value)

    return _replay(ask, tell, scores, n, seed)


def _single_best_order(train: History, candidates: list[str]) -> list[str]:
    """The candidates by their mean normalized score on the training tasks, best first (ties by key)."""
    scores = normalized_scores(train)
    def mean(key: str) -> float:
        values = [s[key] for s in scores.values() if key in s]
        return sum(values) / len(values) if values else -1.0

    return sorted(candidates, key=lambda key: (-mean(key), key))


def default_methods() -> list[str]:
    """The exact random expectation, single-best, cold-start TPE, every registered learner, TPE
    warm-started by each learner, and Syne Tune's transfer-learning baselines when syne_tune
    (and what they import) is installed."""
    learners = [m for m in sorted(REGISTRY) if m != "random"]
    syne = list(_transfer.METHODS) if _transfer.missing_package() is None else []
    return [*BASELINES, "tpe", *learners, *[f"tpe+{m}" for m in learners], *syne]




def method_orders(
    history: History,
    features: dict[str, dict[str, float]],
    methods: list[str],
    tables: dict[str, TaskTable],
    seeds: tuple[int, ...],
    ks: tuple[int, ...],
    targets: list[str] | None = None,
    train: History | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """method -> task -> seeds x n candidate indices into that task's table keys: every fitted
    method's order of each held-out task's candidates (``targets``, default every task), fit on
    ``train`` (default ``history``) without any record of the held-out task's domain."""
    scores = normalized_scores(history)
    fitted = [m for m in methods if m != "random"]
    orders: dict[str, dict[str, np.ndarray]] = {m: {} for m in fitted}
    pool = history if train is None else train
    for task in targets or history.tasks():
        held_out = pool.without_domain(task_domain(task))  # no record of the held-out domain enters fit
        target = scores[task]
        index = {key: i for i, key in enumerate(tables[task].keys)}
        per_seed: dict[str, list[list[int]]] = {m: [] for m in fitted}
        for seed in seeds:
            learned: dict[str, list[str]] = {}  # learner -> its order, shared by <learner> and tpe+<learner>
            for method in fitted:
                order = _order(method, features, held_out, task, target, seed, ks, learned)
                order = [k for k in dict.fromkeys(order) if k in target]
                order += [k for k in sorted(target) if k not in order]
                per_seed[method].append([index[k] for k in order])
        for method in fitted:
            orders[method][task] = np.array(per_seed[method], dtype=int)
    return orders


def _order(
    method: str,
    features: dict[str, dict[str, float]],
    train: History,
    task: str,
    target: dict[str, float],
    seed: int,
    ks: tuple[int, ...],
    learned: dict[str, list[str]],
) -> list[str]:
    if method == "single-best":
        return _single_best_order(train, sorted(target))
    if method == "tpe":
        return _tpe_order(target, max(ks), seed)
    if method.startswith("tpe+"):
        first = _learner_order(method[4:], features, train, task, target, seed, learned)[:WARM_START]
        return _tpe_order(target, max(ks), seed, warm_start=first)
    if method in _transfer.METHODS:
        ask, tell = _transfer.searcher(method, train, sorted(target), seed)
        return _replay(ask, tell, target, max(ks), seed)
    return _learner_order(method, features, train, task, target, seed, learned)


def _learner_order(
    name: str,
    features: dict[str, dict[str, float]],
    train: History,
    task: str,
    target: dict[str, float],
    seed: int,
    cache: dict[str, list[str]],
) -> list[str]:
    """The learner's proposal order of the held-out task's candidates, fit on ``train`` only."""
    if name not in cache:
        factory: Callable[..., Any] = REGISTRY[name]
        kwargs = {"seed": seed} if name in ("random", "surrogate") else {}
        learner = factory(features, **kwargs).fit(train)
        proposals = learner.propose(task, len(target))
        cache[name] = [k for k in (strategy_key(p.strategy) for p in proposals) if k in target]
    return cache[name]


def check_method(method: str) -> None:
    """A ConfigError naming the known methods for an unknown one; a missing Syne Tune package named."""
    if method in _transfer.METHODS:
        _transfer.require(method)
        return
    if method in BASELINES or method == "tpe":
        return
    learner = method[4:] if method.startswith("tpe+") else method
    if learner not in REGISTRY or learner == "random" and method.startswith("tpe+"):
        known = [*BASELINES, "tpe", *sorted(m for m in REGISTRY if m != "random"),
                 *[f"tpe+{m}" for m in sorted(REGISTRY) if m != "random"], *_transfer.METHODS]
        raise ConfigError(f"unknown meta method {method!r}; known: {', '.join(known)}")
