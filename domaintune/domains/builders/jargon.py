"""The Jargon File (dict-jargon, public domain) as a term -> definition multiple-choice domain."""

from __future__ import annotations

import re

from domaintune.domains._dictd import read_dictd
from domaintune.domains._glossary import clean_definition

LICENCE = "public domain"
SOURCE = "The Jargon File 4.4.7, Debian package dict-jargon"
BUILDER_VERSION = "1"
SEED = 20261126
MAX_WORDS = 25

_PRONUNCIATION_OR_POS = re.compile(r"^(/[^/]*/,?\s*)?((n|v|vt|vi|adj|adv|interj|prep|pron|conj|excl|obs)\.\s*)*")
_SENSE_START = re.compile(r"^\s*1\.\s*")
_NEXT_SENSE = re.compile(r"\s2\.\s")
_LEADING_BRACKETS = re.compile(r"^(\[[^\]]*\]\.?\s*)+")
_POS = re.compile(r"^((n|v|vt|vi|adj|adv|interj|prep|pron|conj|excl|obs)\.,?\s*)+")


def clean_entry(headword: str, text: str) -> str | None:
    """First sense of an entry, cross-references unwrapped, the term masked; None if unusable."""
    lines = text.split("\n")
    if lines and lines[0].strip().lower() == headword.lower():
        lines = lines[1:]
    # The line after the headword holds pronunciation and part of speech only.
    if lines and _PRONUNCIATION_OR_POS.fullmatch(lines[0].strip()):
        lines = lines[1:]
    body = " ".join(line.strip() for line in lines).strip()
    body = _SENSE_START.sub("", body)
    body = _NEXT_SENSE.split(body)[0]
    body = _POS.sub("", body)
    body = _LEADING_BRACKETS.sub("", body)
    body = _POS.sub("", body)
    return clean_definition(headword, body, max_words=MAX_WORDS)


def glossary() -> list[tuple[str, str]]:
    out = []
    for headword, text in read_dictd("jargon"):
        definition = clean_entry(headword, text)
        if definition is not None:
            out.append((headword, definition))
    return out
