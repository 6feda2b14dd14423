"""The one place that turns a report into HTML: its jinja2 template (``templates/<kind>.html``,
autoescaped) with plotly.js inline once, so every page opens offline (never a CDN)."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _num(value: int | float) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _pairs(mapping: dict[str, Any], spec: str = "") -> str:
    return ", ".join(f"{k}={v:{spec}}" for k, v in mapping.items())


def _whole(seconds: float | None) -> int:
    return round(float(seconds or 0))


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    from domaintune.reports._story import fmt_interval

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.tests["numeric"] = _numeric
    env.filters.update(num=_num, ci=fmt_interval, pairs=_pairs, whole=_whole)
    return env


def figure_div(figure: Any) -> Any:
    """A figure's div and inline script, marked safe; plotly.js itself comes once per page."""
    from markupsafe import Markup

    return Markup(figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True}))


def render(template: str, title: str, report: dict[str, Any], figures: dict[str, Any]) -> str:
    """One self-contained page: ``template`` filled with the report and its figures' divs."""
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    divs = {name: figure_div(figure) for name, figure in figures.items()}
    page = _environment().get_template(template).render(title=title, report=report, divs=divs, plotly_js=Markup(get_plotlyjs()))
    return page + "\n"
