"""Render a domain item into token ids: a prefix shared by every item, a query, and options."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from domaintune.domains import answer_text
from domaintune.lm import TEMPLATES, VIEW_LABELS, Template


@dataclass
class EncodedItem:
    query: list[int]
    options: list[list[int]]
    answer: int


def choose_exemplars(train: list[dict[str, Any]], n_shots: int, seed: int) -> list[dict[str, Any]]:
    """Random exemplars from the train split, fixed by seed (never from the scored split)."""
    if n_shots == 0:
        return []
    return random.Random(seed).sample(train, min(n_shots, len(train)))


def leading_bos(tokenizer: Any) -> list[int]:
    """[bos id] if the tokenizer starts every text with it (Gemma's does, SmolLM2's does not), else []."""
    ids = tokenizer("x")["input_ids"]
    return ids[:1] if ids and tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id else []


def render_passages(passages: list[str]) -> str:
    return "Background:\n" + "\n".join(f"- {p}" for p in passages) + "\n\n" if passages else ""


class PromptBuilder:
    """Turns items into ids for one template, view, and exemplar/passages arrangement.

    When every question shares its exemplars (and passages go after them), the preamble and
    exemplars form a prefix whose key/value cache is computed once and reused per question.
    """

    def __init__(
        self,
        tokenizer: Any,
        template_name: str,
        title: str,
        exemplars: list[dict[str, Any]] | None,
        view: str = "multiple_choice",
        passages_first: bool = False,
    ):
        self.tokenizer = tokenizer
        self.template: Template = TEMPLATES[template_name]
        self.title = title
        self.labels = VIEW_LABELS[view]
        self.exemplars = exemplars  # None: chosen per question, so nothing is shared
        self.passages_first = passages_first
        # Text is encoded piecewise without special tokens, so a model that needs <bos> (Gemma 3:
        # without it zero-shot accuracy fell to chance) gets it once, at the head of the prefix.
        self.bos_ids = leading_bos(tokenizer)
        shared = exemplars is not None and not passages_first
        self._prefix_text = self._render(exemplars or [], None, []) if shared else ""
        self.prefix_ids = self.bos_ids + (self._encode(self._prefix_text) if self._prefix_text else [])

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _option_text(self, option: str) -> str:
        return option if self.template.chat else " " + option

    def _ask(self, question: str) -> str:
        return self.template.query(question, self.title, self.labels)

    def _render(self, exemplars: list[dict[str, Any]], query: str | None, passages: list[str]) -> str:
        template = self.template
        preamble = template.preamble(self.title, self.labels)
        context = render_passages(passages)
        if template.chat:
            system = (context if self.passages_first else "") + preamble
            messages = [{"role": "system", "content": system.strip()}] if system.strip() else []
            for row in exemplars:
                messages.append({"role": "user", "content": self._ask(row["question"])})
                messages.append({"role": "assistant", "content": answer_text(row)})
            if query is not None:
                ask = self._ask(query)
                messages.append({"role": "user", "content": ask if self.passages_first else context + ask})
            if not messages:
                return ""
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=query is not None)
            return text.removeprefix(self.tokenizer.bos_token or "") if self.bos_ids else text  # bos_ids has it
        parts = [self._ask(row["question"]) + self._option_text(answer_text(row)) for row in exemplars]
        if query is not None:
            parts.append(("" if self.passages_first else context) + self._ask(query))
        if not parts:
            return ""
        body = template.separator.join(parts)
        if query is None:
            body += template.separator
        return (context if self.passages_first else "") + preamble + body

    def query_ids(self, question: str, exemplars: list[dict[str, Any]] | None = None, passages: list[str] | None = None) -> list[int]:
        """Ids of the text after the shared prefix, for one question."""
        full = self._render((self.exemplars or []) if exemplars is None else exemplars, question, passages or [])
        if self._prefix_text and full.startswith(self._prefix_text):
            return self._encode(full[len(self._prefix_text) :])
        return self._encode(full)

    def encode(self, row: dict[str, Any], exemplars: list[dict[str, Any]] | None = None, passages: list[str] | None = None) -> EncodedItem:
        options = [self._encode(self._option_text(option)) for option in row["options"]]
        return EncodedItem(query=self.query_ids(row["question"], exemplars, passages), options=options, answer=row["answer"])

    def training_example(self, row: dict[str, Any]) -> tuple[list[int], list[int]]:
        """(prompt ids, answer ids) for fine-tuning: the zero-shot form of the query."""
        prompt = self.bos_ids + self._encode(self._render([], row["question"], []))
        answer = self._encode(self._option_text(answer_text(row)))
        if self.tokenizer.eos_token_id is not None:
            answer.append(self.tokenizer.eos_token_id)
        return prompt, answer

    def instruction_text(self) -> str:
        """Text that states the task (initializes a soft prompt)."""
        return self.template.preamble(self.title, self.labels) or f"Give {self.labels.task} from {self.title}."
