"""Interactive figures (plotly) for a sweep, a domain and the history; ``_html`` puts them on a page.

Every trial is named by its strategy (``N · label``), never by a Ray id. The PNG copies logged to
MLflow under ``plots/`` are drawn by ``_png`` (matplotlib); its docstring says why not from these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domaintune.history import best_of, direction_sign

if TYPE_CHECKING:
    from domaintune.reports._story import SweepStory, TrialStory

ORIGIN_STYLE = {  # marker per origin: what the user should tell apart at a glance
    "baseline": ("diamond", "#7f7f7f"),
    "configured": ("square", "#8c564b"),
    "proposal": ("star", "#d62728"),
    "search": ("circle", "#1f77b4"),
}
LEVEL_ORDER = ["none", "black", "grey", "white", "black+grey", "black+white", "grey+white", "black+grey+white"]


def _name(t: TrialStory, width: int = 60) -> str:
    text = f"{t.number} · {t.label}"
    return text if len(text) <= width else text[: width - 3] + "..."


def _err(t: TrialStory) -> dict[str, Any]:
    if t.interval is None or t.metric is None:
        return {"visible": False}
    return {"type": "data", "symmetric": False, "array": [t.interval[1] - t.metric], "arrayminus": [t.metric - t.interval[0]]}


def history_figure(story: SweepStory) -> Any:
    """Every trial's validation score in start order (95% intervals), warm-start trials marked,
    and the best so far."""
    import plotly.graph_objects as go

    fig = go.Figure()
    scored = [t for t in story.trials if t.metric is not None]
    for t in scored:
        symbol, colour = ORIGIN_STYLE[t.origin]
        fig.add_trace(
            go.Scatter(
                x=[t.number], y=[t.metric], mode="markers", name=_name(t), error_y=_err(t),
                marker={"symbol": symbol, "color": colour, "size": 14 if t.origin != "search" else 10},
                hovertext=f"{t.label}<br>{t.origin_detail}<br>{t.status}", legendgroup=t.origin,
                legendgrouptitle_text={"baseline": "baseline", "configured": "configured", "proposal": "meta-learner proposals", "search": "search (TPE)"}[t.origin],
            )
        )
    best, running = [], None
    better = best_of(story.direction)
    for t in scored:
        running = t.metric if running is None else better(running, t.metric)
        best.append(running)
    fig.add_trace(go.Scatter(x=[t.number for t in scored], y=best, mode="lines", line={"shape": "hv", "color": "black", "dash": "dot"}, name="best so far"))
    fig.update_layout(
        title="Optimization history (stars: meta-learner proposals, diamond: zero-shot baseline)",
        xaxis_title="trial (start order)", yaxis_title=f"validation {story.metric}", legend={"groupclick": "toggleitem"},
    )
    return fig


def curves_figure(story: SweepStory, curves: dict[str, list[tuple[int, float]]]) -> Any:
    """The metric at every report of every trial (ASHA stops weak trainers early)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for t in story.trials:
        points = curves.get(t.trial_id) or []
        if points:
            fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers", name=_name(t)))
    fig.update_layout(title="Every trial's reports", xaxis_title="training steps", yaxis_title=f"validation {story.metric}")
    return fig


def parallel_figure(story: SweepStory, trials: list[dict[str, Any]], levers: list[str]) -> Any:
    """Parallel coordinates over the searched levers, coloured by the metric."""
    import plotly.graph_objects as go

    by_id = {t["trial_id"]: t for t in trials}
    rows = [(t, by_id[t.trial_id]["strategy"]) for t in story.trials if t.metric is not None and t.trial_id in by_id]
    dims = []
    for lever in levers:
        values = [s.get(lever) for _, s in rows]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            dims.append({"label": lever, "values": values})
        else:
            labels = sorted({str(v) for v in values})
            dims.append({"label": lever, "values": [labels.index(str(v)) for v in values], "tickvals": list(range(len(labels))), "ticktext": labels})
    dims.append({"label": f"validation {story.metric}", "values": [t.metric for t, _ in rows]})
    fig = go.Figure(go.Parcoords(line={"color": [t.metric for t, _ in rows], "colorscale": "Viridis", "showscale": True}, dimensions=dims))
    fig.update_layout(title="Parallel coordinates over the searched levers (one line per finished trial)")
    return fig


