"""``domaintune report``: one sweep, one domain, or the whole history; terminal, --json or --html."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer

from domaintune.cli._common import guarded, print_json
from domaintune.errors import ConfigError

# A report: its JSON-ready data, the HTML page it renders to, and its terminal summary.
Built = tuple[dict[str, Any], Callable[[], str], Callable[[dict[str, Any]], None]]


@guarded
def report(
    sweep_run_id: Optional[str] = typer.Argument(None, help="A sweep's MLflow run id (printed by `domaintune sweep`)."),
    domain: Optional[str] = typer.Option(None, "--domain", help="Report on one domain: every sweep and version, champion, feedback."),
    history: bool = typer.Option(False, "--history", help="Report on the history as the meta-learner sees it (leave one domain out)."),
    html_path: Optional[str] = typer.Option(None, "--html", help="Write one self-contained HTML file (opens offline)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    uri: Optional[str] = typer.Option(None, help="Tracking URI (default as for sweeps)."),
    history_file: list[str] = typer.Option([], "--history-file", help="History files for --history / --domain (default: the shipped seed history)."),
    experiment: Optional[str] = typer.Option(None, help="--history: also learn from this MLflow experiment's trials."),
    learner: Optional[str] = typer.Option(None, help="--history: the learner to hold domains out with (default: the configured default)."),
    n: int = typer.Option(3, "-n", help="--history: proposals per held-out domain."),
) -> None:
    """A report for people: one sweep, one domain, or the whole history; terminal, --json or --html."""
    if len([x for x in (sweep_run_id, domain, history or None) if x]) != 1:
        raise ConfigError("report: give exactly one of SWEEP_RUN_ID, --domain NAME or --history")
    if sweep_run_id:
        data, render, show = _sweep_report(uri, sweep_run_id)
    elif domain:
        data, render, show = _domain_report(uri, domain, list(history_file))
    else:
        data, render, show = _history_report(uri, list(history_file), experiment, learner, n)
    if html_path:
        Path(html_path).write_text(render())
        data["html"] = str(Path(html_path).resolve())
    if as_json:
        print_json(data)
    elif html_path:
        typer.echo(f"wrote {data['html']}")
    else:
        show(data)


def _client(uri: str | None) -> Any:
    """An MLflow client on a store that answers (a clear error naming the store otherwise)."""
    from domaintune.tracking import client

    return client(uri, check=True)


def _sweep_report(uri: str | None, run_id: str) -> Built:
    from domaintune import reports

    inputs = reports.load_sweep(_client(uri), run_id)
    data = reports.sweep_report(inputs)
    return data, lambda: reports.sweep_html(inputs, data), reports.print_sweep_report


def _domain_report(uri: str | None, domain: str, history_files: list[str]) -> Built:
    from domaintune import reports

    data = reports.domain_report(_client(uri), domain, history_files)
    return data, lambda: reports.domain_html(data), reports.print_domain_report


def _history_report(uri: str | None, history_files: list[str], experiment: str | None, learner: str | None, n: int) -> Built:
    from domaintune import reports
    from domaintune.config import DEFAULT_LEARNER
    from domaintune.meta import REGISTRY, load_history
    from domaintune.tracking import resolve_tracking_uri

    name = learner or DEFAULT_LEARNER
    if name not in REGISTRY:
        raise ConfigError(f"--learner: unknown {name!r}; known: {', '.join(sorted(REGISTRY))}")
    records = load_history(history_files, resolve_tracking_uri(uri) if experiment else None, experiment)
    data = reports.history_report(records, name, n)
    return data, lambda: reports.history_html(data), reports.print_history_report
