"""What a sweep is built from: ``spaces list``, ``spaces show`` and ``model prepare``."""

from __future__ import annotations

from typing import Optional

import typer

from domaintune.cli._common import guarded, print_json


def spaces_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Named search spaces."""
    from domaintune.search_spaces import DESCRIPTIONS, SPACES

    if as_json:
        print_json([{"name": n, "description": DESCRIPTIONS[n], "levers": sorted(SPACES[n])} for n in sorted(SPACES)])
        return
    for name in sorted(SPACES):
        typer.echo(f"{name:10} {DESCRIPTIONS[name]}")


@guarded
def spaces_show(name: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One named search space, lever by lever."""
    from domaintune.search_spaces import get_space
    from domaintune.strategy import lever_levels

    spec = get_space(name).spec()
    if as_json:
        print_json(spec)
        return
    levels = lever_levels()
    for lever, value in spec.items():
        typer.echo(f"{lever:22} {levels[lever]:6} {value}")


@guarded
def model_prepare(
    name: str = typer.Argument("smollm2-135m-instruct", help="Built-in model name."),
    cache_dir: Optional[str] = typer.Option(None, help="Cache folder (default $DOMAINTUNE_CACHE or ~/.cache/domaintune)."),
) -> None:
    """Convert a built-in model to a cached safetensors copy once (about 30 s)."""
    from domaintune.lm import prepare_model

    typer.echo(prepare_model(name, cache_dir))
