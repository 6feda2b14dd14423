"""Turn a glossary (term, definition) into multiple-choice splits, disjoint by term."""

from __future__ import annotations

import random
import re
from typing import Any

N_OPTIONS = 4
MIN_WORDS = 4
SPLIT_FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}


def mask_term(term: str, text: str) -> str:
    """Hide the term (and its simple inflections) inside a definition so it cannot give the answer away."""
    pattern = re.compile(r"\b" + re.escape(term) + r"(s|es|ed|ing)?\b", re.IGNORECASE)
    return pattern.sub("___", text)


def truncate_words(text: str, max_words: int) -> str:
    """Cut at the end of the sentence that crosses max_words, or hard at max_words."""
    words = text.split()
    if len(words) <= max_words:
        return text
    cut = " ".join(words[:max_words])
    end = max(cut.rfind(". "), cut.rfind("; "))
    if end > len(cut) // 2:
        return cut[: end + 1]
    return cut.rstrip(",;:") + " ..."


def unique_entries(glossary: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One term per definition text, sorted: a shared definition (synonyms, masked look-alikes)
    would make a question ambiguous or put one split's answer among another split's options."""
    by_definition: dict[str, str] = {}
    for term, definition in sorted(dict(glossary).items()):
        by_definition.setdefault(definition, term)
    return sorted((term, definition) for definition, term in by_definition.items())


def glossary_rows(
    entries: list[tuple[str, str]],
    split: str,
    rng: random.Random,
    n_options: int = N_OPTIONS,
    neighbours: list[list[int]] | None = None,
) -> list[dict[str, Any]]:
    """Multiple-choice rows for one split; distractors come from the same split only.

    Drawing distractors from the same split means a model fine-tuned on the training split
    cannot eliminate options just because it memorised their training terms. A row's
    ``option_terms`` are the terms of its ``options``, which gives the definition -> term view
    the same distractors. ``neighbours[i]`` (most similar first) picks hard distractors.
    """
    if len(entries) < n_options:
        raise ValueError(f"split {split!r} has {len(entries)} entries; {n_options} options need at least {n_options}")
    rows = []
    for index, (term, definition) in enumerate(entries):
        if neighbours is not None:
            others = [j for j in neighbours[index] if j != index][: n_options - 1]
        else:
            others = rng.sample([j for j in range(len(entries)) if j != index], n_options - 1)
        chosen = others + [index]
        rng.shuffle(chosen)
        rows.append(
            {
                "id": f"{split}-{index:05d}",
                "term": term,
                "definition": definition,
                "options": [entries[j][1] for j in chosen],
                "option_terms": [entries[j][0] for j in chosen],
                "answer": chosen.index(index),
            }
        )
    return rows


def glossary_splits(
    glossary: list[tuple[str, str]], seed: int, n_options: int = N_OPTIONS
) -> dict[str, list[dict[str, Any]]]:
    """Split a glossary's terms by seed (60/20/20) into multiple-choice glossary rows."""
    rng = random.Random(seed)
    entries = unique_entries(glossary)
    rng.shuffle(entries)
    splits: dict[str, list[dict[str, Any]]] = {}
    start = 0
    names = list(SPLIT_FRACTIONS)
    for position, split in enumerate(names):
        stop = len(entries) if position == len(names) - 1 else start + round(SPLIT_FRACTIONS[split] * len(entries))
        splits[split] = glossary_rows(entries[start:stop], split, rng, n_options)
        start = stop
    return splits


_BRACES = re.compile(r"\{([^}]*)\}")


def clean_definition(term: str, text: str, max_words: int = 25, min_words: int = MIN_WORDS) -> str | None:
    """Unwrap cross-references, collapse space, cut, mask the term; None when too short or a pointer."""
    text = re.sub(r"\[(ae|oe|AE|OE)\]", r"\1", text)  # GCIDE writes ligatures as Ratit[ae]
    text = _BRACES.sub(lambda m: m.group(1).strip(), text)
    text = re.sub(r"\[[^\]]*\]|--[A-Z][\w.]*", "", text)  # editorial notes, source tags
    text = text.replace("{", "").replace("}", "")  # braces left unbalanced by a cut
    text = re.sub(r"\s+", " ", text).strip(" ;,")
    text = re.sub(r"^(\d+\.|\([a-z0-9]\))\s*", "", text)  # a leftover sense number
    if not text or text.lower().startswith(("see ", "same as ", "syn.", "= ", "q.v.")) or "see under" in text.lower():
        return None
    text = mask_term(term, truncate_words(text, max_words))
    if len(text.split()) < min_words or text.count("___") > 2:
        return None
    return text