def lever_importance(trials: list[dict[str, Any]], distributions: dict[str, Any], direction: str, metric_of: dict[str, float]) -> dict[str, float]:
    """optuna's parameter importances (fANOVA) on an in-memory study rebuilt from the trials;
    empty when there are too few finished trials or no lever varied."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction)
    usable = {k: d for k, d in distributions.items() if all(_contains(d, t["strategy"].get(k)) for t in trials if t["trial_id"] in metric_of)}
    for t in trials:
        if t["trial_id"] not in metric_of:
            continue
        params = {k: t["strategy"][k] for k in usable}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=usable, value=metric_of[t["trial_id"]]))
    varied = [k for k in usable if len({str(t.params[k]) for t in study.trials}) > 1]
    if len(study.trials) < 3 or not varied:
        return {}
    try:
        return dict(optuna.importance.get_param_importances(study, params=varied))
    except (RuntimeError, ValueError):  # fANOVA refuses degenerate data (every value equal)
        return {}


def _contains(distribution: Any, value: Any) -> bool:
    try:
        return value is not None and distribution._contains(distribution.to_internal_repr(value))
    except (ValueError, TypeError, AttributeError):
        return False


def importance_figure(importances: dict[str, float], metric: str) -> Any:
    import plotly.graph_objects as go

    items = sorted(importances.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h"))
    fig.update_layout(title=f"Lever importance for validation {metric} (optuna fANOVA over the finished trials)", xaxis_title="importance (share of variance)")
    if not items:
        fig.add_annotation(text="too few finished trials, or no lever varied", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def level_group(levels: list[str]) -> str:
    return "+".join(levels) if levels else "none"


def levels_figure(story: SweepStory) -> Any:
    """Black-, grey-, white-box and hybrids side by side: every trial with its 95% interval."""
    import plotly.graph_objects as go

    fig = go.Figure()
    scored = [t for t in story.trials if t.metric is not None]
    groups = sorted({level_group(t.levels) for t in scored}, key=lambda g: LEVEL_ORDER.index(g) if g in LEVEL_ORDER else 99)
    for t in scored:
        symbol, colour = ORIGIN_STYLE[t.origin]
        fig.add_trace(
            go.Scatter(
                x=[level_group(t.levels)], y=[t.metric], mode="markers", name=_name(t), error_y=_err(t),
                marker={"symbol": symbol, "color": colour, "size": 12}, hovertext=t.label,
            )
        )
    fig.update_layout(
        title=f"Levels side by side (none = zero-shot; 95% intervals on {story.questions} questions)",
        xaxis={"title": "levels the strategy uses", "categoryorder": "array", "categoryarray": groups},
        yaxis_title=f"validation {story.metric}", scattermode="group",
    )
    return fig


def cost_figure(story: SweepStory, front: list[str] | None = None) -> Any:
    """Quality against cost (train + eval seconds), the cost/quality front drawn as a line."""
    import plotly.graph_objects as go

    scored = [t for t in story.trials if t.metric is not None]
    sign = direction_sign(story.direction)
    if front is None:  # the trials no other is both cheaper (or as cheap) and better than
        front = [
            t.trial_id for t in scored
            if not any(o is not t and o.cost_seconds <= t.cost_seconds and sign * o.metric >= sign * t.metric  # type: ignore[operator]
                       and (o.cost_seconds < t.cost_seconds or sign * o.metric > sign * t.metric) for o in scored)  # type: ignore[operator]
        ]
    fig = go.Figure()
    for t in scored:
        symbol, colour = ORIGIN_STYLE[t.origin]
        fig.add_trace(go.Scatter(x=[t.cost_seconds], y=[t.metric], mode="markers", name=_name(t), error_y=_err(t), marker={"symbol": symbol, "color": colour, "size": 12}, hovertext=t.label))
    line = sorted((t for t in scored if t.trial_id in front), key=lambda t: t.cost_seconds)
    fig.add_trace(go.Scatter(x=[t.cost_seconds for t in line], y=[t.metric for t in line], mode="lines", line={"color": "black", "dash": "dot"}, name="cost/quality front"))
    fig.update_layout(title="Quality against cost", xaxis_title="train + eval seconds (one trial)", yaxis_title=f"validation {story.metric}")
    return fig


def pareto_figure(story: SweepStory, trials: list[dict[str, Any]], objective: str, front: list[str]) -> Any:
    """A multi-objective sweep: the metric against its extra objective, the Pareto front marked."""
    import plotly.graph_objects as go

    key = objective[len("cost.") :] if objective.startswith("cost.") else objective
    by_id = {t["trial_id"]: t for t in trials}
    fig = go.Figure()
    for t in story.trials:
        value = by_id.get(t.trial_id, {}).get("cost", {}).get(key)
        if t.metric is None or value is None:
            continue
        on = t.trial_id in front
        fig.add_trace(go.Scatter(x=[value], y=[t.metric], mode="markers", name=_name(t) + (" (Pareto)" if on else ""), marker={"size": 14 if on else 9, "color": "#d62728" if on else "#7f7f7f"}, error_y=_err(t)))
    fig.update_layout(title=f"Pareto front: validation {story.metric} against {objective} (red: on the front)", xaxis_title=objective, yaxis_title=f"validation {story.metric}")
    return fig


def domain_figure(sweeps: list[dict[str, Any]]) -> Any:
    """A domain's sweeps over time: each one's best validation score (95% interval), by domain version."""
    from datetime import datetime

    import plotly.graph_objects as go

    fig = go.Figure()
    for version in sorted({s["version"] for s in sweeps}):
        mine = [s for s in sweeps if s["version"] == version and s["best_validation"] is not None]
        fig.add_trace(go.Scatter(
            x=[datetime.fromtimestamp(s["started"] / 1000) for s in mine], y=[s["best_validation"] for s in mine], mode="markers+lines",
            name=f"version {version}", text=[s["best_strategy"] for s in mine],
            error_y={"type": "data", "symmetric": False, "array": [(s["validation_ci95"] or [0, s["best_validation"]])[1] - s["best_validation"] for s in mine],
                     "arrayminus": [s["best_validation"] - (s["validation_ci95"] or [s["best_validation"]])[0] for s in mine]},
        ))
    fig.update_xaxes(type="date", title="sweep start")
    fig.update_layout(title="Best validation score of each sweep (95% intervals), by domain version", yaxis_title="best validation")
    return fig


def matrix_figure(report: dict[str, Any]) -> Any:
    """The history as a heat map: tasks (domain|view|model) x strategies, the validation score in each cell."""
    import plotly.graph_objects as go

    strategies = [s["label"] for s in report["strategies"]]
    tasks = report["tasks"]
    z = [[report["matrix"][t].get(s) for s in strategies] for t in tasks]
    fig = go.Figure(go.Heatmap(z=z, x=strategies, y=tasks, colorscale="Viridis", colorbar={"title": "validation"}, hovertemplate="%{y}<br>%{x}<br>%{z:.3f}<extra></extra>"))
    fig.update_layout(title="Tasks x strategies (validation score)", height=300 + 22 * len(tasks), xaxis={"tickangle": 35}, margin={"b": 260})
    return fig


def lodo_figure(report: dict[str, Any]) -> Any:
    """Leave one domain out: each held-out task's regret after the first and after n proposals."""
    import plotly.graph_objects as go

    lodo = report["lodo"]
    fig = go.Figure([
        go.Bar(name="regret after proposal 1", x=[x["task"] for x in lodo], y=[x["regret_at_1"] for x in lodo]),
        go.Bar(name=f"regret after {report['n']} proposals", x=[x["task"] for x in lodo], y=[x["regret_at_n"] for x in lodo]),
    ])
    fig.update_layout(barmode="group", title=f"Leave one domain out: {report['learner']} proposals (0 = the task's best recorded strategy, 1 = its worst)", yaxis_title="normalized regret")
    return fig
