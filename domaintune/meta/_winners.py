"""Which strategy wins where, beyond noise: the question a meta-learner needs answered "often"
before it has anything domain-specific to learn.

For every domain of a history: its best strategy, the overall single best strategy (the best
mean normalized score over all domains), and whether the domain's best beats the single best
beyond noise (the paired test on the questions both cells scored); and for each level (black,
grey, white box, none, hybrids counted under every level they use) the domains where that
level's best strategy is the domain's best, or within noise of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from domaintune.errors import ConfigError
from domaintune.history import History
from domaintune.meta._markdown import markdown_table
from domaintune.meta._table import DomainTable, domain_tables
from domaintune.stats import paired_gap, within_noise_unpaired, z_value
from domaintune.strategy import LEVELS, Strategy


def winners(history: History) -> dict[str, Any]:
    """The winners report of a history's validation records (see the module docstring)."""
    history = history.validated()
    tables = domain_tables(history)
    if not tables:
        raise ConfigError("winners: the history has no validation records with values")
    strategies = {r.strategy_key(): r.strategy for r in history}
    common = set.intersection(*(set(t.keys) for t in tables.values()))
    if not common:
        raise ConfigError("winners: no strategy is recorded on every domain, so there is no single best to compare with")
    scores = {domain: dict(zip(t.keys, t.scores())) for domain, t in tables.items()}
    means = {k: float(np.mean([scores[domain][k] for domain in tables])) for k in common}
    levels_of = {k: Strategy.from_dict(strategy).levels() for k, strategy in strategies.items()}
    single = max(sorted(means), key=lambda k: means[k])
    levels = {level: {"wins": [], "tied": []} for level in ("none", *LEVELS)}
    rows = []
    for domain, t in sorted(tables.items()):
        best = int(np.argmax(t.values))
        gap, se, beyond = _gap(t, best, t.keys.index(single))
        rows.append(
            {
                "domain": domain,
                "best": _describe(t.keys[best], strategies),
                "best_value": float(t.sign * t.values[best]),
                "questions": int(t.questions[best]),
                "single_best_value": float(t.sign * t.values[t.keys.index(single)]),
                "gap": gap,
                "gap_se": se,
                "beyond_noise": beyond,
                "levels": levels_of[t.keys[best]],
            }
        )
        for level, entry in levels.items():
            members = [i for i, k in enumerate(t.keys) if level in levels_of[k]]
            if not members:
                continue
            top = max(members, key=lambda i: t.values[i])
            if top == best:
                entry["wins"].append(domain)
            elif not _gap(t, best, top)[2]:
                entry["tied"].append(domain)
    beyond = [r for r in rows if r["beyond_noise"]]
    return {
        "domains": len(rows),
        "cells": len(history),
        "strategies": len(strategies),
        "single_best": {**_describe(single, strategies), "mean_normalized_score": means[single]},
        "per_domain": rows,
        "beyond_noise": len(beyond),
        "distinct_winners": len({r["best"]["key"] for r in rows}),
        "distinct_winners_beyond_noise": len({r["best"]["key"] for r in beyond}),
        "levels": levels,
    }


def _gap(t: DomainTable, best: int, other: int) -> tuple[float, float, bool]:
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
    """The report as Markdown: the single best, a row per domain, the levels."""
    single = report["single_best"]
    lines = [
        f"{report['domains']} domains, {report['cells']} cells, {report['strategies']} strategies. Single best (best mean "
        f"normalized score): **{single['label']}** ({single['mean_normalized_score']:.3f}).",
        f"Domains whose best beats the single best beyond noise (paired test on shared questions, gap > 1.96 SE): "
        f"**{report['beyond_noise']} of {report['domains']}**; distinct winners: {report['distinct_winners']} "
        f"({report['distinct_winners_beyond_noise']} among the domains beyond noise).",
        "",
    ]
    rows = [
        [r["domain"], r["best"]["label"], "+".join(r["levels"]), f"{r['best_value']:.3f} ({r['questions']} q)",
         f"{r['single_best_value']:.3f}", f"{r['gap']:+.3f} ± {z_value() * r['gap_se']:.3f}", "yes" if r["beyond_noise"] else "tie"]
        for r in report["per_domain"]
    ]
    lines += markdown_table(["domain", "best strategy", "levels", "best", "single best", "gap ± 1.96 SE", "beyond noise"], rows)
    levels = [[level, f"{len(entry['wins'])}: {', '.join(entry['wins']) or '-'}", f"{len(entry['tied'])}: {', '.join(entry['tied']) or '-'}"]
              for level, entry in report["levels"].items()]
    lines += ["", *markdown_table(["level", "its best is the domain's best", "within noise of it"], levels)]
    return "\n".join(lines) + "\n"
