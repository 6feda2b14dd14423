"""Errors that name what is wrong and where; the CLI prints them without a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


class DomaintuneError(Exception):
    """Base class: a user-facing error with a message that names the file, key or value."""


class ConfigError(DomaintuneError, ValueError):
    """A sweep config or strategy value is invalid."""


class DomainError(DomaintuneError, ValueError):
    """A domain's files or rows are invalid."""


class TrackingError(DomaintuneError, RuntimeError):
    """The MLflow tracking store cannot be reached or used."""

def json_objects(lines: Iterable[str], where: str, error: type[Exception] = ConfigError) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, object) for every non-blank line; a line that is not a JSON object raises
    ``error`` naming ``where`` (the file) and the row (its line number)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as problem:
            raise error(f"{where}: row {number}: not valid JSON ({problem.msg})") from None
        if not isinstance(row, dict):
            raise error(f"{where}: row {number}: expected a JSON object")
        yield number, row
