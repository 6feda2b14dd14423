"""Text classification domains: label a text with one of a fixed set of classes.

Stored as ``multiple_choice`` rows whose options are the class names, in the same order on
every row, so every runner and strategy scores them unchanged. Splits are stratified (each
split holds the same number of texts of every class, so chance is 1/k in every split), a text
sits in one split only, and a text found under two classes is dropped (its label would be a
coin toss). The knowledge corpus is the source's *other* labelled entries (never a split's
text), so retrieval brings labelled neighbours, as a nearest-neighbour classifier would.
"""

from __future__ import annotations

import random
from typing import Any

from domaintune.domains._domain import Domain

FAMILY = "classification"
SPLIT_FRACTIONS = {"train": 0.4, "validation": 0.3, "test": 0.3}

# labelled texts: class name -> [(headword, text)]; the headword is provenance, never shown
Labelled = dict[str, list[tuple[str, str]]]

SOURCE_NOTE = """# {title}

- family: text classification ({n_classes} classes, chance {chance:.1%}): {classes}
- source: {source}
- licence: {licence}
- builder: `domaintune/domains/builders/classification.py` version {builder_version}, seed {seed}
- fingerprint: {fingerprint}
- sizes: {sizes} (every split balanced over the classes); knowledge corpus: {corpus_passages}
  other labelled entries of the source, none of them a split's text
- texts available per class before capping: {available}

Rebuild with the Debian dictionary packages installed: `domaintune domains build {name}`;
the fingerprint must come out the same.
"""


def _key(text: str) -> str:
    return text.strip().lower()  # how check_disjoint compares questions


def unambiguous(labelled: Labelled) -> Labelled:
    """Each text once: duplicates within a class collapse, a text under two classes is dropped."""
    classes_of: dict[str, set[str]] = {}
    for label, entries in labelled.items():
        for _, text in entries:
            classes_of.setdefault(_key(text), set()).add(label)
    out: Labelled = {}
    for label, entries in labelled.items():
        seen: set[str] = set()
        kept = []
        for headword, text in sorted(entries):
            key = _key(text)
            if len(classes_of[key]) == 1 and key not in seen:
                seen.add(key)
                kept.append((headword, text))
        out[label] = kept
    return out


def classification_splits(
    labelled: Labelled, classes: list[str], per_class: int, seed: int
) -> tuple[dict[str, list[dict[str, Any]]], Labelled]:
    """Stratified, seeded splits of ``per_class`` texts of each class, and the texts left over."""
    rng = random.Random(seed)
    clean = unambiguous(labelled)
    short = {label: len(clean.get(label, [])) for label in classes if len(clean.get(label, [])) < per_class}
    if short:
        raise ValueError(f"classes with fewer than {per_class} distinct texts: {short}")
    counts = {split: round(fraction * per_class) for split, fraction in SPLIT_FRACTIONS.items()}
    counts["test"] = per_class - counts["train"] - counts["validation"]
    parts: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLIT_FRACTIONS}
    leftovers: Labelled = {}
    for answer, label in enumerate(classes):
        chosen = rng.sample(clean[label], per_class)
        taken = set(chosen)
        leftovers[label] = [entry for entry in clean[label] if entry not in taken]
        start = 0
        for split, count in counts.items():
            for headword, text in chosen[start : start + count]:
                parts[split].append({"question": text, "options": list(classes), "answer": answer, "headword": headword})
            start += count
    splits = {}
    for split, rows in parts.items():
        rng.shuffle(rows)
        splits[split] = [{"id": f"{split}-{i:05d}", **row} for i, row in enumerate(rows)]
    return splits, leftovers


def classification_corpus(
    leftovers: Labelled, classes: list[str], splits: dict[str, list[dict[str, Any]]], per_class: int, seed: int, label: str
) -> list[dict[str, Any]]:
    """Up to ``per_class`` leftover entries of each class as ``headword (class): text`` passages;
    an entry whose headword a validation or test row comes from is left out (another sense of
    the same word would all but name the scored row's class)."""
    rng = random.Random(seed)
    scored = {row["headword"].lower() for split in ("validation", "test") for row in splits[split]}
    passages = []
    for name in classes:
        entries = [(h, t) for h, t in leftovers[name] if h.lower() not in scored]
        for headword, text in sorted(rng.sample(entries, min(per_class, len(entries)))):
            passages.append({"id": f"{label}:{name}:{headword}", "title": f"{headword} ({name})", "text": text})
    return passages


def make_classification_domain(
    name: str,
    title: str,
    description: str,
    labelled: Labelled,
    per_class: int,
    provenance: dict[str, str],
    corpus_per_class: int = 300,
) -> Domain:
    """A classification domain over ``labelled``'s classes (in its key order).

    ``provenance`` holds ``licence``, ``source``, ``seed``, ``builder_version`` and ``corpus_source``.
    """
    classes = list(labelled)
    seed = int(provenance["seed"])
    splits, leftovers = classification_splits(labelled, classes, per_class, seed)
    corpus = classification_corpus(leftovers, classes, splits, corpus_per_class, seed, provenance["corpus_source"])
    available = {label: len(entries) for label, entries in unambiguous(labelled).items()}
    stats = {
        "family": FAMILY,
        "classes": classes,
        "chance": round(1 / len(classes), 4),
        "per_class_in_each_split": {split: len(rows) // len(classes) for split, rows in splits.items()},
        "available_per_class": available,
        "corpus_source": provenance["corpus_source"],
        "corpus_passages_per_class": {c: sum(p["id"].split(":")[1] == c for p in corpus) for c in classes},
    }
    return Domain(
        name=name,
        title=title,
        task="multiple_choice",
        splits=splits,
        licence=provenance["licence"],
        source=provenance["source"],
        seed=seed,
        builder_version=provenance["builder_version"],
        description=f"Text classification ({len(classes)} classes: {', '.join(classes)}). {description}",
        corpus=corpus,
        stats=stats,
        family=FAMILY,
    )


def source_note(domain: Domain) -> str:
    """SOURCE.md of a classification domain."""
    classes = domain.stats["classes"]
    return SOURCE_NOTE.format(
        **domain.summary(), n_classes=len(classes), chance=1 / len(classes), classes=", ".join(classes),
        available=domain.stats["available_per_class"],
    )
