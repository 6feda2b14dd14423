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


def _tiny_gemma3():
    """A 4-layer randomly initialized Gemma 3 whose sliding window (4 tokens) a short pass crosses."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=2,
                              num_key_value_heads=1, head_dim=16, sliding_window=4, max_position_embeddings=128)
    torch.manual_seed(0)
    return Gemma3ForCausalLM(config).eval()


def test_a_prefix_on_a_sliding_window_model_rolls_back_after_a_pass_longer_than_the_window():
    """peft gives Gemma's prefix a cache with sliding-window layers, which refuse to crop once a
    pass crosses the window (the v3 build's prefix-tuning cells on Gemma 3 270M failed so): the
    scoring cache keeps every token, so it rolls back, and a question scores the same every time."""
    import torch
    from peft import PrefixTuningConfig, get_peft_model

    from domaintune.runners._adapters import prefix_cache
    from domaintune.runners._scoring import crop_to

    peft_model = get_peft_model(_tiny_gemma3(), PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3))
    strategy = Strategy.from_dict({"template": "instruction", "adapter": "prefix_tuning", "virtual_tokens": 3})
    base, cache, length = prefix_cache(peft_model, strategy)
    assert length == 3 and cache.get_seq_length() == 3
    question = torch.arange(1, 11).unsqueeze(0)  # 10 tokens: more than the window
    with torch.no_grad():
        first = base(input_ids=question, past_key_values=cache, use_cache=True).logits
        crop_to(cache, length)
        again = base(input_ids=question, past_key_values=cache, use_cache=True).logits
    assert cache.get_seq_length() == 13 and torch.allclose(first, again)
