"""The strategy: one typed, validated, JSON-round-trippable choice of every lever.

Each field is a lever. Its ``level`` (black / grey / white box) is recorded in the field's
metadata so search spaces, reports and the meta-learner can group levers without a second
list. A new lever is one new field here and one place in the runner that reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domaintune.errors import ConfigError
from domaintune.lm import TEMPLATES

LEVELS = ("black", "grey", "white")
_LAYERS = re.compile(r"^(all|(top|bottom|middle):\d+|every:\d+|\d+(,\d+)*)$")
_MODULES = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(,[A-Za-z_][A-Za-z0-9_]*)*$")


def _lever(default: Any, level: str, help: str, **constraints: Any) -> Any:
    return Field(default, description=help, json_schema_extra={"level": level}, **constraints)


class Strategy(BaseModel):
    """How to specialize the base model to a domain for one trial."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # black-box: external augmentation
    retrieval: Literal["none", "bm25", "dense", "hybrid"] = _lever(
        "none", "black", "retrieve passages from the domain's knowledge corpus into the prompt"
    )
    top_k: int = _lever(3, "black", "passages retrieved per question", ge=1, le=20)
    chunk_words: int = _lever(0, "black", "split corpus passages into chunks of this many words (0 = whole)", ge=0, le=500)
    passage_position: Literal["before_question", "before_exemplars"] = _lever(
        "before_question", "black", "where retrieved passages and facts go in the prompt"
    )
    kg_facts: int = _lever(0, "black", "knowledge-graph facts about the question's entities (0 = off)", ge=0, le=20)
    # grey-box: prompt crafting
    template: str = _lever("plain", "grey", "prompt template name (see domaintune.lm)")
    n_shots: int = _lever(0, "grey", "few-shot exemplars from the train split", ge=0, le=16)
    scoring: Literal["mean", "calibrated"] = _lever(
        "mean", "grey", "option score: mean token log-prob, or that minus its log-prob after a content-free query"
    )
    exemplar_selection: Literal["random", "similar", "diverse"] = _lever(
        "random", "grey", "random; most similar to each question (MiniLM); diverse (greedy farthest points)"
    )
    # what is trained: nothing, a soft prompt (grey-box), a LoRA adapter or all weights (white-box)
    adapter: Literal["none", "lora", "prompt_tuning", "prefix_tuning", "full"] = _lever(
        "none", "white", "what gradient steps train: nothing, a soft prompt, LoRA, or every weight"
    )
    virtual_tokens: int = _lever(8, "grey", "soft prompt length in virtual tokens", ge=1, le=128)
    soft_prompt_init: Literal["text", "random"] = _lever(
        "text", "grey", "prompt tuning: start from the embedded task instruction, or random"
    )
    lora_rank: int = _lever(8, "white", "LoRA rank r", ge=1, le=512)
    lora_alpha: float = _lever(16.0, "white", "LoRA alpha (scale = alpha / r, or alpha / sqrt(r) with rsLoRA)", gt=0)
    lora_dropout: float = _lever(0.0, "white", "dropout on the LoRA input", ge=0, lt=1)
    lora_target_modules: str = _lever("q_proj,v_proj", "white", "comma-separated module names to adapt")
    lora_layers: str = _lever(
        "all", "white", "layers to adapt: all | top:N | bottom:N | middle:N | every:K | 0,3,5"
    )
    lora_rslora: bool = _lever(False, "white", "rank-stabilized LoRA scaling")
    lora_dora: bool = _lever(False, "white", "weight-decomposed LoRA (DoRA)")
    learning_rate: float = _lever(1e-3, "white", "AdamW learning rate", gt=0, le=1)
    steps: int = _lever(20, "white", "optimizer steps", ge=1, le=100_000)
    batch_size: int = _lever(8, "white", "training batch size", ge=1, le=256)
    warmup_steps: int = _lever(0, "white", "linear learning-rate warmup steps", ge=0, le=10_000)
    lr_schedule: Literal["constant", "linear", "cosine"] = _lever(
        "constant", "white", "learning rate after warmup: constant, or decaying linearly or along a half cosine toward 0 at the end"
    )
    train_fraction: float = _lever(1.0, "white", "fraction of the train split used", gt=0, le=1)
    data_selection: Literal["random", "clusters", "difficulty", "dedup", "dsir"] = _lever(
        "random",
        "white",
        "which train rows: random; covering MiniLM clusters; a base-model loss band; "
        "near-duplicates removed; importance-resampled toward validation (DSIR)",
    )
    difficulty_band: Literal["easy", "medium", "hard"] = _lever("medium", "white", "difficulty selection: which loss band")

    @model_validator(mode="after")
    def _valid_combination(self) -> Strategy:
        # Combinations that cannot mean anything are refused here, naming both levers.
        if self.adapter != "none" and self.data_selection == "difficulty" and self.train_fraction > 1 / 3:
            raise ValueError(
                f"data_selection=difficulty picks a band from a pool three times its size: "
                f"train_fraction must be at most 0.33, got {self.train_fraction}"
            )
        if self.adapter != "none" and self.data_selection in ("clusters", "dsir") and self.train_fraction == 1.0:
            raise ValueError(f"data_selection={self.data_selection} selects nothing with train_fraction=1.0; lower train_fraction")
        if self.adapter != "none" and self.warmup_steps >= self.steps:
            raise ValueError(f"warmup_steps ({self.warmup_steps}) must be below steps ({self.steps})")
        return self

    @field_validator("template")
    @classmethod
    def _known_template(cls, value: str) -> str:
        if value not in TEMPLATES:
            raise ValueError(f"unknown template {value!r}; known: {', '.join(sorted(TEMPLATES))}")
        return value

    @field_validator("lora_layers")
    @classmethod
    def _layers_pattern(cls, value: str) -> str:
        if not _LAYERS.match(value):
            raise ValueError(f"{value!r} is not all, top:N, bottom:N, middle:N, every:K or a list like 0,3,5")
        return value

    @field_validator("lora_target_modules")
    @classmethod
    def _modules_list(cls, value: str) -> str:
        if not _MODULES.match(value):
            raise ValueError(f"{value!r} is not a comma-separated list of module names")
        return value

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "strategy") -> Strategy:
        """Build from plain values; an invalid value raises ConfigError naming the field."""
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ConfigError(format_validation_error(error, where)) from None

    @classmethod
    def from_json(cls, text: str) -> Strategy:
        return cls.from_dict(json.loads(text))

    def to_json(self) -> str:
        return self.model_dump_json()

    @property
    def trains(self) -> bool:
        return self.adapter != "none"

    def cut_short(self, step: int) -> bool:
        """Whether a result at ``step`` stopped before this strategy's last step (ASHA stopped it)."""
        return self.trains and step < self.steps

    def levels(self) -> list[str]:
        """The survey levels this strategy uses (a hybrid uses several)."""
        used = set()
        if self.retrieval != "none" or self.kg_facts:
            used.add("black")
        if self.n_shots or self.template != "plain" or self.scoring != "mean" or self.adapter in ("prompt_tuning", "prefix_tuning"):
            used.add("grey")
        if self.adapter in ("lora", "full"):
            used.add("white")
        return [level for level in LEVELS if level in used] or ["none"]

    def describe(self) -> str:
        """A short human label, e.g. ``bm25 top3 + chat 3-shot + LoRA r8 q_proj,v_proj top:8 lr1.0e-03 16 steps``."""
        parts = []
        if self.retrieval != "none":
            parts.append(f"{self.retrieval} top{self.top_k}")
        if self.kg_facts:
            parts.append(f"{self.kg_facts} KG facts")
        shots = f" {self.n_shots}-shot" + (f" {self.exemplar_selection}" if self.n_shots else "")
        parts.append(f"{self.template}{shots}" + (" calibrated" if self.scoring == "calibrated" else ""))
        if self.adapter == "lora":
            extra = "".join([" rs" if self.lora_rslora else "", " dora" if self.lora_dora else ""])
            parts.append(f"LoRA r{self.lora_rank} a{self.lora_alpha:g}{extra} {self.lora_target_modules} {self.lora_layers}")
        elif self.adapter in ("prompt_tuning", "prefix_tuning"):
            parts.append(f"{self.adapter.replace('_', ' ')} {self.virtual_tokens} tokens")
        elif self.adapter == "full":
            parts.append("full fine-tune")
        if self.trains:
            parts[-1] += (
                f" lr{self.learning_rate:.1e} {self.steps} steps b{self.batch_size}"
                f" on {self.train_fraction:.0%} {self.data_selection}"
            )
        extra = [_lever_note(name, value) for name, value in self.active().items() if name not in _LABELLED and value != _DEFAULTS[name]]
        return " + ".join(parts) + "".join(f", {note}" for note in extra)

    def active(self) -> dict[str, Any]:
        """Only the levers that matter: a child lever is dropped when its parent is off."""
        return {name: value for name, value in self.model_dump().items() if CONDITIONS.get(name, _always)(self)}


