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


TEMPLATES = ["plain", "instruction", "expert", "cloze", "qa", "chat"]
BLACKBOX = {
    "retrieval": ["none", "bm25", "dense", "hybrid"],
    "top_k": [1, 3, 5],
    "chunk_words": [0, 30],
    "passage_position": ["before_question", "before_exemplars"],
    "kg_facts": [0, 3, 6],
}
GREYBOX = {
    "template": TEMPLATES,
    "scoring": ["mean", "calibrated"],
    "n_shots": [0, 1, 3, 5],
    "exemplar_selection": ["random", "similar", "diverse"],
}
SOFT_PROMPT = {"virtual_tokens": [4, 8, 16], "soft_prompt_init": ["text", "random"]}
LORA = {
    "lora_rank": [4, 8, 16],
    "lora_alpha": [8.0, 16.0, 32.0],
    "lora_dropout": {"low": 0.0, "high": 0.1},
    "lora_target_modules": ["q_proj,v_proj", "q_proj,k_proj,v_proj,o_proj", "gate_proj,up_proj,down_proj"],
    "lora_layers": ["all", "top:8", "top:4", "middle:8", "bottom:8", "every:2"],
    "lora_rslora": [False, True],
    "lora_dora": [False, True],
}
TRAINING = {
    "learning_rate": {"low": 3e-4, "high": 3e-3, "log": True},
    "steps": [12, 24],
    "batch_size": [4, 8],
    "warmup_steps": [0, 4],
    "lr_schedule": ["constant", "linear", "cosine"],
    "train_fraction": [0.25, 0.5, 1.0],
    "data_selection": ["random", "clusters", "difficulty", "dedup", "dsir"],
    "difficulty_band": ["easy", "medium", "hard"],
}

register_space("blackbox", {**BLACKBOX, "retrieval": ["bm25", "dense", "hybrid"]}, "retrieval from the domain's knowledge corpus only")
register_space(
    "greybox",
    {**GREYBOX, "adapter": ["none", "prompt_tuning", "prefix_tuning"], **SOFT_PROMPT, **TRAINING, "steps": [12, 24]},
    "prompt crafting: templates, few-shot exemplars and their selection, soft prompts (prompt/prefix tuning)",
)
register_space(
    "whitebox",
    {"adapter": ["lora", "full"], **LORA, **TRAINING},
    "fine-tuning: LoRA (rank, alpha, dropout, modules, layers, rsLoRA, DoRA) or all weights, and the data it sees",
)
register_space(
    "hybrid",
    {
        "retrieval": ["none", "bm25"],
        "top_k": [1, 3],
        "template": ["plain", "instruction", "chat"],
        "n_shots": [0, 1, 3],
        "adapter": ["none", "lora"],
        "lora_rank": [4, 8, 16],
        "lora_alpha": [16.0, 32.0],
        "lora_target_modules": ["q_proj,v_proj", "q_proj,k_proj,v_proj,o_proj"],
        "lora_layers": ["all", "top:8", "top:4"],
        "learning_rate": {"low": 5e-4, "high": 3e-3, "log": True},
        "steps": [12, 24],
        "batch_size": 4,
        "train_fraction": [0.5, 1.0],
    },
    "a small mix of all three levels (child levers apply only when their parent is on)",
)
register_space(
    "all",
    {**BLACKBOX, **GREYBOX, "adapter": ["none", "lora", "prompt_tuning", "prefix_tuning", "full"], **SOFT_PROMPT, **LORA, **TRAINING},
    "every lever at once",
)
