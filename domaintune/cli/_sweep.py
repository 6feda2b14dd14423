"""``domaintune sweep``: run one sweep from a config file."""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Optional

import typer

from domaintune.cli._common import EXIT_FAILURE, guarded, print_json
from domaintune.errors import ConfigError


def parse_set(items: list[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` overrides, each value read as YAML."""
    import yaml

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. search.num_samples=16")
        overrides[key] = yaml.safe_load(value)
    return overrides


@guarded
def sweep(
    config: str = typer.Argument(..., help="Sweep config, e.g. experiments/quickstart.yaml."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default $RAY_ADDRESS, else local)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: --set search.num_samples=16."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No Ray progress table."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the latest unfinished sweep of this config (same MLflow run, same Ray storage); start one if none."
    ),
    allow_duplicate: bool = typer.Option(
        False, "--allow-duplicate", help="Run even if the same sweep is already running (otherwise refused, exit 3)."
    ),
) -> None:
    """Run a sweep: evaluate strategies in parallel, record them in MLflow, score the best on test."""
    from domaintune.cli._print import print_sweep_result
    from domaintune.config import load_config
    from domaintune.sweep import run_sweep

    cfg = load_config(config, parse_set(set_))
    # With --json, stdout carries the JSON alone: Ray's own printing goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        result = run_sweep(cfg, address=address, verbose=0 if quiet or as_json else 1, resume=resume, allow_duplicate=allow_duplicate)
    if as_json:
        print_json(result.to_dict())
    else:
        print_sweep_result(result)
    if result.interrupted:
        raise KeyboardInterrupt
    if result.best_trial is None:
        typer.echo("error: no trial finished; see the FAILED runs in MLflow", err=True)
        raise typer.Exit(EXIT_FAILURE)
