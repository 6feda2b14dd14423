"""Prompt templates (a grey-box lever): how a question and its options are put to the model.

A template renders the *query* (everything before an option) for one item; options are scored
as continuations of it. Few-shot exemplars are rendered with the same template followed by
their answer, so the model sees the format it will be scored on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    query: Callable[[str, str], str]  # (term, domain title) -> text before the option
    preamble: Callable[[str], str] = lambda title: ""  # (domain title) -> once per prompt
    separator: str = "\n\n"  # between exemplars and the query
    chat: bool = False  # render through the tokenizer's chat template


TEMPLATES: dict[str, Template] = {}


def register_template(template: Template) -> Template:
    if template.name in TEMPLATES:
        raise ValueError(f"template {template.name!r} is already registered")
    TEMPLATES[template.name] = template
    return template


register_template(Template("plain", "term, colon, definition", lambda term, title: f"{term}:"))
register_template(
    Template(
        "instruction",
        "an instruction line, then Term/Definition fields",
        lambda term, title: f"Term: {term}\nDefinition:",
        preamble=lambda title: f"Give the definition of each term from {title}.\n\n",
    )
)
register_template(
    Template(
        "expert",
        "an expert persona introducing the glossary",
        lambda term, title: f'"{term}" means',
        preamble=lambda title: f"As a leading expert in {title}, I explain each term precisely.\n\n",
    )
)
register_template(
    Template(
        "chat",
        "the model's own chat template: the user asks, the assistant defines",
        lambda term, title: f"What does the term '{term}' mean in {title}?",
        chat=True,
    )
)
