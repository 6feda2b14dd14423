"""Read dictd databases (``/usr/share/dictd/NAME.index`` + ``NAME.dict.dz``)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

DICTD_DIR = Path("/usr/share/dictd")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(text: str) -> int:
    value = 0
    for char in text:
        value = value * 64 + _B64.index(char)
    return value


def read_dictd(name: str, directory: Path = DICTD_DIR) -> Iterator[tuple[str, str]]:
    """Yield ``(headword, entry text)`` in index order, skipping database metadata."""
    index = directory / f"{name}.index"
    data = directory / f"{name}.dict.dz"
    if not index.exists() or not data.exists():
        raise FileNotFoundError(
            f"dictd database {name!r} not found in {directory}: "
            f"install it with `apt-get install dict-{name}`"
        )
    # dictzip is gzip-compatible; the whole database fits in memory comfortably.
    blob = gzip.open(data).read()
    with index.open(encoding="utf-8") as lines:
        for line in lines:
            headword, offset, length = line.rstrip("\n").split("\t")[:3]
            if headword.startswith("00"):
                continue
            start = _b64(offset)
            raw = blob[start : start + _b64(length)]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                # A few GCIDE entries carry Windows-1252 punctuation.
                text = raw.decode("cp1252", errors="replace")
            yield headword, text
