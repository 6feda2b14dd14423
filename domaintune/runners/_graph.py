"""Black-box lever: knowledge-graph facts about the question's entities, put in the input.

The graph is the relation the sources already hold as cross-references: one entry's text
mentioning another entry's term. It is built from the train split's definitions and the
knowledge corpus only, so a validation or test answer never enters it.
"""

from __future__ import annotations

import re
from typing import Any

from domaintune.runners._indexes import IndexCache
from domaintune.runners._prompting import answer_text

MIN_TERM_CHARS = 4  # shorter terms ("a", "go") match everywhere and mean nothing


def _mentions(text: str, terms: dict[str, re.Pattern]) -> list[str]:
    lowered = text.lower()
    return [term for term, pattern in terms.items() if term in lowered and pattern.search(lowered)]


Facts = dict[str, list[tuple[str, str, str]]]
# (fingerprint, view) -> (term patterns, entity -> facts): built once per domain view, so the
# per-question lookup stays cheap.
_GRAPHS: IndexCache[tuple[dict[str, re.Pattern], Facts]] = IndexCache(size=4)


def _build(domain: Any) -> tuple[dict[str, re.Pattern], Facts]:
    """Term patterns and entity -> facts (subject, relation, object) for one domain view."""
    glossary = [(r["question"], answer_text(r)) for r in domain.splits["train"]]
    if domain.view_name == "definition_to_term":
        glossary = [(answer, question_text) for question_text, answer in glossary]
    terms = sorted({t.lower() for t, _ in glossary} | {_term(r, domain.view_name) for rows in domain.splits.values() for r in rows})
    patterns = {t: re.compile(r"\b" + re.escape(t) + r"\b") for t in terms if len(t) >= MIN_TERM_CHARS}
    facts: Facts = {}

    def add(subject: str, relation: str, obj: str) -> None:
        fact = (subject, relation, obj)
        for entity in (subject.lower(), obj.lower()):
            facts.setdefault(entity, [])
            if fact not in facts[entity]:
                facts[entity].append(fact)

    for term, definition in glossary:
        for other in _mentions(definition, patterns):
            if other != term.lower():
                add(term, "is defined in terms of", other)
    for passage in domain.corpus:
        title = passage.get("title", "")
        for other in _mentions(passage["text"], patterns):
            if other != title.lower():
                add(title, "is glossed using", other)
    return patterns, facts


def facts_for(domain: Any, question: str, k: int) -> list[str]:
    """Up to k facts about the entities in a question: the term itself, or the domain terms a
    definition mentions (definition -> term view)."""
    patterns, graph = _GRAPHS.get((domain.fingerprint, domain.view_name), lambda: _build(domain))
    if domain.view_name == "definition_to_term":
        entities = _mentions(question, patterns)
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
