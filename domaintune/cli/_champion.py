"""A domain's champion: ``champion show``, ``champion rollback`` and experts' ``feedback``."""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Optional

import typer

from domaintune.cli._common import guarded, print_json

URI_HELP = "Tracking URI (default $MLFLOW_TRACKING_URI, else ./mlflow.db)."


@guarded
def champion_show(
    domain: str = typer.Argument(..., help="Domain name."),
    uri: Optional[str] = typer.Option(None, help=URI_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The domain's champion and every challenger with its decision and reason."""
    from domaintune.champion import show

    info = show(uri, domain)
    if as_json:
        print_json(info)
        return
    typer.echo(f"{info['model']}: champion v{info['champion'] or '-'}  ({info['uri']})")
    for v in info["versions"]:
        mark = "*" if v["champion"] else " "
        score = (v["validation"] or {}).get("value")
        shown = f"{score:.3f}" if isinstance(score, (int, float)) else "-"
        typer.echo(f"{mark} v{v['version']:<3} {v['decision'] or '':12} domain v{v['domain_version']}  validation {shown}  {v['decided_at'] or ''}")
        typer.echo(f"      {v['reason'] or ''}")


@guarded
def champion_rollback(
    domain: str = typer.Argument(..., help="Domain name."),
    uri: Optional[str] = typer.Option(None, help=URI_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Move the champion alias back to the version the current champion replaced."""
    from domaintune.champion import rollback

    info = rollback(uri, domain)
    print_json(info) if as_json else typer.echo(info["reason"])


@guarded
def feedback(
    domain: str = typer.Argument(..., help="Domain name."),
    file: str = typer.Option(..., "--file", help="Judgments: CSV or JSONL with question, judgment (accept|reject|correct), corrected, ..."),
    uri: Optional[str] = typer.Option(None, help=URI_HELP),
    history: Optional[str] = typer.Option(None, help="Feedback history file to append to (default: beside the user's domains)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record an expert's judgments on the champion: MLflow assessments, history records, a new domain version."""
    from domaintune.champion import apply_feedback

    # stdout carries the JSON alone: MLflow prints a run's links there when a server's run ends.
    with contextlib.redirect_stdout(sys.stderr):
        info = apply_feedback(domain, file, uri=uri, history=history)
    if as_json:
        print_json(info)
    else:
        _print_feedback(info)


def _print_feedback(info: dict[str, Any]) -> None:
    typer.echo(f"{info['judgments']} judgments on {info['champion']['model']} v{info['champion']['version']}: "
               f"{info['accept']} accepted, {info['reject']} rejected, {info['correct']} corrected")
    typer.echo(f"history: 1 record appended to {info['history']}; MLflow run {info['feedback_run_id']} ({info['traces']} traces)")
    if info["new_version"]:
        typer.echo(f"new domain version {info['new_version']['version']} ({info['new_version']['fingerprint']}): "
                   "a schedule entry with data_changed will re-specialize it")
