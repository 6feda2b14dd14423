"""Scheduled sweeps: ``schedule list``, ``schedule run-due`` and ``schedule serve``."""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Optional

import typer

from domaintune.cli._common import EXIT_FAILURE, guarded, print_json


@guarded
def schedule_list(
    file: str = typer.Argument(..., help="Schedule file, e.g. experiments/schedule.yaml."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per entry."),
) -> None:
    """Each entry: when it runs next, which triggers are pending, its last run, its champion."""
    from domaintune.schedule import list_entries

    rows = list_entries(file)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        _print_entry(row)


def _print_entry(row: dict[str, Any]) -> None:
    state = "disabled" if not row["enabled"] else ("due now" if row["due"] else f"next {row['next_run'] or 'when a trigger fires'}")
    champion = f"champion v{row['champion']}" if row["champion"] else "no champion"
    typer.echo(f"{row['entry']:24} {row['domain']} v{row['domain_version']}  {state}  {champion}")
    for trigger in row["pending_triggers"]:
        typer.echo(f"    pending: {trigger}")
    if row["champion_check_due"]:
        typer.echo("    the champion will be checked on the new version")
    if row["locked_by"]:
        typer.echo(f"    running now: {row['locked_by'].get('host')} pid {row['locked_by'].get('pid')}")


@guarded
def schedule_run_due(
    file: str = typer.Argument(..., help="Schedule file."),
    entry: list[str] = typer.Option([], "--entry", help="Only these entries (default: every enabled one)."),
    force: bool = typer.Option(False, "--force", help="Run the named entries even if nothing fired (a person's run)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per entry run ([] when nothing was due)."),
) -> None:
    """Run what is due once and exit (for cron, a systemd timer or a Kubernetes CronJob)."""
    from domaintune.schedule import run_due

    if force and not entry:
        raise typer.BadParameter("--force needs --entry NAME")
    # stdout carries the JSON alone: Ray's and MLflow's printing goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        results = run_due(file, entries=list(entry) or None, force=force)
    if as_json:
        print_json(results)
    else:
        for result in results:
            what = result.get("decision") or result.get("error") or (result.get("check") or {}).get("reason", "")
            typer.echo(f"{result['entry']}: {result['action']} ({result['reason']}) -> {result.get('outcome', 'checked')}: {what}")
        if not results:
            typer.echo("nothing due")
    if any(r.get("outcome") == "failed" for r in results):
        raise typer.Exit(EXIT_FAILURE)


@guarded
def schedule_serve(
    file: str = typer.Argument(..., help="Schedule file."),
    poll: Optional[int] = typer.Option(None, "--poll", help="Seconds between looks for due entries (default: the file's poll_seconds)."),
) -> None:
    """Keep a scheduler in the foreground; SIGTERM or Ctrl-C stops it cleanly."""
    from domaintune.schedule import serve

    with contextlib.redirect_stdout(sys.stderr):
        serve(file, poll_seconds=poll)
