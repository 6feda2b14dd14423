"""Black-box lever: knowledge-graph facts about the question's entities, put in the input.

The graph is the relation the sources already hold as cross-references: one entry's text
mentioning another entry's term. It is built from the train split's definitions and the
knowledge corpus only, so a validation or test answer never enters it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from domaintune.runners._prompting import answer_text

MIN_TERM_CHARS = 4  # shorter terms ("a", "go") match everywhere and mean nothing


def _mentions(text: str, terms: dict[str, re.Pattern]) -> list[str]:
    lowered = text.lower()
    return [term for term, pattern in terms.items() if term in lowered and pattern.search(lowered)]


@lru_cache(maxsize=4)
def _graph(fingerprint: str, view: str, train: tuple, terms: tuple, corpus: tuple) -> dict[str, list[tuple[str, str, str]]]:
    """entity -> facts (subject, relation, object) that involve it."""
    patterns = {t: re.compile(r"\b" + re.escape(t) + r"\b") for t in terms if len(t) >= MIN_TERM_CHARS}
    facts: dict[str, list[tuple[str, str, str]]] = {}

    def add(subject: str, relation: str, obj: str) -> None:
        fact = (subject, relation, obj)
        for entity in (subject.lower(), obj.lower()):
            facts.setdefault(entity, [])
            if fact not in facts[entity]:
                facts[entity].append(fact)

    for term, definition in train:
        for other in _mentions(definition, patterns):
            if other != term.lower():
                add(term, "is defined in terms of", other)
    for title, text in corpus:
        for other in _mentions(text, patterns):
            if other != title.lower():
                add(title, "is glossed using", other)
    return facts


def facts_for(domain: Any, question: str, k: int) -> list[str]:
    """Up to k facts about the entities in a question: the term itself, or the domain terms a
    definition mentions (definition -> term view)."""
    glossary = [(r["question"], answer_text(r)) for r in domain.splits["train"]]
    if domain.view_name == "definition_to_term":
        glossary = [(answer, question_text) for question_text, answer in glossary]
    terms = tuple(sorted({t.lower() for t, _ in glossary} | {_term(r, domain.view_name) for rows in domain.splits.values() for r in rows}))
    corpus = tuple((p.get("title", ""), p["text"]) for p in domain.corpus)
    graph = _graph(domain.fingerprint, domain.view_name, tuple(glossary), terms, corpus)
    if domain.view_name == "definition_to_term":
        entities = [t for t in terms if len(t) >= MIN_TERM_CHARS and re.search(r"\b" + re.escape(t) + r"\b", question.lower())]
    else:
        entities = [question.lower()]
    out: list[str] = []
    for entity in entities:
        for subject, relation, obj in graph.get(entity, []):
            text = f"{subject} {relation} {obj}."
            if text not in out:
                out.append(text)
            if len(out) == k:
                return out
    return out


def _term(row: dict[str, Any], view: str) -> str:
    """The term of a multiple-choice row in either glossary view."""
    return (answer_text(row) if view == "definition_to_term" else row["question"]).lower()
