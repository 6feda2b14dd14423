"""Reports for people: one sweep, one domain across its sweeps and versions, and the history as
the meta-learner sees it. Each is a JSON-ready dict, a terminal summary, or one self-contained
HTML page (``domaintune report``)."""

from __future__ import annotations

from domaintune.reports._domain import domain_html, domain_report, print_domain_report
from domaintune.reports._history import history_html, history_report, print_history_report
from domaintune.reports._sweep import SweepInputs, load_sweep, print_sweep_report, sweep_html, sweep_report

__all__ = [
    "domain_html",
    "domain_report",
    "history_html",
    "history_report",
    "print_domain_report",
    "print_history_report","SweepInputs", "load_sweep", "print_sweep_report", "sweep_html", "sweep_report"]
from domaintune.reports._terminal import print_table
from domaintune.reports._story import difference, fmt_ci, tell, wilson
from domaintune.reports._png import levels_png, pareto_figure, story_png, sweep_figures
