"""The Jargon File (dict-jargon, public domain) as a term -> definition multiple-choice domain."""

from __future__ import annotations

import re

from domaintune.domains._dictd import read_dictd
from domaintune.domains._domain import Domain
from domaintune.domains._glossary import mask_term, multiple_choice_splits, truncate_words

NAME = "jargon"
BUILDER_VERSION = "1"
SEED = 20261126
MAX_WORDS = 25
MIN_WORDS = 5

_PRONUNCIATION_OR_POS = re.compile(r"^(/[^/]*/,?\s*)?((n|v|vt|vi|adj|adv|interj|prep|pron|conj|excl|obs)\.\s*)*")
_SENSE_START = re.compile(r"^\s*1\.\s*")
_NEXT_SENSE = re.compile(r"\s2\.\s")
_LEADING_BRACKETS = re.compile(r"^(\[[^\]]*\]\.?\s*)+")
_POS = re.compile(r"^((n|v|vt|vi|adj|adv|interj|prep|pron|conj|excl|obs)\.,?\s*)+")
_CROSS_REF = re.compile(r"\{([^}]*)\}")


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
    body = _CROSS_REF.sub(lambda m: m.group(1).strip(), body)
    body = re.sub(r"\s+", " ", body).strip()
    if not body or body.lower().startswith(("see ", "syn.", "= ")):
        return None
    body = mask_term(headword, truncate_words(body, MAX_WORDS))
    if len(body.split()) < MIN_WORDS:
        return None
    return body


def build() -> Domain:
    glossary = []
    for headword, text in read_dictd("jargon"):
        definition = clean_entry(headword, text)
        if definition is not None:
            glossary.append((headword, definition))
    return Domain(
        name=NAME,
        title="The Jargon File (hacker slang)",
        task="multiple_choice",
        splits=multiple_choice_splits(glossary, seed=SEED),
        licence="public domain",
        source="The Jargon File 4.4.7, Debian package dict-jargon (/usr/share/dictd/jargon.dict.dz)",
        seed=SEED,
        builder_version=BUILDER_VERSION,
        description="Which definition fits this hacker-jargon term? 4 options, distractors from the same split.",
    )