# The levers describe() names in its main label; any other active lever off its default is added
# after it, so two strategies that differ in an active lever never share a label.
_LABELLED = frozenset({
    "retrieval", "top_k", "kg_facts", "template", "n_shots", "exemplar_selection", "scoring", "adapter",
    "lora_rank", "lora_alpha", "lora_rslora", "lora_dora", "lora_target_modules", "lora_layers", "virtual_tokens",
    "learning_rate", "steps", "batch_size", "train_fraction", "data_selection",
})
_DEFAULTS = {name: info.default for name, info in Strategy.model_fields.items()}


def _lever_note(name: str, value: Any) -> str:
    if name == "passage_position":
        return f"passages {value.replace('_', ' ')}"
    if name == "chunk_words":
        return f"{value}-word chunks"
    return f"{name}={value}"


def _always(strategy: Strategy) -> bool:
    return True


def _retrieves(strategy: Strategy) -> bool:
    return strategy.retrieval != "none"


def _augments(strategy: Strategy) -> bool:
    return strategy.retrieval != "none" or strategy.kg_facts > 0


def _trains(strategy: Strategy) -> bool:
    return strategy.adapter != "none"


# When each conditional lever matters; every other lever always does. One home for the tree.
CONDITIONS: dict[str, Callable[[Strategy], bool]] = {
    "top_k": _retrieves,
    "chunk_words": _retrieves,
    "passage_position": _augments,
    "exemplar_selection": lambda s: s.n_shots > 0,
    "virtual_tokens": lambda s: s.adapter in ("prompt_tuning", "prefix_tuning"),
    "soft_prompt_init": lambda s: s.adapter == "prompt_tuning",
    **{
        name: (lambda s: s.adapter == "lora")
        for name in ("lora_rank", "lora_alpha", "lora_dropout", "lora_target_modules", "lora_layers", "lora_rslora", "lora_dora")
    },
    **{
        name: _trains
        for name in ("learning_rate", "steps", "batch_size", "warmup_steps", "train_fraction", "data_selection")
    },
    "difficulty_band": lambda s: s.adapter != "none" and s.data_selection == "difficulty",
    # the default (constant) stays out of a strategy's key, so records made before the lever
    # existed keep theirs; a decaying schedule is part of it
    "lr_schedule": lambda s: s.adapter != "none" and s.lr_schedule != "constant",
}


