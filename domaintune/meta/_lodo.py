"""Leave-one-domain-out evaluation: normalized regret after k evaluations, average rank, and
how sure we are of them.

Every method proposes an order of the held-out domain's recorded strategies, fitted on the
other domains only; regret after k is 1 - the best normalized score among its first k. Two
baselines need no fitting: ``single-best`` (the strategies by their mean normalized score on
the other domains, so its first pick is the one strategy best on average) and ``random``,
whose regret is the exact expectation over picks without replacement (computed, not sampled).

Intervals are a bootstrap over domains and, where the history keeps per-question outcomes on
one question sample (or nested prefixes of it, as successive halving records), over the held-out domain's questions too (its scores, its best strategy
and so the regret of every order are recomputed on each resample). The methods' orders stay
as they were decided: the interval is the noise of measuring them, not of refitting.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from domaintune.errors import ConfigError
from domaintune.history import History, strategy_key
from domaintune.meta import _transfer
from domaintune.meta._base import REGISTRY, normalized_scores
from domaintune.meta._table import DomainTable, domain_tables
from domaintune.meta._stats import max_of_random_picks, within_noise_paired, within_noise_unpaired

KS = (1, 3, 5, 10, 20)
WARM_START = 3  # a learner's first proposals enqueued before TPE takes over (tpe+<learner>)
BASELINES = ("random", "single-best")  # need no learner: exact random expectation, best mean elsewhere
PAIRED_KS = (1, 3)  # the best learner against single-best at these k
BOOTSTRAP = 1000


def _regret_curve(order: list[str], scores: dict[str, float], ks: tuple[int, ...]) -> dict[int, float]:
    """Normalized regret (1 - best normalized score so far) after each k of a proposal order."""
    out, best = {}, 0.0
    for k in ks:
        seen = order[:k]
        best = max((scores[s] for s in seen), default=0.0)
        out[k] = 1.0 - best
    return out


def _replay(ask: Callable[[], str | None], tell: Callable[[str, float], None], scores: dict[str, float], n: int, seed: int) -> list[str]:
    """Drive an ask/tell optimizer over the candidate strategies, answering each ask with the
    held-out domain's recorded score, until it has proposed n distinct ones (at most 3n asks);
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
    """The candidates by their mean normalized score on the training domains, best first (ties by key)."""
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


def leave_one_domain_out(
    history: History,
    features: dict[str, dict[str, float]],
    methods: list[str] | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    ks: tuple[int, ...] = KS,
    bootstrap: int = BOOTSTRAP,
    bootstrap_seed: int = 0,
) -> dict[str, Any]:
    """For every domain: fit each method on the others, replay its proposal order on the held-out
    domain, and record normalized regret after k evaluations.

    Returns ``domains``, ``seeds``, ``cells`` (evaluations in the history), ``methods`` -> method ->
    k -> ``regret`` (with ``ci_low``/``ci_high``, 95% bootstrap), ``rank`` (with its interval), ``gap``
    and ``within_noise``; ``samples`` (per method: domains, cases, whether the method is
    deterministic, the effective sample); ``paired`` (the best learner against single-best at
    k = 1 and 3, and against cold TPE at the largest k); ``bootstrap`` (replicates and what was resampled)."""
    history = history.validated()
    if not history.domains():
        raise ConfigError("leave-one-domain-out needs validation records with values; the history has none")
    methods = list(dict.fromkeys(methods or default_methods()))
    for method in methods:
        _check(method)
    scores = normalized_scores(history)
    tables = domain_tables(history)
    domains = history.domains()
    ks = tuple(k for k in ks if k <= max(len(t.keys) for t in tables.values()))
    fitted = [m for m in methods if m != "random"]
    # orders[method][domain]: seeds x n candidate indices into tables[domain].keys
    orders: dict[str, dict[str, np.ndarray]] = {m: {} for m in fitted}
    for domain in domains:
        train = history.without_domain(domain)  # the held-out domain's records never enter fit
        target = scores[domain]
        index = {key: i for i, key in enumerate(tables[domain].keys)}
        per_seed: dict[str, list[list[int]]] = {m: [] for m in fitted}
        for seed in seeds:
            learned: dict[str, list[str]] = {}  # learner -> its order, shared by <learner> and tpe+<learner>
            for method in fitted:
                order = _order(method, features, train, domain, target, seed, ks, learned)
                order = [k for k in dict.fromkeys(order) if k in target]
                order += [k for k in sorted(target) if k not in order]
                per_seed[method].append([index[k] for k in order])
        for method in fitted:
            orders[method][domain] = np.array(per_seed[method], dtype=int)

    point = _evaluate(tables, domains, orders, methods, ks, None, len(seeds))
    table: dict[str, Any] = {
        "domains": len(domains),
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
                # in the metric's own units: how far the best found so far is from the domain's best,
                # and the share of cases where that gap is within noise (the export's paired test)
                "gap": float(point["gap"][m][j]),
                "within_noise": float(point["within"][m][j]),
            }
        deterministic = m in BASELINES or all(
            (orders[m][d] == orders[m][d][0]).all() for d in domains
        )
        table["samples"][m] = {
            "domains": len(domains),
            "cases": len(domains) * (1 if m == "random" else len(seeds)),
            "deterministic": deterministic,
            # the seeds of a deterministic method repeat one result; a random one's seeds are not
            # independent of its domain either: the unit of the interval is the domain
            "effective": len(domains),
        }
    table["paired"] = _paired_spec(table, ks)
    with_outcomes = sum(t.outcomes is not None for t in tables.values())
    if bootstrap > 0:
        rng = np.random.default_rng(bootstrap_seed)
        reps = [_evaluate(tables, domains, orders, methods, ks, rng, len(seeds), resample=True) for _ in range(bootstrap)]
        for m in methods:
            for j, k in enumerate(ks):
                regrets = np.array([r["regret"][m][j] for r in reps])
                ranks = np.array([r["rank"][m][j] for r in reps])
                cell = table["methods"][m][str(k)]
                cell["ci_low"], cell["ci_high"] = interval(regrets, cell["regret"])
                cell["rank_ci_low"], cell["rank_ci_high"] = interval(ranks, cell["rank"])
        for pair in table["paired"]:
            j = ks.index(pair["k"])
            diffs = np.array([r["regret"][pair["learner"]][j] - r["regret"][pair["baseline"]][j] for r in reps])
            pair["ci_low"], pair["ci_high"] = interval(diffs, pair["difference"])
            pair["verdict"] = _verdict(pair)
    table["bootstrap"] = {
        "replicates": bootstrap,
        "seed": bootstrap_seed,
        "over": ["domains", "questions"] if with_outcomes else ["domains"],
        "domains_with_outcomes": with_outcomes,
        "orders": "fixed as the methods chose them (measurement noise, not refitting)",
        "interval": "bias-corrected percentile, 95%",
    }
    return table


