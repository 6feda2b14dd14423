"""FreeDict bilingual dictionaries (Debian ``dict-freedict-*``): headword -> its translation.

A task shape the glossaries lack: the "definition" is a one-to-three word translation in
another language (German, or Russian in Cyrillic script), so options and questions are short,
the tokenizer splits non-English text into many pieces, and what the base model knows of the
other language decides the score. German -> English gets its knowledge corpus from the
*reverse* dictionary (English -> German), a separate source whose entries do contain most
answers, so retrieval has something to find.
"""

from __future__ import annotations

import re

from domaintune.domains._dictd import read_dictd

BUILDER_VERSION = "1"
SEED = 20261128
LICENCE = "GPL-2.0-or-later (FreeDict)"
SOURCES = {
    "deu-eng": "FreeDict German-English, Debian package dict-freedict-deu-eng",
    "eng-rus": "FreeDict English-Russian, Debian package dict-freedict-eng-rus",
    "eng-deu": "FreeDict English-German, Debian package dict-freedict-eng-deu",
}
SOURCE = SOURCES["deu-eng"]  # make_domain reads module.SOURCE; pairs() callers set their own

_PRONUNCIATION = re.compile(r"\s*/[^/]*/")
_TAGS = re.compile(r"<[^>]*>|\[[^\]]*\]|\([^)]*\)")
_WORD = re.compile(r"^[^\W\d_][\w'\- .]*$", re.UNICODE)


def _clean(text: str) -> str:
    text = _TAGS.sub("", _PRONUNCIATION.sub("", text))
    return re.sub(r"\s+", " ", text).strip(" ,;.")


def translations(name: str) -> list[tuple[str, str]]:
    """(headword, first translation) of dictionary ``freedict-<name>``: one word or a short phrase
    on each side, the same headword only once, a translation equal to the headword dropped."""
    out: dict[str, tuple[str, str]] = {}
    for _, text in read_dictd(f"freedict-{name}"):
        lines = [line for line in text.split("\n") if line.strip()]
        if len(lines) < 2:
            continue
        head = _clean(lines[0])
        first = _clean(re.split(r"[,;]", lines[1])[0])
        if not head or not first or head.lower() == first.lower() or head.lower() in out:
            continue
        if not (_WORD.match(head) and _WORD.match(first)) or len(head.split()) > 3 or len(first.split()) > 3:
            continue
        out[head.lower()] = (head, first)
    return sorted(out.values())


def reverse_passages(name: str, answers: set[str]) -> dict[str, str]:
    """Passages of the reverse dictionary keyed by their headword: 'house: Haus, Gebäude' (only
    entries that mention one of ``answers``, to keep the corpus small)."""
    out: dict[str, str] = {}
    for headword, text in read_dictd(f"freedict-{name}"):
        lines = [line for line in text.split("\n") if line.strip()]
        if len(lines) < 2:
            continue
        body = _clean(" ".join(lines[1:3]))
        words = {w.lower() for w in re.findall(r"[^\W\d_][\w\-]*", body)}
        if words & answers:
            out.setdefault(headword.lower(), f"{_clean(lines[0])}: {body}")
    return out
