"""Named search spaces, in a registry that refuses a duplicate name."""

from __future__ import annotations

from typing import Any

from domaintune.errors import ConfigError
from domaintune.search_spaces._base import SearchSpace

SPACES: dict[str, dict[str, Any]] = {}
DESCRIPTIONS: dict[str, str] = {}


def register_space(name: str, spec: dict[str, Any], description: str) -> None:
    if name in SPACES:
        raise ValueError(f"search space {name!r} is already registered")
    SearchSpace.parse(spec, where=f"search space {name!r}")  # fail at import, not mid-sweep
    SPACES[name] = spec
    DESCRIPTIONS[name] = description


def get_space(name: str) -> SearchSpace:
    if name not in SPACES:
        raise ConfigError(f"unknown search space {name!r}; known: {', '.join(sorted(SPACES))}")
    return SearchSpace.parse(SPACES[name], where=f"search space {name!r}")


register_space(
    "greybox",
    {"template": ["plain", "instruction", "expert", "chat"], "n_shots": [0, 1, 3, 5], "lora": False},
    "prompt crafting only: templates and few-shot exemplars",
)
register_space(
    "whitebox",
    {
        "lora": True,
        "lora_rank": [4, 8, 16],
        "lora_alpha": [8.0, 16.0, 32.0],
        "lora_dropout": {"low": 0.0, "high": 0.1},
        "lora_target_modules": ["q_proj,v_proj", "q_proj,k_proj,v_proj,o_proj", "gate_proj,up_proj,down_proj"],
        "lora_layers": ["all", "top:8", "top:4", "every:2"],
        "learning_rate": {"low": 3e-4, "high": 3e-3, "log": True},
        "steps": [12, 24],
        "train_fraction": [0.25, 0.5, 1.0],
    },
    "LoRA fine-tuning: rank, alpha, dropout, modules, layers, learning rate, steps, data fraction",
)
register_space(
    "hybrid",
    {
        "template": ["plain", "instruction", "expert", "chat"],
        "n_shots": [0, 1, 3],
        "lora": [False, True],
        "lora_rank": [4, 8, 16],
        "lora_alpha": [16.0, 32.0],
        "lora_target_modules": ["q_proj,v_proj", "q_proj,k_proj,v_proj,o_proj"],
        "lora_layers": ["all", "top:8", "top:4"],
        "learning_rate": {"low": 5e-4, "high": 3e-3, "log": True},
        "steps": [12, 24],
        "train_fraction": [0.5, 1.0],
    },
    "prompt crafting and LoRA together (LoRA levers apply when lora is true)",
)
