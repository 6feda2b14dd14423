"""The tracking store: ``ui`` opens it, ``runs clean`` tidies what crashed sweeps left RUNNING."""

from __future__ import annotations

import sys
from typing import Any, Optional

import typer

from domaintune.cli._common import guarded, print_json


@guarded
def runs_clean(
    uri: Optional[str] = typer.Option(None, "--uri", help="Tracking URI (default $MLFLOW_TRACKING_URI, else ./mlflow.db)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", help="Only this experiment (default: every experiment)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be closed; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Close what crashed sweeps left RUNNING (mark KILLED) and kill their leftover local Ray processes.

    A sweep whose driver is alive (its process on this host, or a fresh heartbeat from another)
    is never touched; one without driver tags (an older release) is listed as unknown.
    """
    from domaintune.sweep import clean_runs

    report = clean_runs(uri, experiment, dry_run)
    if as_json:
        print_json(report)
    else:
        _print_cleaned(report, "would close" if dry_run else "closed")


def _print_cleaned(report: dict[str, Any], verb: str) -> None:
    for row in report["closed"]:
        extra = f", killed Ray pids {row['ray_pids_killed']}" if row.get("ray_pids_killed") else ""
        typer.echo(f"{verb} sweep {row['name']} ({row['run_id']}): driver pid {row['pid']} on {row['host']} is gone; "
                   f"{len(row.get('closed', []))} run(s) marked KILLED{extra}")
    for row in report["orphans"]:
        typer.echo(f"{verb} trial run {row['name']} ({row['run_id']}): its sweep is {row['parent_status']}")
    for row in report["alive"]:
        typer.echo(f"left alone: sweep {row['name']} ({row['run_id']}) is running (pid {row['pid']} on {row['host']})")
    for row in report["unknown"]:
        typer.echo(f"left alone: sweep {row['name']} ({row['run_id']}) has no driver tags (an older release); close it in the MLflow UI")
    if not any(report[k] for k in ("closed", "orphans", "alive", "unknown")):
        typer.echo(f"nothing RUNNING in {report['tracking_uri']}")


def ui(
    port: int = typer.Option(5000, help="Port for the MLflow UI."),
    uri: Optional[str] = typer.Option(None, help="Tracking URI (default as for sweeps)."),
) -> None:
    """Open the MLflow UI on the same store the sweeps write to."""
    import os
    import subprocess

    from domaintune.tracking import experiment_links, resolve_tracking_uri

    # Only finding the store is guarded: Ctrl-C in the UI server is the user closing it.
    store = guarded(resolve_tracking_uri)(uri)
    base = f"http://127.0.0.1:{port}"
    typer.echo(f"MLflow UI for {store} at {base}")
    # MLflow 3.17 opens an experiment on its GenAI overview; these links land on the runs table.
    for line in experiment_links(store, base):
        typer.echo(line)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store, "--host", "127.0.0.1", "--port", str(port)]
    raise typer.Exit(_serve_until_ended(subprocess.Popen(command, env=env, start_new_session=True)))


class _Ended(Exception):
    """SIGTERM reached ``domaintune ui``."""


def _serve_until_ended(server: Any) -> int:
    """Wait for the UI server; on Ctrl-C or SIGTERM end it and the uvicorn workers it spawned (its
    process group: they outlive a signal to the server alone and keep the port). Ctrl-C or SIGTERM
    is the user closing the UI: exit 0; otherwise the server's own exit status."""
    import signal

    from domaintune.testing.servers import stop_group

    def ended(signum: int, frame: Any) -> None:
        raise _Ended

    previous = signal.signal(signal.SIGTERM, ended)
    try:
        return server.wait()
    except (KeyboardInterrupt, _Ended):
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the ending short
        stop_group(server)
        signal.signal(signal.SIGTERM, previous)
