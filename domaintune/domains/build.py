"""Rebuild built-in domains from Debian packages: ``python -m domaintune.domains.build [NAME ...]``.

Needs ``apt-get install dict-jargon dict-foldoc dict-gcide dict-vera dict-wn dict-freedict-deu-eng
dict-freedict-eng-deu dict-freedict-eng-rus dict-elements``. Every domain is
rebuilt byte for byte: the same fingerprints as the shipped folders.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from domaintune.domains import BUILTIN_DIR, EVOLVING, Domain, build_release, save_domain
from domaintune.domains._glossary import glossary_splits
from domaintune.domains._classification import FAMILY as CLASSIFICATION, source_note
from domaintune.domains.builders import classification, elements, foldoc, freedict, gcide, jargon, vera, wordnet

MIN_ENTRIES = 300  # a domain needs this many clean entries to be worth comparing strategies on
MAX_ENTRIES = 2400  # larger glossaries are sampled down (seeded) to keep the repository small
# Built, measured, and dropped: a domain the base model answers at chance in every view (even
# with calibrated scoring) cannot tell strategies apart. See docs/results/domains.md.
DROPPED = {
    "gcide-botany": "zero-shot at chance in both views, with mean and calibrated scoring (docs/results/domains.md)",
}

SOURCE_NOTE = """# {title}

- source: {source}
- licence: {licence}
- builder: `domaintune/domains/builders/` version {builder_version}, seed {seed}
- fingerprint: {fingerprint}
- sizes: {sizes}; knowledge corpus: {corpus_passages} passages ({corpus_source})
- corpus coverage of test terms: {coverage}

