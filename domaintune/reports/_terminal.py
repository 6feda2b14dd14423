"""Terminal output: tables for sweep results and listings (rich)."""

from __future__ import annotations

import shutil


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    # Piped output gets a wide table rather than rich's 80-column default.
    Console(width=max(120, shutil.get_terminal_size((160, 24)).columns)).print(table)