def interval(replicates: np.ndarray, estimate: float, level: float = 0.95) -> tuple[float, float]:
    """Bias-corrected percentile bootstrap interval.

    Resampling questions adds a second layer of noise on top of the one already in the data, so
    a regret's replicates sit above its estimate (the best of a resampled domain moves away from
    any fixed pick); plain percentiles would then leave the estimate at the interval's edge. The
    bias correction shifts the percentiles by how far the replicates' median is off the estimate."""
    from statistics import NormalDist

    normal = NormalDist()
    b = len(replicates)
    below = (np.sum(replicates < estimate - 1e-12) + 0.5 * np.sum(np.abs(replicates - estimate) <= 1e-12)) / b
    z0 = normal.inv_cdf(min(max(below, 1 / (b + 1)), b / (b + 1)))
    tail = (1 - level) / 2
    low = normal.cdf(2 * z0 + normal.inv_cdf(tail))
    high = normal.cdf(2 * z0 + normal.inv_cdf(1 - tail))
    return float(np.quantile(replicates, low)), float(np.quantile(replicates, high))


def _verdict(pair: dict[str, Any]) -> str:
    if pair["ci_high"] < 0:
        return f"{pair['learner']} better"
    if pair["ci_low"] > 0:
        return f"{pair['baseline']} better"
    return "tie within noise"


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


def _evaluate(
    tables: dict[str, DomainTable],
    domains: list[str],
    orders: dict[str, dict[str, np.ndarray]],
    methods: list[str],
    ks: tuple[int, ...],
    rng: np.random.Generator | None,
    n_seeds: int,
    resample: bool = False,
) -> dict[str, dict[str, np.ndarray]]:
    """Mean regret, rank (and, on the original data, gap and within-noise share) per method and k,
    over the domains (a bootstrap draw of them and of their questions when ``resample``)."""
    drawn = [domains[i] for i in rng.integers(0, len(domains), len(domains))] if resample and rng is not None else domains
    regret = {m: np.zeros(len(ks)) for m in methods}
    rank = {m: np.zeros(len(ks)) for m in methods}
    gap = {m: np.zeros(len(ks)) for m in methods}
    within = {m: np.zeros(len(ks)) for m in methods}
    random_at = methods.index("random") if "random" in methods else None
    for domain in drawn:
        t = tables[domain]
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
                r = _regrets(scores, orders[m][domain], ks)
                matrix[:, :, i] = r
                regret[m] += r.mean(axis=0)
        ranks = _ranks(matrix, random_at, random_values, weights if random_at is not None else None)
        for i, m in enumerate(methods):
            rank[m] += ranks[:, i]
        if not resample:
            for m in methods:
                g, w = _gaps(t, scores, orders[m][domain] if m != "random" else None, ks, weights, order_up)
                gap[m] += g
                within[m] += w
    count = len(drawn)
    return {
        "regret": {m: v / count for m, v in regret.items()},
        "rank": {m: v / count for m, v in rank.items()},
        "gap": {m: v / count for m, v in gap.items()},
        "within": {m: v / count for m, v in within.items()},
    }


