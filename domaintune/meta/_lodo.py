"""Leave-one-domain-out evaluation: normalized regret after k evaluations, and average rank."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from domaintune.errors import ConfigError
from domaintune.meta import _transfer
from domaintune.meta._base import REGISTRY, normalized_scores
from domaintune.history import History, strategy_key

KS = (1, 3, 5, 10, 20)
WARM_START = 3  # a learner's first proposals enqueued before TPE takes over (tpe+<learner>)


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


def default_methods() -> list[str]:
    """random and cold-start TPE, every registered learner, TPE warm-started by each learner, and
    Syne Tune's transfer-learning baselines when syne_tune (and what they import) is installed."""
    learners = [m for m in sorted(REGISTRY) if m != "random"]
    syne = list(_transfer.METHODS) if _transfer.missing_package() is None else []
    return ["random", "tpe", *learners, *[f"tpe+{m}" for m in learners], *syne]


def leave_one_domain_out(
    history: History,
    features: dict[str, dict[str, float]],
    methods: list[str] | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    ks: tuple[int, ...] = KS,
) -> dict[str, Any]:
    """For every domain: fit each method on the others, replay its proposal order on the held-out
    domain, and record normalized regret after k evaluations. Returns per method and k the mean
    regret and mean rank, with the domain count and seeds."""
    history = History([r for r in history if r.split == "validation" and r.value is not None])
    methods = methods or default_methods()
    for method in methods:
        _check(method)
    scores = normalized_scores(history)
    raw = _raw_values(history)
    ks = tuple(k for k in ks if k <= max(len(s) for s in scores.values()))
    regrets: dict[str, dict[int, list[float]]] = {m: {k: [] for k in ks} for m in methods}
    gaps: dict[str, dict[int, list[tuple[float, bool]]]] = {m: {k: [] for k in ks} for m in methods}
    for domain in history.domains():
        train = history.without_domain(domain)  # the held-out domain's records never enter fit
        target = scores[domain]
        for seed in seeds:
            learned: dict[str, list[str]] = {}  # learner -> its order, shared by <learner> and tpe+<learner>
            for method in methods:
                if method == "tpe":
                    order = _tpe_order(target, max(ks), seed)
                elif method.startswith("tpe+"):
                    first = _learner_order(method[4:], features, train, domain, target, seed, learned)[:WARM_START]
                    order = _tpe_order(target, max(ks), seed, warm_start=first)
                elif method in _transfer.METHODS:
                    ask, tell = _transfer.searcher(method, train, sorted(target), seed)
                    order = _replay(ask, tell, target, max(ks), seed)
                else:
                    order = _learner_order(method, features, train, domain, target, seed, learned)
                    order = order + [k for k in sorted(target) if k not in order]
                order = [k for k in order if k in target]
                for k, value in _regret_curve(order, target, ks).items():
                    regrets[method][k].append(value)
                    gaps[method][k].append(_gap(order[:k], target, raw[domain]))
    table: dict[str, Any] = {"domains": len(history.domains()), "seeds": list(seeds), "methods": {}}
    for k in ks:
        per_case = list(zip(*[regrets[m][k] for m in methods]))
        ranks = {m: 0.0 for m in methods}
        for case in per_case:
            for m, value in zip(methods, case):
                ranks[m] += 1 + sum(other < value for other in case) + 0.5 * (sum(other == value for other in case) - 1)
        for m in methods:
            entry = table["methods"].setdefault(m, {})
            entry[str(k)] = {
                "regret": sum(regrets[m][k]) / len(regrets[m][k]),
                "rank": ranks[m] / len(per_case),
                # in the metric's own units: how far the best found so far is from the domain's best,
                # and the share of cases where that gap is within noise (1.96 combined standard errors)
                "gap": sum(g for g, _ in gaps[m][k]) / len(gaps[m][k]),
                "within_noise": sum(w for _, w in gaps[m][k]) / len(gaps[m][k]),
            }
    return table


def _raw_values(history: History) -> dict[str, dict[str, tuple[float, float]]]:
    """domain -> strategy key -> (value signed so that higher is better, its standard error or 0)."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for r in history:
        sign = 1.0 if r.direction == "maximize" else -1.0
        out.setdefault(r.domain, {})[r.strategy_key()] = (sign * float(r.value), float(r.stderr or 0.0))  # type: ignore[arg-type]
    return out


def _gap(seen: list[str], scores: dict[str, float], raw: dict[str, tuple[float, float]]) -> tuple[float, bool]:
    """Raw gap between the domain's best strategy and the best of ``seen``, and whether it is within noise."""
    best = max(raw, key=lambda key: raw[key][0])
    found = max(seen, key=lambda key: scores[key]) if seen else best
    gap = raw[best][0] - raw[found][0]
    return gap, gap <= 1.96 * (raw[best][1] ** 2 + raw[found][1] ** 2) ** 0.5


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
    learner = method[4:] if method.startswith("tpe+") else method
    if method != "tpe" and learner not in REGISTRY:
        known = ["tpe", *sorted(REGISTRY), *[f"tpe+{m}" for m in sorted(REGISTRY)], *_transfer.METHODS]
        raise ConfigError(f"unknown meta method {method!r}; known: {', '.join(known)}")


def markdown(table: dict[str, Any]) -> str:
    ks = sorted({int(k) for m in table["methods"].values() for k in m})
    features = f", meta-features {'+'.join(table['features'])}" if table.get("features") else ""
    lines = [
        f"Leave-one-domain-out over {table['domains']} domains, seeds {table['seeds']}{features}: mean normalized regret "
        "(0 = the domain's best recorded strategy, 1 = its worst) after k evaluations, mean rank (1 = best), and the "
        "share of held-out cases whose best-so-far is within noise of the domain's best (gap <= 1.96 combined "
        "standard errors of the two cells).",
        "",
        "| method | "
        + " | ".join(f"regret@{k}" for k in ks)
        + " | "
        + " | ".join(f"rank@{k}" for k in ks)
        + " | "
        + " | ".join(f"in noise@{k}" for k in ks)
        + " |",
        "|---|" + "---|" * (3 * len(ks)),
    ]
    for method, entry in table["methods"].items():
        lines.append(
            f"| {method} | "
            + " | ".join(f"{entry[str(k)]['regret']:.3f}" for k in ks)
            + " | "
            + " | ".join(f"{entry[str(k)]['rank']:.2f}" for k in ks)
            + " | "
            + " | ".join(f"{entry[str(k)].get('within_noise', float('nan')):.0%}" for k in ks)
            + " |"
        )
    return "\n".join(lines) + "\n"
