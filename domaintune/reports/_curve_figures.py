"""The knowledge curve (``meta.knowledge_curve``) as figures: regret@k against the number of
training tasks, one line per task family and one for all tasks, each point with its 95%
interval over domains. Interactive (plotly) for the history page; a PNG (matplotlib, headless,
as ``_png`` draws every PNG: kaleido needs a network) for result pages and run artifacts."""

from __future__ import annotations

from typing import Any

ALL = "all tasks"
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def curve_lines(curve: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Line name -> its entries (one per training size): all tasks first, then each family."""
    return {ALL: curve["curve"], **curve["families"]}


def _title(curve: dict[str, Any]) -> str:
    return (f"Knowledge curve of {curve['learner']}: regret against the tasks it learns from "
            f"({curve['draws']} draws, 95% intervals over domains; values of the screening table)")


def curve_figure(curve: dict[str, Any]) -> Any:
    """One panel per k: mean normalized regret after k proposals against training tasks."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ks = [str(k) for k in curve["ks"]]
    fig = make_subplots(rows=1, cols=len(ks), shared_yaxes=True, subplot_titles=[f"regret@{k}" for k in ks])
    for i, (name, entries) in enumerate(curve_lines(curve).items()):
        colour = "#222222" if name == ALL else COLOURS[i % len(COLOURS)]
        for j, k in enumerate(ks):
            y = [e["regret"][k] for e in entries]
            fig.add_trace(go.Scatter(
                x=[e["size"] for e in entries], y=y, mode="lines+markers", name=f"{name} ({entries[0]['tasks']} tasks)",
                legendgroup=name, showlegend=j == 0, line={"color": colour, "width": 3 if name == ALL else 1.5},
                error_y={"type": "data", "symmetric": False, "array": [e["ci"][k][1] - v for e, v in zip(entries, y)],
                         "arrayminus": [v - e["ci"][k][0] for e, v in zip(entries, y)]},
            ), row=1, col=j + 1)
            fig.update_xaxes(type="log", tickvals=curve["sizes"], title="training tasks (other domains)", row=1, col=j + 1)
    fig.update_yaxes(title="normalized regret (0 = the task's best)", row=1, col=1)
    fig.update_layout(title=_title(curve), title_font_size=13)
    return fig


def knowledge_curve_png(curve: dict[str, Any]) -> Any:
    """The same curve as a matplotlib figure (one panel per k)."""
    from domaintune.reports._png import _pyplot

    plt = _pyplot()
    ks = [str(k) for k in curve["ks"]]
    fig, axes = plt.subplots(1, len(ks), figsize=(5 * len(ks), 4), sharey=True, squeeze=False)
    for i, (name, entries) in enumerate(curve_lines(curve).items()):
        colour = "black" if name == ALL else COLOURS[i % len(COLOURS)]
        for ax, k in zip(axes[0], ks):
            y = [e["regret"][k] for e in entries]
            err = [[v - e["ci"][k][0] for e, v in zip(entries, y)], [e["ci"][k][1] - v for e, v in zip(entries, y)]]
            ax.errorbar([e["size"] for e in entries], y, yerr=err, marker="o", capsize=3, color=colour,
                        lw=2.5 if name == ALL else 1.2, label=f"{name} ({entries[0]['tasks']} tasks)")
    for ax, k in zip(axes[0], ks):
        ax.set_xscale("log", base=2)
        ax.set_xticks(curve["sizes"], [str(m) for m in curve["sizes"]])
        ax.set_xlabel("training tasks (other domains)")
        ax.set_title(f"regret@{k}", fontsize=10)
    axes[0][0].set_ylabel("normalized regret (0 = the task's best)")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(_title(curve), fontsize=8)
    fig.tight_layout()
    return fig
