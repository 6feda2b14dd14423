from __future__ import annotations

import re

import pytest

from domaintune.errors import ConfigError
from domaintune.runners._adapters import apply_lora
from domaintune.strategy import Strategy, resolve_layers


def _expected_trainable(model, strategy: Strategy) -> int:
    """r * (in + out) for every targeted Linear in every chosen layer, from the model's own shapes."""
    layers = set(resolve_layers(strategy.lora_layers, model.config.num_hidden_layers))
    modules = set(strategy.lora_target_modules.split(","))
    total = 0
    for name, module in model.named_modules():
        match = re.search(r"layers\.(\d+)\..*\.(\w+)$", name)
        if match and int(match.group(1)) in layers and match.group(2) in modules:
            total += strategy.lora_rank * (module.in_features + module.out_features)
    return total


@pytest.mark.parametrize(
    ("modules", "layers", "rank"),
    [
        ("q_proj,v_proj", "all", 8),
        ("q_proj,k_proj,v_proj,o_proj", "top:2", 4),
        ("gate_proj,up_proj,down_proj", "every:2", 2),
        ("v_proj", "0,3", 16),
    ],
)
def test_lora_adapts_exactly_the_requested_layers_and_modules(tiny_model_dir, modules, layers, rank):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    strategy = Strategy(adapter="lora", lora_rank=rank, lora_target_modules=modules, lora_layers=layers)
    expected = _expected_trainable(model, strategy)
    peft_model = apply_lora(model, strategy, seed=0)
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert sum(p.numel() for p in peft_model.parameters() if p.requires_grad) == expected
    chosen = set(resolve_layers(layers, 4))
    assert {int(re.search(r"layers\.(\d+)\.", n).group(1)) for n in trainable} == chosen
    assert {re.search(r"\.(\w+)\.lora_", n).group(1) for n in trainable} == set(modules.split(","))


def test_real_model_count_matches_shapes(smollm2_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(smollm2_dir)
    strategy = Strategy(adapter="lora", lora_rank=8)
    # q: 576->576, v: 576->192 on 30 layers: 8 * (1152 + 768) * 30
    assert _expected_trainable(model, strategy) == 460_800
    assert apply_lora(model, strategy, 0).get_nb_trainable_parameters()[0] == 460_800


def test_unknown_module_is_an_error_naming_the_lever(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with pytest.raises(ConfigError, match="lora_target_modules: c_attn not found"):
        apply_lora(model, Strategy(adapter="lora", lora_target_modules="c_attn"), 0)
