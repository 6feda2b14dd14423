"""The PNG copies of a sweep's figures, logged on its parent run under ``plots/`` (matplotlib, headless).

Why a second library: MLflow shows a run's PNG artifacts as images, and the interactive figures
(``_figures``, plotly) can only become PNGs through kaleido, which downloads a Chrome build on first
use and fails offline (sweeps run on cluster nodes and in CI without network). So each PNG here is
drawn by matplotlib from the same sweep data as its plotly figure (the ``SweepStory``, the trials),
and nothing else draws a PNG. ``report.html`` on the same run carries the interactive ones.
"""

from __future__ import annotations

from typing import Any

from domaintune.history import best_of


def _pyplot() -> Any:
    """pyplot on the headless backend (sweeps run without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _yerr(t: Any) -> list[list[float]] | None:
    """A trial's 95% interval as error bars; an interval need not hold the point (a Wilson
    interval near 0 or 1), so never a negative bar."""
    if not t.interval:
        return None
    return [[max(0.0, t.metric - t.interval[0])], [max(0.0, t.interval[1] - t.metric)]]


def sweep_pngs(
    order: list[str], curves: dict[str, list[tuple[int, float]]], metric: str, mode: str, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """``trials``: the metric at every report of every trial (legend: the strategies);
    ``progress``: best so far by trial."""
    plt = _pyplot()

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
        running = value if running is None else best_of(mode)(running, value)
        best.append(running)
    ax.plot(range(1, len(finals) + 1), finals, "o", label="trial")
    ax.step(range(1, len(best) + 1), best, where="post", label="best so far")
    ax.set_xlabel("trial (start order)")
    ax.set_ylabel(f"validation {metric}")
    ax.legend()
    fig.tight_layout()
    figures["progress"] = fig
    return figures


def pareto_png(trials: list[Any], front: list[str], metric: str, cost: str) -> Any:
    """Every finished trial on (cost, metric), the Pareto front highlighted."""
    plt = _pyplot()

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


def _shorten(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def history_png(story: Any) -> Any:
    """PNG fallback of the optimization history: every trial with its 95% interval, warm-start
    trials marked, best so far; the legend names strategies."""
    plt = _pyplot()

    markers = {"baseline": ("D", "tab:gray"), "configured": ("s", "tab:brown"), "proposal": ("*", "tab:red"), "search": ("o", "tab:blue")}
    fig, ax = plt.subplots(figsize=(9, 4.5))
    scored = [t for t in story.trials if t.metric is not None]
    for t in scored:
        marker, colour = markers[t.origin]
        err = _yerr(t)
        ax.errorbar([t.number], [t.metric], yerr=err, fmt=marker, color=colour, ms=11 if t.origin == "proposal" else 7, capsize=3,
                    label=_shorten(f"{t.number} · {t.label} ({t.origin})"))
    running, best = None, []
    for t in scored:
        running = t.metric if running is None else best_of(story.direction)(running, t.metric)
        best.append(running)
    ax.step([t.number for t in scored], best, where="post", color="black", ls=":", label="best so far")
    ax.set_xlabel("trial (start order)")
    ax.set_ylabel(f"validation {story.metric}")
    ax.set_title("Optimization history (star: meta-learner proposal, diamond: zero-shot baseline)", fontsize=9)
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def levels_png(story: Any) -> Any:
    """PNG fallback of the levels side by side, each trial with its 95% interval."""
    plt = _pyplot()

    scored = [t for t in story.trials if t.metric is not None]
    groups = sorted({"+".join(t.levels) for t in scored})
    fig, ax = plt.subplots(figsize=(8, 4))
    for t in scored:
        x = groups.index("+".join(t.levels)) + (t.number % 5 - 2) * 0.06  # spread trials of one group
        err = _yerr(t)
        ax.errorbar([x], [t.metric], yerr=err, fmt="*" if t.origin == "proposal" else "o", capsize=3)
        ax.annotate(str(t.number), (x, t.metric), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xticks(range(len(groups)), groups)
    ax.set_xlabel("levels the strategy uses (numbers: trials)")
    ax.set_ylabel(f"validation {story.metric}")
    ax.set_title(f"Levels side by side, 95% intervals on {story.questions} questions", fontsize=9)
    fig.tight_layout()
    return fig
