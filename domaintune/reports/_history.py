"""The history as the meta-learner sees it: domains x strategies, and leave one domain out:
what the learner would propose for each domain from the others, which past domains each
proposal came from (where it was best), and how far the proposals were from the domain's best."""

from __future__ import annotations

from typing import Any


def history_report(records: Any, learner: str, n: int = 3) -> dict[str, Any]:
    """``records``: a History. One JSON-ready object."""
    from domaintune.domains import load_domain
    from domaintune.errors import DomainError
    from domaintune.history import History, strategy_key
    from domaintune.meta import REGISTRY, domain_features, normalized_scores
    from domaintune.meta.features import MODEL_FREE_GROUPS
    from domaintune.strategy import Strategy

    finished = History([r for r in records if r.split == "validation" and r.status == "FINISHED" and r.value is not None])
    labels: dict[str, str] = {}
    for r in finished:
        labels.setdefault(r.strategy_key(), r.parsed_strategy().describe())
    values: dict[str, dict[str, float]] = {}
    stderr: dict[str, dict[str, float | None]] = {}
    for r in finished:
        values.setdefault(r.domain, {})[r.strategy_key()] = float(r.value)  # type: ignore[arg-type]
        stderr.setdefault(r.domain, {})[r.strategy_key()] = r.stderr
    normalized = normalized_scores(finished)
    best_of = {d: max(v, key=v.get) for d, v in values.items()}  # type: ignore[arg-type]
    views = {r.domain: r.view for r in finished}
    features: dict[str, dict[str, float]] = {}
    skipped = []
    for domain, view in views.items():
        try:
            features[domain] = domain_features(load_domain(domain).view(view or None), MODEL_FREE_GROUPS)
        except DomainError as error:  # a recorded domain that is not installed here
            skipped.append(f"{domain}: {error}")
    lodo = []
    for domain in sorted(values):
        if domain not in features:
            continue
        past = History([r for r in finished if r.domain != domain and r.view == views[domain] and r.domain in features])
        if not past.domains():
            continue
        proposals = REGISTRY[learner]({d: features[d] for d in past.domains() + [domain]}).fit(past).propose(domain, n)
        rows = []
        for p in proposals:
            k = strategy_key(p.strategy)
            rows.append({
                "strategy": labels.get(k, Strategy.from_dict(p.strategy).describe()),
                "reason": p.reason,
                "came_from": sorted(d for d in past.domains() if best_of.get(d) == k),
                "measured": values[domain].get(k),
                "normalized": normalized[domain].get(k),
                "rank": sorted(values[domain].values(), reverse=True).index(values[domain][k]) + 1 if k in values[domain] else None,
            })
        scores = [r["normalized"] for r in rows if r["normalized"] is not None]
        lodo.append({
            "domain": domain,
            "best": labels[best_of[domain]],
            "best_value": values[domain][best_of[domain]],
            "proposals": rows,
            "regret_at_1": None if not rows or rows[0]["normalized"] is None else 1.0 - rows[0]["normalized"],
            "regret_at_n": None if not scores else 1.0 - max(scores),
        })

    def mean(key: str) -> float | None:
        got = [x[key] for x in lodo if x[key] is not None]
        return sum(got) / len(got) if got else None

    keys = sorted(labels, key=lambda k: -sum(normalized[d].get(k, 0.0) for d in normalized) / max(1, len(normalized)))
    return {
        "kind": "history",
        "learner": learner,
        "n": n,
        "records": len(records),
        "domains": sorted(values),
        "strategies": [{"key": k, "label": labels[k], "mean_normalized": sum(normalized[d].get(k, 0.0) for d in normalized) / max(1, len(normalized)),
                        "best_on": sorted(d for d in values if best_of[d] == k)} for k in keys],
        "matrix": {d: {labels[k]: v for k, v in values[d].items()} for d in sorted(values)},
        "lodo": lodo,
        "mean_regret_at_1": mean("regret_at_1"),
        "mean_regret_at_n": mean("regret_at_n"),
        "skipped": skipped,
    }


def history_html(report: dict[str, Any]) -> str:
    import plotly.graph_objects as go

    from domaintune.reports import _figures as ph

    strategies = [s["label"] for s in report["strategies"]]
    domains = report["domains"]
    z = [[report["matrix"][d].get(s) for s in strategies] for d in domains]
    heat = go.Figure(go.Heatmap(z=z, x=strategies, y=domains, colorscale="Viridis", colorbar={"title": "validation"}, hovertemplate="%{y}<br>%{x}<br>%{z:.3f}<extra></extra>"))
    heat.update_layout(title="Domains x strategies (validation score)", height=300 + 22 * len(domains), xaxis={"tickangle": 35}, margin={"b": 260})
    lodo = report["lodo"]
    bars = go.Figure([
        go.Bar(name="regret after proposal 1", x=[x["domain"] for x in lodo], y=[x["regret_at_1"] for x in lodo]),
        go.Bar(name=f"regret after {report['n']} proposals", x=[x["domain"] for x in lodo], y=[x["regret_at_n"] for x in lodo]),
    ])
    bars.update_layout(barmode="group", title=f"Leave one domain out: {report['learner']} proposals (0 = the domain's best recorded strategy, 1 = its worst)", yaxis_title="normalized regret")
    summary = ph.table(["learner", "proposals", "domains", "records", "mean regret@1", f"mean regret@{report['n']}"],
                       [[report["learner"], report["n"], len(domains), report["records"], report["mean_regret_at_1"], report["mean_regret_at_n"]]])
    strategy_rows = ph.table(["strategy", "mean normalized score", "best on"], [[s["label"], s["mean_normalized"], ", ".join(s["best_on"]) or "-"] for s in report["strategies"]])
    proposal_rows = ph.table(
        ["held-out domain", "#", "proposal", "came from (past domains where it was best)", "measured", "rank there", "domain's best"],
        [[x["domain"], i, p["strategy"], ", ".join(p["came_from"]) or "-", p["measured"], p["rank"], f"{x['best']} ({x['best_value']:.3f})"]
         for x in lodo for i, p in enumerate(x["proposals"], start=1)],
    )
    sections = [("Summary", summary), ("Domains x strategies", ph.figure_div(heat)), ("Strategies", strategy_rows),
                ("Leave one domain out", ph.figure_div(bars)), ("Each proposal and where it came from", proposal_rows)]
    if report["skipped"]:
        sections.append(("Skipped", "<ul>" + "".join(f"<li>{s}</li>" for s in report["skipped"]) + "</ul>"))
    return ph.page("The history, as the meta-learner sees it", sections)


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
