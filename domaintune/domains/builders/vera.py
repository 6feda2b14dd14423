"""V.E.R.A. (Virtual Entity of Relevant Acronyms, GFDL): computing acronym -> expansion.

A different task shape from the definition glossaries: short options, and the question is
an opaque string, so it tests recall of names rather than understanding of a gloss.
"""

from __future__ import annotations

import re

from domaintune.domains._dictd import read_dictd

BUILDER_VERSION = "1"
SEED = 20261126
LICENCE = "GFDL-1.3-or-later"
SOURCE = "V.E.R.A. 1.24, Debian package dict-vera"


def glossary() -> list[tuple[str, str]]:
    """(acronym, expansion), the first expansion of each acronym."""
    out: dict[str, str] = {}
    for headword, text in read_dictd("vera"):
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        if len(lines) < 2:
            continue
        acronym, expansion = lines[0], " ".join(lines[1:])
        expansion = re.sub(r"\s+", " ", expansion).strip()
        if len(expansion.split()) < 2 or acronym.lower() in out:
            continue
        out[acronym.lower()] = expansion
    return sorted(out.items())