def _tied(t: DomainTable, best: int, found: int) -> bool:
    if best == found:
        return True
    if t.outcomes is not None:
        return within_noise_paired(*t.paired(best, found))
    return within_noise_unpaired(float(t.values[best] - t.values[found]), float(t.stderr[best]), float(t.stderr[found]))


def _gaps(
    t: DomainTable, scores: np.ndarray, orders: np.ndarray | None, ks: tuple[int, ...], weights: np.ndarray, ascending: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean raw gap of the best-so-far to the domain's best, and the share within noise, per k
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


def _order(
    method: str,
    features: dict[str, dict[str, float]],
    train: History,
    domain: str,
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
        first = _learner_order(method[4:], features, train, domain, target, seed, learned)[:WARM_START]
        return _tpe_order(target, max(ks), seed, warm_start=first)
    if method in _transfer.METHODS:
        ask, tell = _transfer.searcher(method, train, sorted(target), seed)
        return _replay(ask, tell, target, max(ks), seed)
    return _learner_order(method, features, train, domain, target, seed, learned)


def _learner_order(
    name: str,
    features: dict[str, dict[str, float]],
    train: History,
    domain: str,
    target: dict[str, float],
    seed: int,
    cache: dict[str, list[str]],
) -> list[str]:
    """The learner's proposal order of the held-out domain's candidates, fit on ``train`` only."""
    if name not in cache:
        factory: Callable[..., Any] = REGISTRY[name]
        kwargs = {"seed": seed} if name in ("random", "surrogate") else {}
        learner = factory(features, **kwargs).fit(train)
        proposals = learner.propose(domain, len(target))
        cache[name] = [k for k in (strategy_key(p.strategy) for p in proposals) if k in target]
    return cache[name]


def _check(method: str) -> None:
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


def _with_ci(cell: dict[str, Any]) -> str:
    if "ci_low" in cell:
        return f"{cell['regret']:.3f} [{cell['ci_low']:.3f}, {cell['ci_high']:.3f}]"
    return f"{cell['regret']:.3f}"


def markdown(table: dict[str, Any]) -> str:
    ks = sorted({int(k) for m in table["methods"].values() for k in m})
    features = f", meta-features {'+'.join(table['features'])}" if table.get("features") else ""
    boot = table.get("bootstrap") or {}
    over = " and ".join(boot.get("over", []))
    questions = table.get("questions_per_cell")
    qtext = f", {questions['median']} questions per cell (median)" if questions else ""
    lines = [
        f"Leave-one-domain-out over {table['domains']} domains ({table.get('cells', '?')} recorded cells{qtext}), "
        f"seeds {table['seeds']}{features}: mean normalized regret (0 = the domain's best recorded strategy, 1 = its worst) "
        f"after k evaluations with its 95% interval"
        + (f" ({boot['replicates']} bootstrap replicates over {over}, bias-corrected percentiles; the methods' orders stay fixed)" if boot.get("replicates") else "")
        + ", mean rank (1 = best), and the share of held-out cases whose best-so-far is within noise of the domain's "
        "best (the export's paired test on the same questions: mean gap <= 1.96 standard errors of the per-question "
        "difference). `random` is the exact expectation of picks without replacement; `single-best` always proposes "
        "the strategies by their mean normalized score on the other domains.",
        "",
        "| method | " + " | ".join(f"regret@{k} [95% CI]" for k in ks) + " | " + " | ".join(f"rank@{k}" for k in ks)
        + " | " + " | ".join(f"in noise@{k}" for k in ks) + " |",
        "|---|" + "---|" * (3 * len(ks)),
    ]
    for method, entry in table["methods"].items():
        lines.append(
            f"| {method} | "
            + " | ".join(_with_ci(entry[str(k)]) for k in ks)
            + " | "
            + " | ".join(f"{entry[str(k)]['rank']:.2f}" for k in ks)
            + " | "
            + " | ".join(f"{entry[str(k)].get('within_noise', float('nan')):.0%}" for k in ks)
            + " |"
        )
    samples = table.get("samples") or {}
    if samples:
        deterministic = [m for m, s in samples.items() if s["deterministic"]]
        lines += [
            "",
            f"Effective sample: {table['domains']} domains for every method. Deterministic methods "
            f"({', '.join(deterministic)}) repeat the same result on every seed, so their "
            f"{len(table['seeds'])} seeds add nothing; for the seeded ones the seeds average out their own randomness but "
            "the unit of the interval is still the domain.",
        ]
    if table.get("paired"):
        lines += ["", "Paired comparisons (same bootstrap draws of domains and questions; difference = learner's mean "
                  "regret minus the baseline's, negative favours the learner):", "",
                  "| learner | baseline | k | difference | 95% CI | verdict |", "|---|---|---|---|---|---|"]
        for pair in table["paired"]:
            ci = f"[{pair['ci_low']:+.3f}, {pair['ci_high']:+.3f}]" if "ci_low" in pair else "n/a"
            lines.append(f"| {pair['learner']} | {pair['baseline']} | {pair['k']} | {pair['difference']:+.3f} | {ci} | {pair.get('verdict', '')} |")
    return "\n".join(lines) + "\n"
