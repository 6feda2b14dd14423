"""Results pages under docs/results/: a script writes below the page's mark and keeps the card
(question, command, sample) and notes that people wrote above it, dated anew."""

from __future__ import annotations

import datetime
import os
import platform
import re
from pathlib import Path

PAGE_MARK = "<!-- the command named above writes everything below this line and keeps the lines above it -->"


def write_result_page(path: str | Path, body: str) -> None:
    """Write ``body`` below ``path``'s mark (the whole file when it has none, as a new page)."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    if PAGE_MARK not in old:
        path.write_text(body)
        return
    stamp = f"**Date and machine.** {datetime.date.today()}, {platform.machine()} with {os.cpu_count()} CPUs, Python {platform.python_version()}."
    head = re.sub(r"^\*\*Date and machine\.\*\*.*$", stamp, old[: old.index(PAGE_MARK)], flags=re.M)
    # The page's own title stands above the mark: the body's title becomes a section.
    path.write_text(f"{head}{PAGE_MARK}\n\n" + ("#" + body if body.startswith("# ") else body))
