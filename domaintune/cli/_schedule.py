"""CLI commands for the loop that keeps domains specialized: ``schedule``, ``champion``,
``feedback`` and ``domains release``. Registered on the main app by ``domaintune.cli``."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any, Optional

import typer

schedule_app = typer.Typer(help="Scheduled sweeps: list entries, run what is due, or serve a scheduler.", no_args_is_help=True)
champion_app = typer.Typer(help="A domain's champion in the MLflow Model Registry.", no_args_is_help=True)


def register(app: typer.Typer, domains_app: typer.Typer, guarded: Callable[[Callable[[], Any]], Any], print_json: Callable[[Any], None]) -> None:
    app.add_typer(schedule_app, name="schedule")
    app.add_typer(champion_app, name="champion")

    @schedule_app.command("list")
    def schedule_list(
        file: str = typer.Argument(..., help="Schedule file, e.g. experiments/schedule.yaml."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per entry."),
    ) -> None:
        """Each entry: when it runs next, which triggers are pending, its last run, its champion."""

        def body() -> None:
            from domaintune.schedule import list_entries

            rows = list_entries(file)
            if as_json:
                print_json(rows)
                return
            for row in rows:
                state = "disabled" if not row["enabled"] else ("due now" if row["due"] else f"next {row['next_run'] or 'when a trigger fires'}")
                champion = f"champion v{row['champion']}" if row["champion"] else "no champion"
                typer.echo(f"{row['entry']:24} {row['domain']} v{row['domain_version']}  {state}  {champion}")
                for trigger in row["pending_triggers"]:
                    typer.echo(f"    pending: {trigger}")
                if row["champion_check_due"]:
                    typer.echo("    the champion will be checked on the new version")
                if row["locked_by"]:
                    typer.echo(f"    running now: {row['locked_by'].get('host')} pid {row['locked_by'].get('pid')}")

        guarded(body)

    @schedule_app.command("run-due")
    def schedule_run_due(
        file: str = typer.Argument(..., help="Schedule file."),
        entry: list[str] = typer.Option([], "--entry", help="Only these entries (default: every enabled one)."),
        force: bool = typer.Option(False, "--force", help="Run the named entries even if nothing fired (a person's run)."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per entry run ([] when nothing was due)."),
    ) -> None:
        """Run what is due once and exit (for cron, a systemd timer or a Kubernetes CronJob)."""

        def body() -> None:
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
                raise typer.Exit(1)

        guarded(body)

    @schedule_app.command("serve")
    def schedule_serve(
        file: str = typer.Argument(..., help="Schedule file."),
        poll: Optional[int] = typer.Option(None, "--poll", help="Seconds between looks for due entries (default: the file's poll_seconds)."),
    ) -> None:
        """Keep a scheduler in the foreground; SIGTERM or Ctrl-C stops it cleanly."""

        def body() -> None:
            from domaintune.schedule import serve

            with contextlib.redirect_stdout(sys.stderr):
                serve(file, poll_seconds=poll)

        guarded(body)

    @champion_app.command("show")
    def champion_show(
        domain: str = typer.Argument(..., help="Domain name."),
        uri: Optional[str] = typer.Option(None, help="Tracking URI (default $MLFLOW_TRACKING_URI, else ./mlflow.db)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """The domain's champion and every challenger with its decision and reason."""

        def body() -> None:
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

        guarded(body)

    @champion_app.command("rollback")
    def champion_rollback(
        domain: str = typer.Argument(..., help="Domain name."),
        uri: Optional[str] = typer.Option(None, help="Tracking URI (default $MLFLOW_TRACKING_URI, else ./mlflow.db)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Move the champion alias back to the version the current champion replaced."""

        def body() -> None:
            from domaintune.champion import rollback

            info = rollback(uri, domain)
            print_json(info) if as_json else typer.echo(info["reason"])

        guarded(body)

    @app.command("feedback")
    def feedback_command(
        domain: str = typer.Argument(..., help="Domain name."),
        file: str = typer.Option(..., "--file", help="Judgments: CSV or JSONL with question, judgment (accept|reject|correct), corrected, ..."),
        uri: Optional[str] = typer.Option(None, help="Tracking URI (default $MLFLOW_TRACKING_URI, else ./mlflow.db)."),
        history: Optional[str] = typer.Option(None, help="Feedback history file to append to (default: beside the user's domains)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Record an expert's judgments on the champion: MLflow assessments, history records, a new domain version."""

        def body() -> None:
            from domaintune.champion import apply_feedback

            info = apply_feedback(domain, file, uri=uri, history=history)
            if as_json:
                print_json(info)
                return
            typer.echo(f"{info['judgments']} judgments on {info['champion']['model']} v{info['champion']['version']}: "
                       f"{info['accept']} accepted, {info['reject']} rejected, {info['correct']} corrected")
            typer.echo(f"history: 1 record appended to {info['history']}; MLflow run {info['feedback_run_id']} ({info['traces']} traces)")
            if info["new_version"]:
                typer.echo(f"new domain version {info['new_version']['version']} ({info['new_version']['fingerprint']}): "
                           "a schedule entry with data_changed will re-specialize it")

        guarded(body)

    @domains_app.command("release")
    def domains_release(
        name: str = typer.Argument(..., help="A built-in evolving domain, e.g. gcide-law-evolving."),
        version: Optional[str] = typer.Option(None, help="Which release (default: the next one)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Release a built-in evolving domain's next version into your domains ($DOMAINTUNE_DOMAINS)."""

        def body() -> None:
            from domaintune.domains import release_domain

            released = release_domain(name, version)
            info = {"name": released.name, "version": released.version, "fingerprint": released.fingerprint, "sizes": released.sizes}
            print_json(info) if as_json else typer.echo(f"released {released.name} v{released.version} ({released.fingerprint}) {released.sizes}")

        guarded(body)

