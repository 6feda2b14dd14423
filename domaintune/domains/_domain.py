"""The domain: named, licensed task data with train/validation/test splits and a fingerprint.

Two task kinds are stored:

- ``glossary``: rows ``term, definition, options, answer, option_terms`` (the options are
  definitions, ``option_terms[i]`` is the term whose definition ``options[i]`` is). A glossary
  domain is asked in three *views*: term -> definition and definition -> term (multiple
  choice), and ``name_the_term`` (free text: the definition asked, the term generated, scored
  like qa), where no option list hints at the answer.
- ``multiple_choice``: rows ``question, options, answer``, asked with its options, or as free
  text (``free_text``: the question without its options, the correct option's text generated,
  scored like qa).
- ``qa``: rows ``question, answer`` (free text), scored by exact match and token F1 of a greedy answer.

A domain may also name its task *family* (what kind of problem it poses, apart from how it is
stored): ``classification`` domains are ``multiple_choice`` rows whose options are the same
class names, in the same order, on every row. An empty family records nothing.

``Domain.view(name)`` gives the rows a runner scores (multiple choice, or qa as it is).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from domaintune.errors import DomainError

SPLITS = ("train", "validation", "test")
VIEWS: dict[str, tuple[str, ...]] = {
    "glossary": ("term_to_definition", "definition_to_term", "name_the_term"),
    "multiple_choice": ("multiple_choice", "free_text"),
    "qa": ("qa",),
}
TASKS = tuple(VIEWS)
FREE_TEXT_VIEW = "name_the_term"  # a glossary asked as free text: definition in, term out
FREE_TEXT_CHOICE_VIEW = "free_text"  # a multiple-choice question asked without its options: the answer generated
# Columns every row of a task kind must have, with their Python types.
TASK_COLUMNS: dict[str, dict[str, type]] = {
    "glossary": {"term": str, "definition": str, "options": list, "answer": int, "option_terms": list},
    "multiple_choice": {"question": str, "options": list, "answer": int},
    "qa": {"question": str, "answer": str},
}
# The column that identifies an item: no value may appear in two splits.
KEY_COLUMN = {"glossary": "term", "multiple_choice": "question", "qa": "question"}
# What each task kind is scored by (the first is its main metric).
TASK_METRICS = {"glossary": ("accuracy",), "multiple_choice": ("accuracy",), "qa": ("f1", "exact_match")}


def answer_text(row: dict[str, Any]) -> str:
    """The correct answer's text: the chosen option, or a QA row's free-text answer."""
    return row["answer"] if isinstance(row["answer"], str) else row["options"][row["answer"]]


@dataclass(frozen=True)
class Domain:
    """A domain's data and provenance. Build it with a builder, load it with ``load_domain``."""

    name: str
    task: str
    splits: dict[str, list[dict[str, Any]]]
    licence: str
    source: str
    seed: int
    builder_version: str
    title: str = ""
    description: str = ""
    version: str = "1"
    corpus: list[dict[str, Any]] = field(default_factory=list)  # knowledge passages {id, title, text}
    stats: dict[str, Any] = field(default_factory=dict)  # measured at build time (corpus coverage, ...)
    versions: list[dict[str, str]] = field(default_factory=list)  # earlier {version, fingerprint}, oldest first
    view_name: str = ""  # set on the result of view(): which question the rows ask
    family: str = ""  # e.g. "classification"; metadata like the title, outside the fingerprint
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if self.task not in VIEWS:
            raise DomainError(f"domain {self.name!r}: unknown task {self.task!r}; known: {', '.join(TASKS)}")
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", compute_fingerprint(self))

    @property
    def sizes(self) -> dict[str, int]:
        return {split: len(rows) for split, rows in self.splits.items()}

    @property
    def views(self) -> tuple[str, ...]:
        return VIEWS[self.task]

    def view(self, name: str | None = None) -> Domain:
        """The rows a runner scores for one view (default: the first): multiple choice, or free
        text for qa and ``name_the_term``; keeps the fingerprint."""
        name = name or self.views[0]
        if name not in self.views:
            raise DomainError(f"domain {self.name!r} has views {', '.join(self.views)}; not {name!r}")
        if self.task == "multiple_choice" and name == FREE_TEXT_CHOICE_VIEW:
            splits = {split: [{"id": row.get("id", ""), "question": row["question"], "answer": answer_text(row)} for row in rows]
                      for split, rows in self.splits.items()}
            return dataclasses.replace(self, task="qa", splits=splits, view_name=name)
        if self.task in ("multiple_choice", "qa"):
            return dataclasses.replace(self, view_name=name)
        splits = {split: [_glossary_view(row, name) for row in rows] for split, rows in self.splits.items()}
        task = "qa" if name == FREE_TEXT_VIEW else "multiple_choice"
        return dataclasses.replace(self, task=task, splits=splits, view_name=name)

    def texts(self, split: str = "train") -> list[str]:
        """The domain's text for language-model training: one ``term: definition`` (or
        ``question answer``) line per row of a split."""
        rows = self.splits[split]
        if self.task == "glossary":
            return [f"{row['term']}: {row['definition']}" for row in rows]
        if self.task == "qa":
            return [f"{row['question']} {row['answer']}" for row in rows]
        return [f"{row['question']} {row['options'][row['answer']]}" for row in rows]

    def summary(self) -> dict[str, Any]:
        """The domain's metadata without its rows (what ``domain.json`` holds)."""
        return {
            "name": self.name,
            "title": self.title or self.name,
            "task": self.task,
            **({"family": self.family} if self.family else {}),  # domains without one keep their domain.json
            "views": list(self.views),
            "version": self.version,
            "versions": self.versions,
            "licence": self.licence,
            "source": self.source,
            "seed": self.seed,
            "builder_version": self.builder_version,
            "description": self.description,
            "fingerprint": self.fingerprint,
            "sizes": self.sizes,
            "corpus_passages": len(self.corpus),
            "stats": self.stats,
        }


