"""The ``domaintune`` command line. Heavy libraries are imported inside commands only."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from typing import Any, Optional

import typer

from domaintune import __version__
from domaintune.errors import ConfigError, DomainError, DomaintuneError

app = typer.Typer(
    help="Find the best way to specialize an LLM to a domain, and learn from every past domain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
domains_app = typer.Typer(help="List, inspect and rebuild domains.", no_args_is_help=True)
spaces_app = typer.Typer(help="List and inspect named search spaces.", no_args_is_help=True)
model_app = typer.Typer(help="Prepare base models.", no_args_is_help=True)
app.add_typer(domains_app, name="domains")
app.add_typer(spaces_app, name="spaces")
app.add_typer(model_app, name="model")

EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _guarded(action: Callable[[], Any]) -> Any:
    """Run a command body; turn our errors into a one-paragraph message and an exit code."""
    try:
        return action()
    except (ConfigError, DomainError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except DomaintuneError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_FAILURE) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: open MLflow runs were marked KILLED", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"domaintune {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """domaintune: search black-, grey- and white-box strategies for a domain with Ray Tune and MLflow."""


def _parse_set(items: list[str]) -> dict[str, Any]:
    import yaml

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. search.num_samples=16")
        overrides[key] = yaml.safe_load(value)
    return overrides


@app.command()
def sweep(
    config: str = typer.Argument(..., help="Sweep config, e.g. experiments/quickstart.yaml."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default $RAY_ADDRESS, else local)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: --set search.num_samples=16."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No Ray progress table."),
) -> None:
    """Run a sweep: evaluate strategies in parallel, record them in MLflow, score the best on test."""

    def body() -> None:
        from domaintune.config import load_config
        from domaintune.report import print_sweep_result
        from domaintune.sweep import run_sweep

        cfg = load_config(config, _parse_set(set_))
        # With --json, stdout carries the JSON alone: Ray's own printing goes to stderr.
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            result = run_sweep(cfg, address=address, verbose=0 if quiet or as_json else 1)
        if as_json:
            _print_json(result.to_dict())
        else:
            print_sweep_result(result)
        if result.interrupted:
            raise KeyboardInterrupt
        if result.best_trial is None:
            typer.echo("error: no trial finished; see the FAILED runs in MLflow", err=True)
            raise typer.Exit(EXIT_FAILURE)

    _guarded(body)


@app.command()
def ui(
    port: int = typer.Option(5000, help="Port for the MLflow UI."),
    uri: Optional[str] = typer.Option(None, help="Tracking URI (default as for sweeps)."),
) -> None:
    """Open the MLflow UI on the same store the sweeps write to."""
    import os
    import subprocess

    from domaintune.tracking import resolve_tracking_uri

    store = _guarded(lambda: resolve_tracking_uri(uri))
    typer.echo(f"MLflow UI for {store} at http://127.0.0.1:{port}")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store, "--host", "127.0.0.1", "--port", str(port)]
    raise typer.Exit(subprocess.call(command, env=env))


@domains_app.command("list")
def domains_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Built-in domains with their task, sizes, licence and fingerprint."""

    def body() -> None:
        from domaintune.domains import BUILTIN_DIR, builtin_domain_names

        rows = [json.loads((BUILTIN_DIR / name / "domain.json").read_text()) for name in builtin_domain_names()]
        if as_json:
            _print_json(rows)
            return
        from domaintune.report import print_table

        print_table(
            "Built-in domains",
            ["name", "task", "train", "validation", "test", "licence", "fingerprint"],
            [[r["name"], r["task"], *[str(r["sizes"][s]) for s in ("train", "validation", "test")], r["licence"], r["fingerprint"]] for r in rows],
        )

    _guarded(body)


@domains_app.command("show")
def domains_show(
    name: str = typer.Argument(..., help="Built-in domain name or domain folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    examples: int = typer.Option(2, help="Validation rows to show."),
) -> None:
    """One domain's metadata (the data is validated and its fingerprint checked on load)."""

    def body() -> None:
        from domaintune.domains import load_domain

        domain = load_domain(name)
        info = {**domain.summary(), "examples": domain.splits["validation"][:examples]}
        if as_json:
            _print_json(info)
            return
        for key, value in domain.summary().items():
            typer.echo(f"{key:16} {value}")
        for row in info["examples"]:
            typer.echo(f"\nterm: {row['term']}")
            for i, option in enumerate(row["options"]):
                typer.echo(f"  {'*' if i == row['answer'] else ' '} {option}")

    _guarded(body)


@domains_app.command("build")
def domains_build(names: list[str] = typer.Argument(None, help="Builders to run (default: all).")) -> None:
    """Rebuild built-in domains from their Debian packages (needs apt-get install dict-*)."""
    from domaintune.domains.build import main as build

    _guarded(lambda: build(list(names or [])))


@spaces_app.command("list")
def spaces_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Named search spaces."""
    from domaintune.search_spaces import DESCRIPTIONS, SPACES

    if as_json:
        _print_json([{"name": n, "description": DESCRIPTIONS[n], "levers": sorted(SPACES[n])} for n in sorted(SPACES)])
        return
    for name in sorted(SPACES):
        typer.echo(f"{name:10} {DESCRIPTIONS[name]}")


@spaces_app.command("show")
def spaces_show(name: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One named search space, lever by lever."""

    def body() -> None:
        from domaintune.search_spaces import get_space
        from domaintune.strategy import lever_levels

        spec = get_space(name).spec()
        if as_json:
            _print_json(spec)
            return
        levels = lever_levels()
        for lever, value in spec.items():
            typer.echo(f"{lever:22} {levels[lever]:6} {value}")

    _guarded(body)


@model_app.command("prepare")
def model_prepare(
    name: str = typer.Argument("smollm2-135m-instruct", help="Built-in model name."),
    cache_dir: Optional[str] = typer.Option(None, help="Cache folder (default $DOMAINTUNE_CACHE or ~/.cache/domaintune)."),
) -> None:
    """Convert a built-in model to a cached safetensors copy once (about 30 s)."""
    from domaintune.models import prepare_model

    typer.echo(_guarded(lambda: prepare_model(name, cache_dir)))
