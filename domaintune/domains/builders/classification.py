"""Text classification domains from the dictionaries' own labels: a text in, one class out.

GCIDE senses by their subject label (``(Chem.)``, ``(Zool.)``, ...), FOLDOC definitions by their
``<topic>`` tag, WordNet glosses by part of speech, and definitions by the dictionary they come
from. The texts are the cleaned definitions the glossary builders already extract (headword
masked as ``___``, FOLDOC ``<tags>`` and ``{links}`` stripped); any subject label left inside a
GCIDE text is removed so the label cannot be read off the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from domaintune.domains._classification import Labelled, make_classification_domain
from domaintune.domains._domain import Domain
from domaintune.domains._glossary import clean_definition
from domaintune.domains.builders import foldoc, gcide, jargon, wordnet

BUILDER_VERSION = "1"
SEED = 20261207

Fields = dict[str, list[tuple[str, str]]]  # glossary builders' field -> [(term, definition)]

# A GCIDE subject label inside a text: "(Chem.)", "(Med. & Surg.)", "(Her.)".
LABEL_MARKER = re.compile(r"\(\s*(?:[A-Z][a-z]+\.\s*(?:[&,]\s*)?)+\)")

# domain -> (title, description, texts per class, {class name: glossary field})
GCIDE_DOMAINS: dict[str, tuple[str, str, int, dict[str, str]]] = {
    "gcide-subject-sciences": ("subject fields of the physical sciences", "GCIDE senses by subject label", 200, {
        "chemistry": "chemistry", "physics": "physics", "astronomy": "astronomy",
        "geology": "geology", "mineralogy": "mineralogy", "mathematics": "mathematics"}),
    "gcide-subject-life": ("subject fields of the life sciences", "GCIDE senses by subject label", 200, {
        "zoology": "zoology", "botany": "botany", "anatomy": "anatomy",
        "physiology": "physiology", "medicine": "medicine", "biology": "biology"}),
    "gcide-subject-trades": ("subject fields of professions", "GCIDE senses by subject label", 200, {
        "law": "law", "seafaring": "nautical", "military": "military",
        "music": "music", "architecture": "architecture", "church": "church"}),
    "gcide-subject-crafts": ("subject fields of crafts and scholarship", "GCIDE senses by subject label", 180, {
        "mechanics": "mechanics", "mining": "mining", "electricity": "electricity",
        "heraldry": "heraldry", "grammar": "grammar", "paleontology": "paleontology"}),
}
FOLDOC_CLASSES = {
    "programming languages": "languages", "networking": "networking", "programming": "programming",
    "computer hardware": "hardware", "operating systems": "os", "theory of computing": "theory",
}
# 224 of FOLDOC's networking entries read "The country code for X.": one template, not a text to classify.
FOLDOC_TEMPLATE = re.compile(r"^The country code for\b")
WORDNET_POS = {"noun": "n", "verb": "v", "adjective": "adj", "adverb": "adv"}


def _without_markers(text: str) -> str | None:
    text = re.sub(r"\s+", " ", LABEL_MARKER.sub("", text)).strip(" ;,")
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    return text if len(text.split()) >= 4 else None


def gcide_subjects(fields: Fields, classes: dict[str, str]) -> Labelled:
    """Class name -> GCIDE (term, sense) pairs of its subject label, label markers removed."""
    out: Labelled = {}
    for name, field in classes.items():
        cleaned = ((term, _without_markers(text)) for term, text in fields[field])
        out[name] = [(term, text) for term, text in cleaned if text]
    return out


def foldoc_topics(fields: Fields) -> Labelled:
    return {
        name: [(term, text) for term, text in fields[field] if not FOLDOC_TEMPLATE.match(text)]
        for name, field in FOLDOC_CLASSES.items()
    }


def wordnet_parts_of_speech() -> Labelled:
    """Part of speech -> (word, first gloss of the word in it), the word masked."""
    out: Labelled = {}
    for name, pos in WORDNET_POS.items():
        pairs = ((term, clean_definition(term, gloss)) for term, gloss in wordnet.first_glosses(pos).items())
        out[name] = [(term, text) for term, text in pairs if text and term.isascii() and not term[0].isdigit()]
    return out


def dictionary_sources(gcide_fields: Fields, foldoc_fields: Fields) -> Labelled:
    """Which dictionary a definition comes from (FOLDOC's slang is the Jargon File's, so left out)."""
    return {
        "computing dictionary": [pair for field, pairs in sorted(foldoc_fields.items()) if field != "slang" for pair in pairs],
        "hacker jargon": jargon.glossary(),
        "modern general dictionary": wordnet.glossary(),
        "1913 Webster's dictionary": [
            (term, text) for pairs in gcide_fields.values() for term, raw in pairs if (text := _without_markers(raw))
        ],
    }


def _provenance(licence: str, source: str, corpus_source: str) -> dict[str, str]:
    return {"licence": licence, "source": source, "seed": str(SEED), "builder_version": BUILDER_VERSION,
            "corpus_source": corpus_source}


def builders(gcide_fields: Callable[[], Fields], foldoc_fields: Callable[[], Fields]) -> dict[str, Callable[[], Domain]]:
    """Name -> builder of every classification domain (the field tables are passed in, cached by the caller)."""
    out: dict[str, Callable[[], Domain]] = {}
    for name, (title, description, per_class, classes) in GCIDE_DOMAINS.items():
        out[name] = lambda name=name, title=title, description=description, per_class=per_class, classes=classes: (
            make_classification_domain(
                name, title, description, gcide_subjects(gcide_fields(), classes), per_class,
                _provenance(gcide.LICENCE, gcide.SOURCE, "gcide"),
            )
        )
    out["foldoc-topic"] = lambda: make_classification_domain(
        "foldoc-topic", "topics of computing", "FOLDOC definitions by topic tag", foldoc_topics(foldoc_fields()), 200,
        _provenance(foldoc.LICENCE, foldoc.SOURCE, "foldoc"),
    )
    out["wordnet-pos"] = lambda: make_classification_domain(
        "wordnet-pos", "parts of speech", "WordNet glosses by the part of speech of the word they define",
        wordnet_parts_of_speech(), 300, _provenance(wordnet.LICENCE, wordnet.SOURCE, "wordnet"),
    )
    out["dictionary-source"] = lambda: make_classification_domain(
        "dictionary-source", "dictionaries", "Definitions by the dictionary they come from",
        dictionary_sources(gcide_fields(), foldoc_fields()), 300,
        _provenance(
            f"{foldoc.LICENCE} (FOLDOC); {jargon.LICENCE} (Jargon File); {wordnet.LICENCE}; {gcide.LICENCE} (GCIDE)",
            f"{foldoc.SOURCE}; {jargon.SOURCE}; {wordnet.SOURCE}; {gcide.SOURCE}", "dictionaries",
        ),
    )
    return out