def _glossary_view(row: dict[str, Any], view: str) -> dict[str, Any]:
    if view == FREE_TEXT_VIEW:
        return {"id": row.get("id", ""), "question": row["definition"], "answer": row["term"]}
    if view == "term_to_definition":
        return {"id": row.get("id", ""), "question": row["term"], "options": row["options"], "answer": row["answer"]}
    return {"id": row.get("id", ""), "question": row["definition"], "options": row["option_terms"], "answer": row["answer"]}


def compute_fingerprint(domain: Domain) -> str:
    """Content hash of data, corpus, build seed and builder version (not of file bytes)."""
    digest = hashlib.sha256()
    header = {"task": domain.task, "seed": domain.seed, "builder_version": domain.builder_version}
    digest.update(json.dumps(header, sort_keys=True).encode())
    parts = [(split, domain.splits.get(split, [])) for split in SPLITS]
    if domain.corpus:
        parts.append(("corpus", domain.corpus))
    for part, rows in parts:
        digest.update(f"\n#{part}\n".encode())
        for row in rows:
            digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
            digest.update(b"\n")
    return digest.hexdigest()[:16]


def validate_rows(domain_name: str, split: str, rows: list[dict[str, Any]], where: str, task: str) -> None:
    """Check a split's rows against the task's schema; errors name the file, row and column."""
    if task not in TASK_COLUMNS:
        raise DomainError(f"{where}: unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    if not rows:
        raise DomainError(f"{where}: split {split!r} of domain {domain_name!r} is empty")
    for number, row in enumerate(rows, start=1):
        for column, kind in TASK_COLUMNS[task].items():
            if column not in row:
                raise DomainError(f"{where}: row {number}: missing column {column!r}")
            if not isinstance(row[column], kind) or isinstance(row[column], bool):
                raise DomainError(
                    f"{where}: row {number}: column {column!r} must be {kind.__name__}, "
                    f"got {type(row[column]).__name__}"
                )
            if kind is str and not row[column].strip():
                raise DomainError(f"{where}: row {number}: column {column!r} is empty")
        if task == "qa":
            continue
        options = row["options"]
        if len(options) < 2 or not all(isinstance(o, str) and o.strip() for o in options):
            raise DomainError(f"{where}: row {number}: column 'options' needs at least 2 non-empty strings")
        if not 0 <= row["answer"] < len(options):
            raise DomainError(
                f"{where}: row {number}: column 'answer' is {row['answer']}, outside 0..{len(options) - 1}"
            )
        if task == "glossary" and len(row["option_terms"]) != len(options):
            raise DomainError(f"{where}: row {number}: column 'option_terms' must have one term per option")


def check_disjoint(domain: Domain, where: str) -> None:
    """An item may appear in one split only; anything else leaks answers across splits."""
    key = KEY_COLUMN[domain.task]
    seen: dict[str, str] = {}
    for split in SPLITS:
        for number, row in enumerate(domain.splits.get(split, []), start=1):
            value = row[key].strip().lower()
            if value in seen and seen[value] != split:
                raise DomainError(
                    f"{where}: {split} row {number}: {key} {row[key]!r} is also in split "
                    f"{seen[value]!r} (leakage between splits)"
                )
            seen[value] = split
