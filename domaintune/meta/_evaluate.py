"""Leave-one-domain-out evaluation: normalized regret after k evaluations, and average rank."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from domaintune.meta._base import REGISTRY, normalized_scores
from domaintune.meta._history import History

KS = (1, 3, 5, 10, 20)


def _regret_curve(order: list[str], scores: dict[str, float], ks: tuple[int, ...]) -> dict[int, float]:
    """Normalized regret (1 - best normalized score so far) after each k of a proposal order."""
    out, best = {}, 0.0
    for k in ks:
        seen = order[:k]
        best = max((scores[s] for s in seen), default=0.0)
        out[k] = 1.0 - best
    return out


def _tpe_order(scores: dict[str, float], n: int, seed: int) -> list[str]:
    """Cold-start Optuna TPE over the candidate strategies, replaying recorded scores."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    keys = sorted(scores)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=3))
    order: list[str] = []
    for _ in range(min(n, len(keys)) * 3):
        trial = study.ask()
        key = keys[trial.suggest_categorical("strategy", list(range(len(keys))))]
        study.tell(trial, scores[key])
        if key not in order:
            order.append(key)
        if len(order) == min(n, len(keys)):
            break
    remaining = [k for k in keys if k not in order]
    random.Random(seed).shuffle(remaining)
    return order + remaining


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
    methods = methods or ["random", "tpe", *[m for m in sorted(REGISTRY) if m != "random"]]
    scores = normalized_scores(history)
    ks = tuple(k for k in ks if k <= max(len(s) for s in scores.values()))
    regrets: dict[str, dict[int, list[float]]] = {m: {k: [] for k in ks} for m in methods}
    for domain in history.domains():
        train = history.without_domain(domain)  # the held-out domain's records never enter fit
        target = scores[domain]
        for seed in seeds:
            for method in methods:
                if method == "tpe":
                    order = _tpe_order(target, max(ks), seed)
                else:
                    factory: Callable[..., Any] = REGISTRY[method]
                    kwargs = {"seed": seed} if method in ("random", "surrogate") else {}
                    learner = factory(features, **kwargs).fit(train)
                    proposals = learner.propose(domain, len(target))
                    order = [_key(p.strategy) for p in proposals]
                    order += [k for k in sorted(target) if k not in order]
                order = [k for k in order if k in target]
                for k, value in _regret_curve(order, target, ks).items():
                    regrets[method][k].append(value)
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
            }
    return table


def _key(strategy: dict[str, Any]) -> str:
    import json

    return json.dumps(strategy, sort_keys=True)


def markdown(table: dict[str, Any]) -> str:
    ks = sorted({int(k) for m in table["methods"].values() for k in m})
    lines = [
        f"Leave-one-domain-out over {table['domains']} domains, seeds {table['seeds']}: mean normalized regret "
        "(0 = the domain's best recorded strategy, 1 = its worst) after k evaluations, and mean rank (1 = best).",
        "",
        "| method | " + " | ".join(f"regret@{k}" for k in ks) + " | " + " | ".join(f"rank@{k}" for k in ks) + " |",
        "|---|" + "---|" * (2 * len(ks)),
    ]
    for method, entry in table["methods"].items():
        lines.append(
            f"| {method} | "
            + " | ".join(f"{entry[str(k)]['regret']:.3f}" for k in ks)
            + " | "
            + " | ".join(f"{entry[str(k)]['rank']:.2f}" for k in ks)
            + " |"
        )
    return "\n".join(lines) + "\n"
