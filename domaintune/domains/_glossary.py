"""Turn a glossary (term, definition) into multiple-choice splits, disjoint by term."""

from __future__ import annotations

import random
import re
from typing import Any

N_OPTIONS = 4
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


def multiple_choice_splits(
    glossary: list[tuple[str, str]], seed: int, n_options: int = N_OPTIONS
) -> dict[str, list[dict[str, Any]]]:
    """Split terms by seed; each question's distractors come from its own split only.

    Drawing distractors from the same split means a model fine-tuned on the training
    split cannot eliminate options just because it memorised their training terms.
    """
    rng = random.Random(seed)
    # One term per definition text: a shared definition (synonyms, masked look-alikes) would make
    # a question ambiguous or put a training answer among another split's options.
    by_definition: dict[str, str] = {}
    for term, definition in sorted(dict(glossary).items()):
        by_definition.setdefault(definition, term)
    entries = sorted((term, definition) for definition, term in by_definition.items())
    rng.shuffle(entries)
    splits: dict[str, list[dict[str, Any]]] = {}
    start = 0
    names = list(SPLIT_FRACTIONS)
    for position, split in enumerate(names):
        stop = len(entries) if position == len(names) - 1 else start + round(SPLIT_FRACTIONS[split] * len(entries))
        chunk = entries[start:stop]
        start = stop
        definitions = [definition for _, definition in chunk]
        rows = []
        for index, (term, definition) in enumerate(chunk):
            pool = [d for j, d in enumerate(definitions) if j != index and d != definition]
            options = rng.sample(pool, n_options - 1) + [definition]
            rng.shuffle(options)
            rows.append(
                {
                    "id": f"{split}-{index:05d}",
                    "term": term,
                    "definition": definition,
                    "options": options,
                    "answer": options.index(definition),
                }
            )
        splits[split] = rows
    return splits
