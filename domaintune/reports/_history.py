"""The history as the meta-learner sees it: domains x strategies, and leave one domain out:
what the learner would propose for each domain from the others, which past domains each
proposal came from (where it was best), and how far the proposals were from the domain's best."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class _Scores:
    """The finished validation records as a domains x strategies table (keys: strategy keys)."""

    labels: dict[str, str]  # strategy key -> its description
    values: dict[str, dict[str, float]]  # domain -> strategy key -> validation score
    normalized: dict[str, dict[str, float]]  # the same, 0 = the domain's worst, 1 = its best
    best: dict[str, str]  # domain -> its best strategy key
    views: dict[str, str]  # domain -> the view it was recorded in

    def mean_normalized(self, key: str) -> float:
        return sum(self.normalized[d].get(key, 0.0) for d in self.normalized) / max(1, len(self.normalized))


def _scores(finished: Any) -> _Scores:
    from domaintune.meta import normalized_scores

    labels: dict[str, str] = {}
    values: dict[str, dict[str, float]] = {}
    for r in finished:
        labels.setdefault(r.strategy_key(), r.parsed_strategy().describe())
        values.setdefault(r.domain, {})[r.strategy_key()] = float(r.value)  # type: ignore[arg-type]
    best = {d: max(v, key=v.__getitem__) for d, v in values.items()}
    return _Scores(labels, values, normalized_scores(finished), best, {r.domain: r.view for r in finished})


def _hold_out(domain: str, finished: Any, scores: _Scores, features: dict[str, Any], learner: str, n: int) -> dict[str, Any] | None:
    """What ``learner`` proposes for ``domain`` from the other domains (same view), and how far that is from its best."""
    from domaintune.history import History, strategy_key
    from domaintune.meta import REGISTRY
    from domaintune.strategy import Strategy

    past = History([r for r in finished if r.domain != domain and r.view == scores.views[domain] and r.domain in features])
    if domain not in features or not past.domains():
        return None
    values, normalized = scores.values[domain], scores.normalized[domain]
    rows = []
    for p in REGISTRY[learner]({d: features[d] for d in past.domains() + [domain]}).fit(past).propose(domain, n):
        k = strategy_key(p.strategy)
        rows.append({
            "strategy": scores.labels.get(k, Strategy.from_dict(p.strategy).describe()),
            "reason": p.reason,
            "came_from": sorted(d for d in past.domains() if scores.best.get(d) == k),
            "measured": values.get(k),
            "normalized": normalized.get(k),
            "rank": sorted(values.values(), reverse=True).index(values[k]) + 1 if k in values else None,
        })
    got = [r["normalized"] for r in rows if r["normalized"] is not None]
    return {
        "domain": domain,
        "best": scores.labels[scores.best[domain]],
        "best_value": values[scores.best[domain]],
        "proposals": rows,
        "regret_at_1": None if not rows or rows[0]["normalized"] is None else 1.0 - rows[0]["normalized"],
        "regret_at_n": None if not got else 1.0 - max(got),
    }


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    got = [x[key] for x in rows if x[key] is not None]
    return sum(got) / len(got) if got else None


def history_report(records: Any, learner: str, n: int = 3) -> dict[str, Any]:
    """``records``: a History. One JSON-ready object."""
    from domaintune.history import History
    from domaintune.meta import MODEL_FREE_GROUPS, feature_table

    finished = History(list(records)).validated(finished=True)
    scores = _scores(finished)
    skipped: list[str] = []  # recorded domains that are not installed here
    features = feature_table(finished, MODEL_FREE_GROUPS, skipped=skipped)
    held_out = (_hold_out(domain, finished, scores, features, learner, n) for domain in sorted(scores.values))
    lodo = [row for row in held_out if row is not None]
    keys = sorted(scores.labels, key=lambda k: -scores.mean_normalized(k))
    return {
        "kind": "history",
        "learner": learner,
        "n": n,
        "records": len(records),
        "domains": sorted(scores.values),
        "strategies": [{"key": k, "label": scores.labels[k], "mean_normalized": scores.mean_normalized(k),
                        "best_on": sorted(d for d in scores.values if scores.best[d] == k)} for k in keys],
        "matrix": {d: {scores.labels[k]: v for k, v in scores.values[d].items()} for d in sorted(scores.values)},
        "lodo": lodo,
        "mean_regret_at_1": _mean(lodo, "regret_at_1"),
        "mean_regret_at_n": _mean(lodo, "regret_at_n"),
        "skipped": skipped,
    }


def history_html(report: dict[str, Any]) -> str:
    """One self-contained page: the domains x strategies matrix and every held-out domain's proposals."""
    from domaintune.reports._figures import lodo_figure, matrix_figure
    from domaintune.reports._html import render

    figures = {"matrix": matrix_figure(report), "lodo": lodo_figure(report)}
    return render("history.html", "The history, as the meta-learner sees it", report, figures)


def print_history_report(report: dict[str, Any]) -> None:
    from domaintune.reports._terminal import print_table

    print(f"History: {report['records']} records, {len(report['domains'])} domains, {len(report['strategies'])} strategies")
    print_table("Strategies (mean normalized score across domains)", ["strategy", "mean", "best on"],
                [[s["label"], f"{s['mean_normalized']:.2f}", str(len(s["best_on"]))] for s in report["strategies"]])
    print_table(f"Leave one domain out ({report['learner']}, {report['n']} proposals)", ["domain", "proposal 1", "came from", "regret@1", f"regret@{report['n']}"],
                [[x["domain"], x["proposals"][0]["strategy"] if x["proposals"] else "-", ", ".join(x["proposals"][0]["came_from"][:3]) if x["proposals"] else "-",
                  "-" if x["regret_at_1"] is None else f"{x['regret_at_1']:.2f}", "-" if x["regret_at_n"] is None else f"{x['regret_at_n']:.2f}"] for x in report["lodo"]])
    r1, rn = report["mean_regret_at_1"], report["mean_regret_at_n"]
    print(f"Mean regret@1 {r1:.3f}, @{report['n']} {rn:.3f}" if r1 is not None and rn is not None else "No domain to hold out.")
