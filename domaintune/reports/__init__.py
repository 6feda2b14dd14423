"""Reports for people: one sweep, one domain across its sweeps and versions, and the history as
the meta-learner sees it. Each is a JSON-ready dict, a terminal summary, or one self-contained
HTML page (``domaintune report``, jinja2 templates under ``templates/``); a finished sweep's run
also carries its story and PNG copies of its figures."""

from __future__ import annotations

from domaintune.reports._domain import domain_html, domain_report, print_domain_report
from domaintune.reports._curve_figures import knowledge_curve_png
from domaintune.reports._history import history_html, history_report, print_history_report
from domaintune.reports._png import history_png, levels_png, pareto_png, sweep_pngs
from domaintune.reports._story import SweepStory, TrialStory, fmt_ci, tell
from domaintune.reports._sweep import SweepInputs, load_sweep, print_sweep_report, sweep_html, sweep_report
from domaintune.reports._terminal import print_table
from domaintune.reports._pages import PAGE_MARK, write_result_page

__all__ = [
    # one sweep
    "SweepInputs",
    "load_sweep",
    "print_sweep_report",
    "sweep_html",
    "sweep_report",
    # one domain
    "domain_html",
    "domain_report",
    "print_domain_report",
    # the history
    "history_html",
    "history_report",
    "knowledge_curve_png",
    "print_history_report",
    # the story of a sweep
    "SweepStory",
    "TrialStory",
    "fmt_ci",
    "tell",
    # the PNG copies on a sweep's run, and terminal tables
    "history_png",
    "levels_png",
    "pareto_png",
    "sweep_pngs",
    "print_table",
    # results pages under docs/results/
    "PAGE_MARK",
    "write_result_page",
]
