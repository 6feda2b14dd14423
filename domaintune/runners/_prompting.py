"""Render a domain item into token ids: a prefix shared by every item, a query, and options."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from domaintune.prompts import TEMPLATES, VIEW_LABELS, Template


@dataclass
class EncodedItem:
    query: list[int]
    options: list[list[int]]
    answer: int


class PromptBuilder:
    """Turns items into ids for one template and one fixed set of few-shot exemplars.

    The exemplars are the same for every question in a trial, so their tokens form a
    prefix whose key/value cache is computed once and reused for every question.
    """

    def __init__(
        self, tokenizer: Any, template_name: str, title: str, exemplars: list[dict[str, Any]], view: str = "multiple_choice"
    ):
        self.tokenizer = tokenizer
        self.template: Template = TEMPLATES[template_name]
        self.title = title
        self.labels = VIEW_LABELS[view]
        self.exemplars = exemplars
        prefix_text = self._render(exemplars, query=None)
        self.prefix_ids = self._encode(prefix_text) if prefix_text else []
        self._prefix_text = prefix_text

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _option_text(self, option: str) -> str:
        return option if self.template.chat else " " + option

    def _ask(self, question: str) -> str:
        return self.template.query(question, self.title, self.labels)

    def _render(self, exemplars: list[dict[str, Any]], query: str | None) -> str:
        template = self.template
        preamble = template.preamble(self.title, self.labels)
        if template.chat:
            messages = [{"role": "system", "content": preamble}] if preamble else []
            for row in exemplars:
                messages.append({"role": "user", "content": self._ask(row["question"])})
                messages.append({"role": "assistant", "content": answer_text(row)})
            if query is not None:
                messages.append({"role": "user", "content": self._ask(query)})
            if not messages:
                return ""
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=query is not None)
        parts = [self._ask(row["question"]) + self._option_text(answer_text(row)) for row in exemplars]
        if query is not None:
            parts.append(self._ask(query))
        if not parts:
            return ""
        body = template.separator.join(parts)
        if query is None:
            body += template.separator
        return preamble + body

    def query_ids(self, question: str) -> list[int]:
        """Ids of the text after the shared prefix, for one question."""
        full = self._render(self.exemplars, query=question)
        if self._prefix_text and full.startswith(self._prefix_text):
            return self._encode(full[len(self._prefix_text) :])
        return self._encode(full)

    def encode(self, row: dict[str, Any]) -> EncodedItem:
        options = [self._encode(self._option_text(option)) for option in row["options"]]
        return EncodedItem(query=self.query_ids(row["question"]), options=options, answer=row["answer"])

    def training_example(self, row: dict[str, Any]) -> tuple[list[int], list[int]]:
        """(prompt ids, answer ids) for fine-tuning: the zero-shot form of the query."""
        prompt = self._encode(self._render([], query=row["question"]))
        answer = self._encode(self._option_text(answer_text(row)))
        if self.tokenizer.eos_token_id is not None:
            answer.append(self.tokenizer.eos_token_id)
        return prompt, answer


def answer_text(row: dict[str, Any]) -> str:
    return row["options"][row["answer"]]


def choose_exemplars(train: list[dict[str, Any]], n_shots: int, seed: int) -> list[dict[str, Any]]:
    """Random exemplars from the train split, fixed by seed (never from the scored split)."""
    if n_shots == 0:
        return []
    return random.Random(seed).sample(train, min(n_shots, len(train)))
