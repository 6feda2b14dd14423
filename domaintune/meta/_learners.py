"""Learners: random (baseline), nearest domains, greedy portfolio, surrogate model."""

from __future__ import annotations

import contextlib
import math
import random
from typing import Any

from domaintune.meta._base import Learner, Proposal, normalized_scores, register_learner
from domaintune.history import Record, direction_sign, strategy_key, task_domain


@register_learner("random")
class RandomLearner(Learner):
    """Uniform picks from the strategies ever recorded (the baseline)."""

    def __init__(self, features: dict[str, dict[str, float]], seed: int = 0):
        super().__init__(features)
        self.seed = seed

    def propose(self, task: str, n: int, observed: list[Record] | None = None) -> list[Proposal]:
        pool = self.candidates(task, observed)
        picks = random.Random(f"{self.seed}:{task}").sample(pool, min(n, len(pool)))
        return self.with_costs([Proposal(p, "random pick from the recorded strategies") for p in picks], exclude=task)


def _distance(a: dict[str, float], b: dict[str, float], scale: dict[str, float]) -> float:
    return math.sqrt(sum(((a.get(k, 0.0) - b.get(k, 0.0)) / scale[k]) ** 2 for k in scale))


def _scales(features: dict[str, dict[str, float]], tasks: list[str]) -> dict[str, float]:
    """Each feature's spread over the tasks, a task without it counted as 0 (as ``_distance`` reads
    it): a one-hot family or model feature weighs by how rare it is, like any other."""
    keys = sorted({k for t in tasks for k in features.get(t, {})})
    out = {}
    for key in keys:
        values = [features.get(t, {}).get(key, 0.0) for t in tasks]
        mean = sum(values) / len(values)
        out[key] = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
    return out


def _rank_disagreement(mine: dict[str, float], theirs: dict[str, float]) -> float | None:
    """Share of pairs of this domain's observed strategies that a past domain orders the other way."""
    keys = [k for k in mine if k in theirs]
    pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1 :] if mine[a] != mine[b]]
    if not pairs:
        return None
    return sum((mine[a] - mine[b]) * (theirs[a] - theirs[b]) < 0 for a, b in pairs) / len(pairs)


@register_learner("nearest")
class NearestDomains(Learner):
    """The best strategies of the k past tasks nearest in meta-feature space (auto-sklearn 1.0).

    Given the task's own results so far (``observed``), nearness also counts how often a past
    task orders those strategies the other way, so the neighbours adapt as results come in.
    """

    def __init__(self, features: dict[str, dict[str, float]], k: int = 3):
        super().__init__(features)
        self.k = k

    def propose(self, task: str, n: int, observed: list[Record] | None = None) -> list[Proposal]:
        history = self.past(task)
        past = history.tasks()
        scale = _scales(self.features, past + [task])
        scores = normalized_scores(history)
        mine = {r.strategy_key(): direction_sign(r.direction) * float(r.value) for r in observed or [] if r.value is not None}
        distance = {d: _distance(self.features[d], self.features[task], scale) / math.sqrt(max(1, len(scale))) for d in past}
        for d in past:
            disagreement = _rank_disagreement(mine, scores[d])
            if disagreement is not None:
                distance[d] = 0.5 * distance[d] + 2.0 * disagreement
        near = sorted(past, key=lambda d: distance[d])[: self.k]
        ranked: dict[str, float] = {}
        for d in near:
            for key, value in scores[d].items():
                ranked[key] = ranked.get(key, 0.0) + value / len(near)
        pool = {strategy_key(s): s for s in self.candidates(task, observed)}
        order = sorted((k for k in ranked if k in pool), key=lambda k: -ranked[k])
        basis = "meta-features and this task's results so far" if mine else "meta-features"
        return self.with_costs(
            [Proposal(pool[k], f"best on the nearest tasks by {basis}: {', '.join(near)}", predicted=ranked[k]) for k in order[:n]],
            near,
            exclude=task,
        )


