"""The Elements database (public domain): short factual questions about the chemical elements.

A different task shape from the glossaries: a question asks one fact (a symbol, an atomic
number, a group, a year of discovery) and its four options are short values of the same kind.
The knowledge corpus is the database itself, one passage per element, so it holds every answer:
this is the domain where retrieval should beat what a small model remembers.
"""

from __future__ import annotations

import random
import re
from typing import Any

from domaintune.domains._dictd import read_dictd

BUILDER_VERSION = "1"
SEED = 20261128
LICENCE = "public domain"
SOURCE = "The Elements database 20001107 (Jay F. Kominek), Debian package dict-elements"
N_OPTIONS = 4
SPLIT_FRACTIONS = {"train": 0.3, "validation": 0.4, "test": 0.3}

FACT = re.compile(r"(Symbol|Atomic number|Atomic weight):\s*(\S*)")
# What each kind of question asks, and which element field answers it.
ASKS = {
    "symbol": ("Which chemical element has the symbol {symbol}?", "name"),
    "name_symbol": ("What is the chemical symbol of {name}?", "symbol"),
    "number": ("Which chemical element has atomic number {number}?", "name"),
    "name_number": ("What is the atomic number of {name}?", "number"),
    "weight": ("Which chemical element has an atomic weight of about {weight}?", "name"),
    "group": ("Which group of the periodic table does {name} belong to?", "group"),
    "year": ("In which year was {name} discovered?", "year"),
}


def elements() -> list[dict[str, str]]:
    """One record per element (name, symbol, number, weight, group, year, text), by atomic number."""
    out: dict[str, dict[str, str]] = {}
    for _, text in read_dictd("elements"):
        lines = [line.strip() for line in text.strip().split("\n")]
        facts = [FACT.match(line) for line in lines]
        fields = {m.group(1): m.group(2) for m in facts if m}
        if not lines or not {"Symbol", "Atomic number", "Atomic weight"} <= set(fields):
            continue
        name = lines[0].lower()
        prose = " ".join(line for line, fact in zip(lines[1:], facts[1:]) if not fact)
        prose = re.sub(r"\s+", " ", prose).strip()
        record = {"name": name, "symbol": fields["Symbol"], "number": fields["Atomic number"], "text": prose,
                  "weight": _rounded(fields["Atomic weight"]), "stated_weight": fields["Atomic weight"], "group": "", "year": ""}
        group = re.search(r"\bgroup (\d{1,2})\b", prose, re.IGNORECASE)
        if group and 1 <= int(group.group(1)) <= 18:
            record["group"] = f"group {int(group.group(1))}"
        found = re.search(r"\b(?:discovered|isolated|identified|first made|first produced|synthesi[sz]ed)\b[^.]*?\b(1[6-9]\d\d|20[0-2]\d)\b"
                          r"|\b(1[6-9]\d\d|20[0-2]\d)\b[^.]*?\b(?:discovered|isolated|identified)\b", prose, re.IGNORECASE)
        if found:
            record["year"] = found.group(1) or found.group(2)
        out.setdefault(name, record)  # the index lists an entry under several headwords
    return sorted(out.values(), key=lambda r: int(r["number"]) if r["number"].isdigit() else 10_000)


def _rounded(weight: str) -> str:
    """An atomic weight as a question states it: one decimal (the database's precision varies);
    "" for an estimate such as ``(272)?``, which no question asks."""
    try:
        return f"{float(weight):.1f}"
    except ValueError:
        return ""


def passages(records: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The knowledge corpus: each element's whole entry, the facts first."""
    return [
        {"id": f"elements:{r['name']}", "title": r["name"],
         "text": f"{r['name']}. Symbol: {r['symbol']}. Atomic number: {r['number']}. Atomic weight: {r['stated_weight']}. {r['text']}".strip()}
        for r in records
    ]


def questions(records: list[dict[str, str]], seed: int = SEED) -> list[dict[str, Any]]:
    """Every question the records can ask unambiguously, with three distractors of the same kind
    (other elements' values): a question whose asked value two elements share (a rounded weight)
    is left out, as is one whose answer the entry does not give (a group, a year)."""
    rng = random.Random(seed)
    rows = []
    for kind, (template, answer_field) in ASKS.items():
        asked_field = re.search(r"\{(\w+)\}", template).group(1)
        counts: dict[str, int] = {}
        for r in records:
            counts[r[asked_field]] = counts.get(r[asked_field], 0) + 1
        values = sorted({r[answer_field] for r in records if r[answer_field]})
        for r in records:
            if not r[answer_field] or not r[asked_field] or counts[r[asked_field]] > 1:
                continue  # missing, or the asked value points at two elements
            distractors = rng.sample([v for v in values if v != r[answer_field]], N_OPTIONS - 1)
            options = distractors + [r[answer_field]]
            rng.shuffle(options)
            rows.append({"question": template.format(**r), "options": options, "answer": options.index(r[answer_field]),
                         "kind": kind, "element": r["name"]})
    return rows


def splits(rows: list[dict[str, Any]], seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """Seeded split by question (an element is asked different things in different splits)."""
    order = list(rows)
    random.Random(seed).shuffle(order)
    n = len(order)
    cut1 = round(n * SPLIT_FRACTIONS["train"])
    cut2 = cut1 + round(n * SPLIT_FRACTIONS["validation"])
    parts = {"train": order[:cut1], "validation": order[cut1:cut2], "test": order[cut2:]}
    return {split: [{"id": f"{split}-{i:05d}", **row} for i, row in enumerate(part)] for split, part in parts.items()}