def lever_levels() -> dict[str, str]:
    """Each lever's name mapped to its level."""
    return {
        name: (info.json_schema_extra or {}).get("level", "")  # type: ignore[union-attr]
        for name, info in Strategy.model_fields.items()
    }


def format_validation_error(error: ValidationError, where: str) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        value = item.get("input")
        shown = "" if item["type"] == "missing" or isinstance(value, dict) else f" (got {value!r})"
        lines.append(f"{where}: {key}: {message}{shown}")
    return "\n".join(lines)


def resolve_layers(pattern: str, n_layers: int) -> list[int]:
    """Turn a layer pattern into explicit layer indices for a model with n_layers."""
    kind, _, arg = pattern.partition(":")
    if pattern == "all":
        layers = list(range(n_layers))
    elif kind in ("top", "bottom", "middle"):
        count = int(arg)
        if not 1 <= count <= n_layers:
            raise ConfigError(f"lora_layers: {pattern!r} needs 1..{n_layers} layers, the model has {n_layers}")
        start = {"top": n_layers - count, "bottom": 0, "middle": (n_layers - count) // 2}[kind]
        layers = list(range(start, start + count))
    elif kind == "every":
        step = int(arg)
        if step < 1:
            raise ConfigError(f"lora_layers: {pattern!r}: step must be at least 1")
        layers = list(range(0, n_layers, step))
    else:
        layers = sorted({int(part) for part in pattern.split(",")})
        if layers[-1] >= n_layers:
            raise ConfigError(f"lora_layers: layer {layers[-1]} does not exist; the model has {n_layers} layers")
    return layers
