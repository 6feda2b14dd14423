"""Figures logged on a sweep's parent run (matplotlib, headless)."""

from __future__ import annotations

from typing import Any


def sweep_figures(
    order: list[str], curves: dict[str, list[tuple[int, float]]], metric: str, mode: str, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """``trials``: the metric at every report of every trial (legend: the strategies);
    ``progress``: best so far by trial."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {}
    fig, ax = plt.subplots(figsize=(7, 4))
    for trial_id in order:
        points = curves.get(trial_id, [])
        if points:
            steps, values = zip(*points)
            label = (labels or {}).get(trial_id, trial_id)
            ax.plot(steps, values, marker="o", label=label if len(label) <= 60 else label[:57] + "...")
    ax.set_xlabel("training steps")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title("Every trial's reports (ASHA stops the weak ones early)")
    if len(order) <= 12:
        ax.legend(fontsize=7)
    fig.tight_layout()
    figures["trials"] = fig

    fig, ax = plt.subplots(figsize=(7, 4))
    finals = [curves[t][-1][1] for t in order if curves.get(t)]
    best, running = [], None
    for value in finals:
        running = value if running is None else (max(running, value) if mode == "max" else min(running, value))
        best.append(running)
    ax.plot(range(1, len(finals) + 1), finals, "o", label="trial")
    ax.step(range(1, len(best) + 1), best, where="post", label="best so far")
    ax.set_xlabel("trial (start order)")
    ax.set_ylabel(f"validation {metric}")
    ax.legend()
    fig.tight_layout()
    figures["progress"] = fig
    return figures


def pareto_figure(trials: list[Any], front: list[str], metric: str, cost: str) -> Any:
    """Every finished trial on (cost, metric), the Pareto front highlighted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = cost[len("cost.") :] if cost.startswith("cost.") else cost
    fig, ax = plt.subplots(figsize=(7, 4))
    for trial in trials:
        if trial.status != "FINISHED" or trial.metric is None or key not in trial.cost:
            continue
        on_front = trial.trial_id in front
        ax.scatter(trial.cost[key], trial.metric, c="tab:red" if on_front else "tab:gray", s=40 if on_front else 20)
        if on_front:
            ax.annotate(trial.trial_id, (trial.cost[key], trial.metric), fontsize=7)
    ax.set_xlabel(cost)
    ax.set_ylabel(f"validation {metric}")
    ax.set_title("Quality against cost (red: Pareto front)")
    fig.tight_layout()
    return fig