@register_learner("portfolio")
class GreedyPortfolio(Learner):
    """The strategies that, added greedily, best cover all past tasks (auto-sklearn 2.0 style)."""

    def propose(self, task: str, n: int, observed: list[Record] | None = None) -> list[Proposal]:
        scores = normalized_scores(self.past(task))
        pool = {strategy_key(s): s for s in self.candidates(task, observed)}
        chosen: list[str] = []
        covered = {d: 0.0 for d in scores}
        while len(chosen) < min(n, len(pool)):
            def gain(key: str) -> tuple[float, float]:
                # coverage first; once every past domain is covered, the better strategy on average
                mean = sum(scores[d].get(key, 0.0) for d in scores) / max(1, len(scores))
                return sum(max(covered[d], scores[d].get(key, 0.0)) for d in scores) / max(1, len(scores)), mean

            best = max((k for k in pool if k not in chosen), key=gain)
            covered = {d: max(covered[d], scores[d].get(best, 0.0)) for d in scores}
            chosen.append(best)
        proposals = []
        for i, key in enumerate(chosen):
            wins = [d for d in scores if scores[d].get(key, 0.0) >= 1.0]
            reason = f"portfolio member {i + 1}: covers past tasks best given the ones before it (best on {len(wins)} of {len(scores)}"
            proposals.append(Proposal(pool[key], reason + (f": {', '.join(wins[:4])}{', ...' if len(wins) > 4 else ''})" if wins else ")")))
        return self.with_costs(proposals, exclude=task)


@register_learner("surrogate")
class Surrogate(Learner):
    """Gradient-boosted trees over (meta-features, strategy levers) -> normalized score, across tasks."""

    def __init__(self, features: dict[str, dict[str, float]], cost_weight: float = 0.0, seed: int = 0):
        super().__init__(features)
        self.cost_weight, self.seed = cost_weight, seed
        self.model: Any = None
        self.columns: list[str] = []

    def _row(self, task: str, strategy: dict[str, Any]) -> list[float]:
        values = {f"f:{k}": v for k, v in self.features[task].items()}
        for lever, value in strategy.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values[f"s:{lever}"] = float(value)
            else:
                values[f"s:{lever}={value}"] = 1.0
        return [values.get(c, 0.0) for c in self.columns]

    def fit(self, history: Any) -> Surrogate:
        from sklearn.ensemble import HistGradientBoostingRegressor

        super().fit(history)
        scores = normalized_scores(self.history)
        columns = {f"f:{k}" for t in self.history.tasks() for k in self.features[t]}
        for strategy in self.history.strategies():
            for lever, value in strategy.items():
                columns.add(f"s:{lever}" if isinstance(value, (int, float)) and not isinstance(value, bool) else f"s:{lever}={value}")
        self.columns = sorted(columns)
        rows, targets = [], []
        for record in self.history:
            rows.append(self._row(record.task, record.strategy))
            targets.append(scores[record.task][record.strategy_key()])
        with one_thread():  # the same trees on any machine, and no spinning threads on a shared one
            self.model = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.1, random_state=self.seed).fit(rows, targets)
        return self

    def propose(self, task: str, n: int, observed: list[Record] | None = None) -> list[Proposal]:
        pool = self.candidates(task, observed)
        if not pool:
            return []
        fitted = self
        if task_domain(task) in self.history.domains():
            # fitted on a history that holds the target's domain: refit without its records (the
            # task's own results come in as ``observed``), so its recorded values cannot leak
            fitted = type(self)(self.features, cost_weight=self.cost_weight, seed=self.seed).fit(self.past(task))
        with one_thread():
            predicted = fitted.model.predict([fitted._row(task, s) for s in pool])
        costs = self.mean_costs(exclude=task)
        def utility(i: int) -> float:
            cost = costs.get(strategy_key(pool[i]), 0.0)
            return float(predicted[i]) - self.cost_weight * math.log1p(cost)

        order = sorted(range(len(pool)), key=lambda i: -utility(i))[:n]
        return self.with_costs(
            [Proposal(pool[i], "highest predicted score for this task's meta-features", predicted=float(predicted[i])) for i in order],
            exclude=task,
        )


def one_thread() -> Any:
    """Native thread pools (OpenMP: the surrogate's trees) held to one thread: the same trees on
    any machine, and no spinning threads on a shared one (two per fit on a shared 2-core machine
    made a fit 7x slower). Enter it around each fit, not once: a limit reaches only the libraries
    already loaded, and a learner loads its own (scikit-learn) on its first fit."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; a learner without native threads needs none
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)
