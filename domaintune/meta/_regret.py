"""Measuring proposal orders on a held-out task's screening table: normalized regret after k
evaluations, the exact expectation and rank of random picks, each method's mean rank, and the raw
gap to the task's best with the share of cases within noise of it (the export's paired test)."""

from __future__ import annotations

import numpy as np

from domaintune.history import task_domain
from domaintune.meta._table import TaskTable
from domaintune.stats import max_of_random_picks, within_noise_paired, within_noise_unpaired


def _regret_curve(order: list[str], scores: dict[str, float], ks: tuple[int, ...]) -> dict[int, float]:
    """Normalized regret (1 - best normalized score so far) after each k of a proposal order."""
    out, best = {}, 0.0
    for k in ks:
        seen = order[:k]
        best = max((scores[s] for s in seen), default=0.0)
        out[k] = 1.0 - best
    return out


def _regrets(scores: np.ndarray, orders: np.ndarray, ks: tuple[int, ...]) -> np.ndarray:
    """orders (seeds x n candidate indices) -> regret (seeds x len(ks)), k capped at n."""
    best = np.maximum.accumulate(scores[orders], axis=1)
    cols = [min(k, orders.shape[1]) - 1 for k in ks]
    return 1.0 - best[:, cols]


def _random_weights(n: int, ks: tuple[int, ...]) -> np.ndarray:
    """len(ks) x n: probability that the best of k random picks is the i-th smallest candidate."""
    return np.array([max_of_random_picks(n, min(k, n)) for k in ks])


def _random_regret(scores: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact expected regret of random picks per k, and the regret values and their order (ascending scores)."""
    order = np.argsort(scores, kind="stable")
    regret_values = 1.0 - scores[order]
    return weights @ regret_values, order


def _ranks(values: np.ndarray, random_at: int | None, random_values: np.ndarray | None, weights: np.ndarray | None) -> np.ndarray:
    """values: seeds x ks x methods regrets (the random column a placeholder) -> mean rank per k and method.

    Ranks within each case (1 = lowest regret, ties share); random's regret is a distribution
    (``random_values`` with probabilities ``weights`` per k), so its rank and its effect on the
    others' ranks are exact expectations."""
    v = np.round(values, 12)
    less = (v[..., None, :] < v[..., :, None]).sum(-1).astype(float)
    equal = (v[..., None, :] == v[..., :, None]).sum(-1).astype(float)
    if random_at is not None:
        # remove the placeholder's deterministic comparisons, add the exact ones
        col = v[..., random_at]
        less -= (col[..., None] < v).astype(float)
        equal -= (col[..., None] == v).astype(float)
        r = np.round(random_values, 12)  # n
        below = (r[None, None, None, :] < v[..., None]).astype(float)  # seeds x ks x methods x n
        same = (r[None, None, None, :] == v[..., None]).astype(float)
        less += np.einsum("skmn,kn->skm", below, weights)
        equal += np.einsum("skmn,kn->skm", same, weights)
        # random's own rank: over its outcomes, how many methods lie below / tie
        others = np.delete(v, random_at, axis=-1)  # seeds x ks x (m-1)
        o_below = (others[..., None] < r[None, None, None, :]).sum(-2).astype(float)  # seeds x ks x n
        o_same = (others[..., None] == r[None, None, None, :]).sum(-2).astype(float)
        less[..., random_at] = np.einsum("skn,kn->sk", o_below, weights)
        equal[..., random_at] = 1.0 + np.einsum("skn,kn->sk", o_same, weights)
    ranks = 1.0 + less + 0.5 * (equal - 1.0)
    return ranks.mean(axis=0)  # ks x methods


def draw_tasks(tasks: list[str], rng: np.random.Generator) -> list[str]:
    """A bootstrap draw of tasks by domain: domains drawn with replacement, each with all its tasks
    (the tasks of one domain, in other views or with another model, are not independent)."""
    by_domain: dict[str, list[str]] = {}
    for task in tasks:
        by_domain.setdefault(task_domain(task), []).append(task)
    domains = sorted(by_domain)
    return [t for i in rng.integers(0, len(domains), len(domains)) for t in by_domain[domains[i]]]


def evaluate(
    tables: dict[str, TaskTable],
    tasks: list[str],
    orders: dict[str, dict[str, np.ndarray]],
    methods: list[str],
    ks: tuple[int, ...],
    rng: np.random.Generator | None,
    n_seeds: int,
    resample: bool = False,
) -> dict[str, dict[str, np.ndarray]]:
    """Mean regret, rank (and, on the original data, gap and within-noise share) per method and k,
    over the tasks (a bootstrap draw of their domains and of their questions when ``resample``)."""
    drawn = draw_tasks(tasks, rng) if resample and rng is not None else tasks
    regret = {m: np.zeros(len(ks)) for m in methods}
    rank = {m: np.zeros(len(ks)) for m in methods}
    gap = {m: np.zeros(len(ks)) for m in methods}
    within = {m: np.zeros(len(ks)) for m in methods}
    random_at = methods.index("random") if "random" in methods else None
    for task in drawn:
        t = tables[task]
        values = t.resampled(rng) if resample and rng is not None else t.values
        scores = t.scores(values)
        n = len(t.keys)
        weights = _random_weights(n, ks)
        matrix = np.zeros((n_seeds, len(ks), len(methods)))
        random_values = order_up = None
        for i, m in enumerate(methods):
            if m == "random":
                expected, order_up = _random_regret(scores, weights)
                random_values = 1.0 - scores[order_up]
                matrix[:, :, i] = expected
                regret[m] += expected
            else:
                r = _regrets(scores, orders[m][task], ks)
                matrix[:, :, i] = r
                regret[m] += r.mean(axis=0)
        ranks = _ranks(matrix, random_at, random_values, weights if random_at is not None else None)
        for i, m in enumerate(methods):
            rank[m] += ranks[:, i]
        if not resample:
            for m in methods:
                g, w = _gaps(t, scores, orders[m][task] if m != "random" else None, ks, weights, order_up)
                gap[m] += g
                within[m] += w
    count = len(drawn)
    return {
        "regret": {m: v / count for m, v in regret.items()},
        "rank": {m: v / count for m, v in rank.items()},
        "gap": {m: v / count for m, v in gap.items()},
        "within": {m: v / count for m, v in within.items()},
    }


def _tied(t: TaskTable, best: int, found: int) -> bool:
    if best == found:
        return True
    if t.outcomes is not None:
        return within_noise_paired(*t.paired(best, found))
    return within_noise_unpaired(float(t.values[best] - t.values[found]), float(t.stderr[best]), float(t.stderr[found]))


def _gaps(
    t: TaskTable, scores: np.ndarray, orders: np.ndarray | None, ks: tuple[int, ...], weights: np.ndarray, ascending: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean raw gap of the best-so-far to the task's best, and the share within noise, per k
    (for random: exact expectations over which candidate is the best of its picks)."""
    best = int(np.argmax(t.values))
    if orders is None:
        assert ascending is not None
        per = [(float(t.values[best] - t.values[i]), float(_tied(t, best, int(i)))) for i in ascending]
        g = np.array([p[0] for p in per])
        w = np.array([p[1] for p in per])
        return weights @ g, weights @ w
    gaps = np.zeros(len(ks))
    tied = np.zeros(len(ks))
    for row in orders:
        for j, k in enumerate(ks):
            seen = row[: min(k, len(row))]
            found = int(seen[np.argmax(scores[seen])])
            gaps[j] += t.values[best] - t.values[found]
            tied[j] += _tied(t, best, found)
    return gaps / len(orders), tied / len(orders)
