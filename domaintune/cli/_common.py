"""What every command shares: the error-handling decorator, the exit codes, JSON printing."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from domaintune.errors import ConfigError, DomainError, DomaintuneError

EXIT_FAILURE, EXIT_USAGE, EXIT_BUSY, EXIT_INTERRUPTED = 1, 2, 3, 130

F = TypeVar("F", bound=Callable[..., Any])


def guarded(command: F) -> F:
    """Turn our errors into a one-paragraph message and an exit code (typer sees the same signature)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ConfigError, DomainError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except DomaintuneError as error:
            from domaintune.sweep import SweepBusyError

            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(EXIT_BUSY if isinstance(error, SweepBusyError) else EXIT_FAILURE) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: open MLflow runs were marked KILLED", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return run  # type: ignore[return-value]


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))

