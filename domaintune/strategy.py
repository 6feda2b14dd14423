"""The strategy: one typed, validated, JSON-round-trippable choice of every lever.

Each field is a lever. Its ``level`` (black / grey / white box) is recorded in the field's
metadata so search spaces, reports and the meta-learner can group levers without a second
list. A new lever is one new field here and one place in the runner that reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domaintune.errors import ConfigError
from domaintune.prompts import TEMPLATES

LEVELS = ("black", "grey", "white")
_LAYERS = re.compile(r"^(all|(top|bottom|middle):\d+|every:\d+|\d+(,\d+)*)$")
_MODULES = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(,[A-Za-z_][A-Za-z0-9_]*)*$")


def _lever(default: Any, level: str, help: str, **constraints: Any) -> Any:
    return Field(default, description=help, json_schema_extra={"level": level}, **constraints)


class Strategy(BaseModel):
    """How to specialize the base model to a domain for one trial."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # grey-box: prompt crafting
    template: str = _lever("plain", "grey", "prompt template name (see domaintune.prompts)")
    n_shots: int = _lever(0, "grey", "few-shot exemplars from the train split", ge=0, le=16)
    # white-box: fine-tuning
    lora: bool = _lever(False, "white", "fine-tune a LoRA adapter on the train split")
    lora_rank: int = _lever(8, "white", "LoRA rank r", ge=1, le=512)
    lora_alpha: float = _lever(16.0, "white", "LoRA alpha (scale = alpha / r)", gt=0)
    lora_dropout: float = _lever(0.0, "white", "dropout on the LoRA input", ge=0, lt=1)
    lora_target_modules: str = _lever("q_proj,v_proj", "white", "comma-separated module names to adapt")
    lora_layers: str = _lever(
        "all", "white", "layers to adapt: all | top:N | bottom:N | middle:N | every:K | 0,3,5"
    )
    learning_rate: float = _lever(1e-3, "white", "AdamW learning rate", gt=0, le=1)
    steps: int = _lever(20, "white", "optimizer steps", ge=1, le=100_000)
    train_fraction: float = _lever(1.0, "white", "fraction of the train split used", gt=0, le=1)

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

    def levels(self) -> list[str]:
        """The survey levels this strategy uses (a hybrid uses several)."""
        used = {"grey"} if (self.n_shots or self.template != "plain") else set()
        if self.lora:
            used.add("white")
        return [level for level in LEVELS if level in used] or ["none"]

    def describe(self) -> str:
        """A short human label, e.g. ``chat 3-shot + LoRA r8 q_proj,v_proj top:8 lr1.0e-03 16 steps``."""
        text = f"{self.template} {self.n_shots}-shot"
        if self.lora:
            text += (
                f" + LoRA r{self.lora_rank} a{self.lora_alpha:g} {self.lora_target_modules} {self.lora_layers}"
                f" lr{self.learning_rate:.1e} {self.steps} steps on {self.train_fraction:.0%} of train"
            )
        return text

    def active(self) -> dict[str, Any]:
        """Only the levers that matter: LoRA settings are dropped when LoRA is off."""
        values = self.model_dump()
        if not self.lora:
            for name in list(values):
                if name.startswith("lora_") or name in ("learning_rate", "steps", "train_fraction"):
                    del values[name]
        return values


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
