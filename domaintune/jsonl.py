"""Reading JSON Lines: one object per non-blank line, errors that name the file and the row."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from domaintune.errors import ConfigError


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