Rebuild with the Debian dictionary packages installed: `domaintune domains build {name}`;
the fingerprint must come out the same.
"""


@cache
def _wordnet_any() -> dict[str, str]:
    return wordnet.first_glosses("any")


@cache
def _gcide_any() -> dict[str, str]:
    return gcide.first_senses()


@cache
def _gcide_fields() -> dict[str, list[tuple[str, str]]]:
    return gcide.glossaries()


@cache
def _foldoc_fields() -> dict[str, list[tuple[str, str]]]:
    return foldoc.glossaries()


def _corpus(terms: list[str], entries: dict[str, str], label: str) -> list[dict[str, Any]]:
    """Passages from another dictionary for each term and each of its words (never the answer's source)."""
    wanted: list[str] = []
    for term in terms:
        wanted.append(term)
        wanted.extend(w for w in re.findall(r"[a-z][a-z-]{3,}", term) if w != term)
    passages, seen = [], set()
    for key in wanted:
        if key in entries and key not in seen:
            seen.add(key)
            passages.append({"id": f"{label}:{key}", "title": key, "text": entries[key]})
    return passages


def _coverage(domain_terms: list[str], corpus: list[dict[str, Any]]) -> dict[str, float]:
    titles = {passage["title"] for passage in corpus}
    exact = sum(term in titles for term in domain_terms)
    partial = sum(term in titles or any(w in titles for w in re.findall(r"[a-z][a-z-]{3,}", term)) for term in domain_terms)
    n = max(1, len(domain_terms))
    return {"test_terms_with_own_entry": round(exact / n, 3), "test_terms_with_any_entry": round(partial / n, 3)}


def make_domain(
    name: str,
    title: str,
    entries: list[tuple[str, str]],
    module: Any,
    description: str,
    corpus_from: str,
    max_entries: int = MAX_ENTRIES,
    source: str | None = None,
) -> Domain:
    """A glossary domain with its knowledge corpus from a different source (``wordnet``, ``gcide``,
    or ``freedict-<pair>``: the reverse bilingual dictionary, searched by the answers' words)."""
    if len(entries) > max_entries:
        entries = random.Random(module.SEED).sample(sorted(entries), max_entries)
    splits = glossary_splits(entries, seed=module.SEED)
    terms = sorted({row["term"] for rows in splits.values() for row in rows})
    if corpus_from.startswith("freedict-"):
        answers = {w.lower() for t in terms for w in re.findall(r"[^\W\d_][\w\-]*", t)}
        reverse = freedict.reverse_passages(corpus_from.removeprefix("freedict-"), answers)
        definitions = sorted({row["definition"] for rows in splits.values() for row in rows if "definition" in row})
        corpus = _corpus([d.lower() for d in definitions], reverse, corpus_from)
    else:
        source_entries = _wordnet_any() if corpus_from == "wordnet" else _gcide_any()
        corpus = _corpus(terms, source_entries, corpus_from)
    test_terms = [row["term"] for row in splits["test"]]
    stats = {"corpus_source": corpus_from, "corpus_coverage": _coverage(test_terms, corpus)}
    if corpus_from.startswith("freedict-"):
        # what retrieval needs here: a passage titled by the question's words that names the answer
        by_title = {passage["title"]: passage["text"].lower() for passage in corpus}
        found = sum(row["term"].lower() in by_title.get(row["definition"].lower(), "") for row in splits["test"])
        stats["corpus_coverage"]["test_answers_in_the_question_passage"] = round(found / max(1, len(splits["test"])), 3)
    return Domain(
        name=name,
        title=title,
        task="glossary",
        splits=splits,
        licence=module.LICENCE,
        source=source or module.SOURCE,
        seed=module.SEED,
        builder_version=module.BUILDER_VERSION,
        description=description,
        corpus=corpus,
        stats=stats,
    )


def make_elements_domain() -> Domain:
    """Short factual questions (multiple choice) whose knowledge corpus holds every answer."""
    records = elements.elements()
    splits = elements.splits(elements.questions(records))
    corpus = elements.passages(records)
    text = {passage["title"]: passage["text"] for passage in corpus}
    found = sum(row["options"][row["answer"]] in text[row["element"]] for row in splits["test"])
    stats = {"corpus_source": "elements", "corpus_coverage": {"test_answers_in_the_question_passage": round(found / max(1, len(splits["test"])), 3)}}
    return Domain(
        name="elements", title="chemical elements", task="multiple_choice", splits=splits, licence=elements.LICENCE,
        source=elements.SOURCE, seed=elements.SEED, builder_version=elements.BUILDER_VERSION,
        description="The Elements: short factual questions (symbol, atomic number, weight, group, year of discovery)",
        corpus=corpus, stats=stats,
    )


def builders() -> dict[str, Callable[[], Domain]]:
    """Every built-in domain's name -> a function that builds it from the Debian packages."""
    out: dict[str, Callable[[], Domain]] = {}
    for label, (suffix, title) in sorted(gcide.FIELDS.items()):
        name = f"gcide-{suffix}"
        out.setdefault(
            name,
            lambda suffix=suffix, title=title, name=name: make_domain(
                name, title, _gcide_fields()[suffix], gcide, f"GCIDE senses labelled as {title}", "wordnet"
            ),
        )
    for suffix, title in sorted(foldoc.titles().items()):
        name = f"foldoc-{suffix}"
        out[name] = lambda suffix=suffix, title=title, name=name: make_domain(
            name, title, _foldoc_fields()[suffix], foldoc, f"FOLDOC entries tagged {title}", "wordnet"
        )
    out["jargon"] = lambda: make_domain(
        "jargon", "hacker jargon", jargon.glossary(), jargon, "The Jargon File: hacker slang", "wordnet"
    )
    out["vera"] = lambda: make_domain(
        "vera", "computing acronyms", vera.glossary(), vera, "V.E.R.A.: acronym <-> expansion", "wordnet"
    )
    out[EVOLVING] = lambda: build_release("1")  # from the shipped gcide-law; later releases: python -m domaintune.domains._evolving
    out["wordnet"] = lambda: make_domain(
        "wordnet", "general English", wordnet.glossary(), wordnet, "WordNet nouns: general English control", "gcide"
    )
    # bilingual: other languages and scripts; German-English is large (a training set fine-tuning can use)
    # and its corpus (the reverse dictionary) holds most answers
    out["freedict-deu-eng"] = lambda: make_domain(
        "freedict-deu-eng", "German-English dictionary", freedict.translations("deu-eng"), freedict,
        "FreeDict German -> English: a German word and its English translation", "freedict-eng-deu",
        max_entries=6000, source=freedict.SOURCES["deu-eng"],
    )
    out["freedict-eng-rus"] = lambda: make_domain(
        "freedict-eng-rus", "English-Russian dictionary", freedict.translations("eng-rus"), freedict,
        "FreeDict English -> Russian (Cyrillic): an English word and its Russian translation", "wordnet",
        source=freedict.SOURCES["eng-rus"],
    )
    # short factual questions, a corpus that holds the answers (retrieval's home ground)
    out["elements"] = make_elements_domain
    # text classification: the dictionaries' own labels (subject, topic, part of speech, source)
    out.update(classification.builders(_gcide_fields, _foldoc_fields))
    return out


def write(domain: Domain, root: Path = BUILTIN_DIR) -> Path:
    folder = save_domain(domain, root / domain.name)
    if domain.family == CLASSIFICATION:
        (folder / "SOURCE.md").write_text(source_note(domain))
        return folder
    coverage = domain.stats.get("corpus_coverage", {})
    (folder / "SOURCE.md").write_text(
        SOURCE_NOTE.format(**domain.summary(), corpus_source=domain.stats.get("corpus_source", "-"), coverage=coverage)
    )
    return folder


def main(names: list[str]) -> None:
    """Build the named domains (default: all); a domain with too few clean entries is dropped, loudly."""
    available = {name: build for name, build in builders().items() if name not in DROPPED or name in names}
    for name, why in DROPPED.items():
        if name not in names:
            print(f"{name}: dropped: {why}")
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"unknown domain(s) {', '.join(unknown)}; known: {', '.join(sorted(available))}")
    for name in names or sorted(available):
        domain = available[name]()
        total = sum(domain.sizes.values())
        if total < MIN_ENTRIES:
            print(f"{name}: only {total} clean entries (< {MIN_ENTRIES}); not built")
            continue
        folder = write(domain)
        print(f"{name}: {domain.sizes} corpus {len(domain.corpus)} fingerprint {domain.fingerprint} -> {folder}")


if __name__ == "__main__":
    main(sys.argv[1:])
