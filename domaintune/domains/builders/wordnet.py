"""WordNet 3.0 (dict-wn): general English nouns, the out-of-domain control."""

from __future__ import annotations

import re

from domaintune.domains._dictd import read_dictd
from domaintune.domains._glossary import clean_definition

BUILDER_VERSION = "1"
SEED = 20261126
LICENCE = "WordNet 3.0 licence (BSD-style)"
SOURCE = "WordNet 3.0, Debian package dict-wn"


def first_glosses(pos: str = "n") -> dict[str, str]:
    """Headword -> raw gloss of its first sense in part of speech ``pos`` (examples and synonyms cut).

    ``pos="any"`` takes the first sense of whatever part of speech comes first.
    """
    tag = r"(?:n|v|adj|adv)" if pos == "any" else pos
    pattern = re.compile(rf"^\s*{tag}\s+(?:1:\s*)?(.*?)(?=\n\s*(?:\d+:|adj\b|v\b|adv\b|n\b)|\Z)", re.S | re.M)
    out: dict[str, str] = {}
    for headword, text in read_dictd("wn"):
        body = text.split("\n", 1)[1] if "\n" in text else ""
        match = pattern.search(body)
        if not match:
            continue
        gloss = match.group(1)
        gloss = re.split(r"\[syn:|\[ant:|\[also:", gloss)[0]
        gloss = re.split(r';\s*"', gloss)[0]  # examples follow as quoted text
        out.setdefault(headword.lower(), " ".join(gloss.split()))
    return out


def glossary() -> list[tuple[str, str]]:
    out = []
    for term, gloss in sorted(first_glosses("n").items()):
        definition = clean_definition(term, gloss)
        if definition and term.isascii() and not term[0].isdigit():
            out.append((term, definition))
    return out
