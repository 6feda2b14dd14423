"""Prompt templates (a grey-box lever): how a question and its options are put to the model.

A template renders the *query* (everything before an option) for one item; options are scored
as continuations of it. Few-shot exemplars are rendered with the same template followed by
their answer, so the model sees the format it will be scored on. The wording adapts to the
domain's view (term -> definition, definition -> term, or a plain question).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Labels:
    ask: str  # what the question is, e.g. "Term"
    answer: str  # what the options are, e.g. "Definition"
    task: str  # e.g. "the definition of each term"


VIEW_LABELS = {
    "term_to_definition": Labels("Term", "Definition", "the definition of each term"),
    "definition_to_term": Labels("Definition", "Term", "the term for each definition"),
    "name_the_term": Labels("Definition", "Term", "the term for each definition"),
    "multiple_choice": Labels("Question", "Answer", "the answer to each question"),
    "qa": Labels("Question", "Answer", "the answer to each question"),
    "free_text": Labels("Question", "Answer", "the answer to each question"),
}


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    query: Callable[[str, str, Labels], str]  # (question, domain title, labels) -> text before the option
    preamble: Callable[[str, Labels], str] = lambda title, labels: ""  # once per prompt
    separator: str = "\n\n"  # between exemplars and the query
    chat: bool = False  # render through the tokenizer's chat template (preamble = system message)


TEMPLATES: dict[str, Template] = {}


def register_template(template: Template) -> Template:
    if template.name in TEMPLATES:
        raise ValueError(f"template {template.name!r} is already registered")
    TEMPLATES[template.name] = template
    return template


def _fields(question: str, title: str, labels: Labels) -> str:
    return f"{labels.ask}: {question}\n{labels.answer}:"


register_template(Template("plain", "the question, a colon, the answer", lambda q, title, labels: f"{q}:"))
register_template(
    Template(
        "instruction",
        "an instruction line, then labelled fields",
        _fields,
        preamble=lambda title, labels: f"Give {labels.task} from {title}.\n\n",
    )
)
register_template(
    Template(
        "expert",
        "an expert persona introducing the glossary, then labelled fields",
        _fields,
        preamble=lambda title, labels: f"As a leading expert in {title}, I give {labels.task} precisely.\n\n",
    )
)
register_template(
    Template(
        "cloze",
        "a sentence the answer completes",
        lambda q, title, labels: f'In {title}, the {labels.answer.lower()} for "{q}" is',
    )
)
register_template(
    Template(
        "qa",
        "Q:/A: lines",
        lambda q, title, labels: f'Q: What is the {labels.answer.lower()} for "{q}"?\nA:',
        separator="\n",
    )
)
register_template(
    Template(
        "chat",
        "the model's own chat template: an expert system message, the user asks, the assistant answers",
        lambda q, title, labels: f"{labels.ask}: {q}\nGive the {labels.answer.lower()}.",
        preamble=lambda title, labels: f"You are an expert in {title}. Answer with {labels.task.split(' for ')[0].split(' of ')[0]} only.",
        chat=True,
    )
)
