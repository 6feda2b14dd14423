"""GCIDE (1913 Webster + additions, GPL-2+) subject labels as domains: one per field label.

A sense or sub-entry carries labels such as ``(Law)`` or ``(Med. & Surg.)``; the first label
picks the domain. About 5% of extracted senses are noisy (the dictionary's markup is loose).
"""

from __future__ import annotations

import re
from collections import defaultdict

from domaintune.domains._dictd import read_dictd
from domaintune.domains._glossary import clean_definition

BUILDER_VERSION = "1"
SEED = 20261126
LICENCE = "GPL-2.0-or-later"
SOURCE = "GCIDE 0.53 (1913 Webster's + additions), Debian package dict-gcide"
MAX_ENTRIES = 2400  # keeps the biggest fields (zoology, botany) to a shippable size

# label -> (domain suffix, title)
FIELDS = {
    "Zool": ("zoology", "zoology"),
    "Bot": ("botany", "botany"),
    "Naut": ("nautical", "seafaring and ships"),
    "Law": ("law", "law"),
    "Mus": ("music", "music"),
    "Arch": ("architecture", "architecture"),
    "Med": ("medicine", "medicine"),
    "Mil": ("military", "military science"),
    "Chem": ("chemistry", "chemistry"),
    "Math": ("mathematics", "mathematics"),
    "Astron": ("astronomy", "astronomy"),
    "Mining": ("mining", "mining"),
    "Mach": ("mechanics", "mechanics and machinery"),
    "Mech": ("mechanics", "mechanics and machinery"),
    "Anat": ("anatomy", "anatomy"),
    "Print": ("printing", "printing"),
    "Biol": ("biology", "biology"),
    "Her": ("heraldry", "heraldry"),
    "Elec": ("electricity", "electricity"),
    "Geom": ("mathematics", "mathematics"),
    "Geol": ("geology", "geology"),
    "Gram": ("grammar", "grammar"),
    "Eccl": ("church", "the church and ecclesiastical matters"),
    "Physics": ("physics", "physics"),
    "Logic": ("logic", "logic"),
    "Min": ("mineralogy", "mineralogy"),
    "Surg": ("medicine", "medicine"),
    "Paleon": ("paleontology", "paleontology"),
    "Physiol": ("physiology", "physiology"),
}

_LABELS = r"\(((?:[A-Z][a-z]+\.?(?:\s*(?:&|,)\s*)?)+)\)"
_SENSE = re.compile(r"^\s*(?:\d+\.\s*)?(?:\([a-z]\)\s*)?" + _LABELS + r"\s*(.*)$", re.S)
_SUBENTRY = re.compile(r"^\s*\{([^}]+)\}(?:,\s*\{[^}]+\})*,?\s*" + _LABELS + r",?\s*(.*)$", re.S)
_HEAD = re.compile(r"^([^\\\n]+?)\s*\\")
# What precedes the first sense in an entry's head block: pronunciation, part of speech, etymology.
_HEAD_BLOCK = re.compile(r"^[^\\\n]+\\[^\\]*\\,?\s*(?:[a-z][a-z. &]*\.,?\s*)?(?:\[[^\]]*\]\.?\s*)?", re.S)


def _term(text: str) -> str:
    return re.sub(r"[\"*`]", "", text).strip()


def _labels(labels: str) -> list[str]:
    """All field labels of a sense: ``(Med. & Surg.)`` belongs to both fields."""
    return [label.strip(" .") for label in re.split(r"[&,]", labels)]


def _sense_text(text: str) -> str:
    # The sense ends at its source tag ([1913 Webster]) or a quotation block.
    text = re.split(r"\[(?:1913 Webster|Webster 1913|PJC|Century|Chambers|WordNet)", text)[0]
    text = re.split(r"\n\s{10,}\S", text)[0]  # senses wrap at 6 spaces, quotations sit at 12
    return re.sub(r"^\([a-z]\)\s*", "", " ".join(text.split()))


def glossaries() -> dict[str, list[tuple[str, str]]]:
    """Field -> [(term, definition)], the first sense per term and field, cleaned."""
    seen_entries: set[int] = set()
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for _, text in read_dictd("gcide"):
        key = hash(text)
        if key in seen_entries:  # many index headwords point into the same entry
            continue
        seen_entries.add(key)
        head = _HEAD.match(text)
        if not head:
            continue
        entry_term = _term(head.group(1))
        blocks = re.split(r"\n\s*\n", text)
        blocks[0] = _HEAD_BLOCK.sub("", blocks[0], count=1)
        for block in blocks:
            sub = _SUBENTRY.match(block)
            if sub:
                term, labels, body = _term(sub.group(1)), _labels(sub.group(2)), sub.group(3)
            else:
                sense = _SENSE.match(block)
                if not sense:
                    continue
                term, labels, body = entry_term, _labels(sense.group(1)), sense.group(2)
            fields = [FIELDS[label][0] for label in labels if label in FIELDS]
            if not fields or len(term) < 2:
                continue
            definition = clean_definition(term, _sense_text(body))
            if definition:
                for field in fields:
                    out[field].setdefault(term.lower(), definition)
    return {label: sorted(entries.items()) for label, entries in out.items()}


def first_senses() -> dict[str, str]:
    """Every GCIDE headword -> its first sense, any subject (a knowledge corpus for other sources)."""
    out: dict[str, str] = {}
    for _, text in read_dictd("gcide"):
        head = _HEAD.match(text)
        if not head:
            continue
        term = _term(head.group(1)).lower()
        if term in out:
            continue
        blocks = re.split(r"\n\s*\n", text)
        blocks[0] = _HEAD_BLOCK.sub("", blocks[0], count=1)
        for block in blocks:
            body = _sense_text(re.sub(r"^\s*\d+\.\s*", "", block))
            if len(body.split()) >= 3:
                out[term] = body
                break
    return out
