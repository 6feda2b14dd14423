"""What gradient steps train: LoRA (white-box), every weight (white-box), or a soft prompt (grey-box)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from typing import Any

from domaintune.errors import ConfigError
from domaintune.strategy import Strategy, resolve_layers

FULL_FINETUNE_MAX_PARAMS = 2_000_000_000  # above this, full fine-tuning is refused (memory)


def apply_lora(model: Any, strategy: Strategy, seed: int) -> Any:
    """Wrap the model with a LoRA adapter on exactly the strategy's modules and layers."""
    import torch
    from peft import LoraConfig, get_peft_model

    n_layers = model.config.num_hidden_layers
    modules = strategy.lora_target_modules.split(",")
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [m for m in modules if m not in present]
    if missing:
        raise ConfigError(
            f"lora_target_modules: {', '.join(missing)} not found in the model "
            f"(it has e.g. {', '.join(sorted(p for p in present if p.endswith('proj')))})"
        )
    torch.manual_seed(seed)
    config = LoraConfig(
        r=strategy.lora_rank,
        lora_alpha=strategy.lora_alpha,
        lora_dropout=strategy.lora_dropout,
        target_modules=modules,
        layers_to_transform=resolve_layers(strategy.lora_layers, n_layers),
        use_rslora=strategy.lora_rslora,
        use_dora=strategy.lora_dora,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def apply_soft_prompt(model: Any, tokenizer: Any, strategy: Strategy, init_text: str, seed: int) -> Any:
    """Prompt tuning (virtual token embeddings) or prefix tuning (virtual keys/values per layer)."""
    import torch
    from peft import PrefixTuningConfig, PromptTuningConfig, PromptTuningInit, get_peft_model

    torch.manual_seed(seed)
    if strategy.adapter == "prefix_tuning":
        config: Any = PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=strategy.virtual_tokens)
    elif strategy.soft_prompt_init == "text":
        config = PromptTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=strategy.virtual_tokens,
            prompt_tuning_init=PromptTuningInit.TEXT,
            prompt_tuning_init_text=init_text,
            tokenizer_name_or_path=tokenizer.name_or_path,
        )
    else:
        config = PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=strategy.virtual_tokens)
    return get_peft_model(model, config)


def apply_adapter(model: Any, tokenizer: Any, strategy: Strategy, init_text: str, seed: int) -> Any:
    if strategy.adapter == "lora":
        return apply_lora(model, strategy, seed)
    if strategy.adapter in ("prompt_tuning", "prefix_tuning"):
        return apply_soft_prompt(model, tokenizer, strategy, init_text, seed)
    if strategy.adapter == "full":
        total = sum(p.numel() for p in model.parameters())
        if total > FULL_FINETUNE_MAX_PARAMS:
            raise ConfigError(f"adapter: full fine-tuning refused for a {total:,}-parameter model; use lora")
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        return model
    raise ConfigError(f"adapter: {strategy.adapter!r} trains nothing")


def prefix_cache(model: Any, strategy: Strategy) -> tuple[Any, Any, int]:
    """(model to score with, starting KV cache, its length): the soft prompt becomes a cached prefix.

    peft's forward re-inserts virtual tokens on every call, which a reused cache cannot take;
    so the trained soft prompt is run once through the base model and scoring continues on it.
    A prefix's keys and values are copied into a cache that keeps every token: peft builds Gemma's
    with sliding-window layers, which refuse to be cropped back once a packed pass crosses the window.
    """
    from domaintune.runners._scoring import new_cache

    if strategy.adapter == "prefix_tuning":
        cache = new_cache()
        for index, layer in enumerate(model.get_prompt(batch_size=1).layers):
            cache.update(layer.keys, layer.values, index)
        return model.get_base_model(), cache, strategy.virtual_tokens
    if strategy.adapter == "prompt_tuning":
        base = model.get_base_model()
        cache = new_cache()
        base(inputs_embeds=model.get_prompt(batch_size=1), past_key_values=cache, use_cache=True)
        return base, cache, strategy.virtual_tokens
    return model, new_cache(), 0


def batches(
    examples: list[tuple[list[int], list[int]]], batch_size: int, max_length: int, pad_id: int, seed: int
) -> Iterator[tuple[Any, Any, Any, int]]:
    """Endless shuffled batches of (input_ids, attention_mask, labels, real tokens); loss on answers only."""
    rng = random.Random(seed)
    order: list[int] = []
    while True:
        while len(order) < batch_size:
            fresh = list(range(len(examples)))
            rng.shuffle(fresh)
            order.extend(fresh)
        chosen, order = order[:batch_size], order[batch_size:]
        yield pad_batch([examples[index] for index in chosen], max_length, pad_id)


def pad_batch(examples: list[tuple[list[int], list[int]]], max_length: int, pad_id: int) -> tuple[Any, Any, Any, int]:
    """(prompt, answer) pairs in their order, right-padded: (input_ids, attention_mask, labels, real
    tokens), labels -100 outside the answers."""
    import torch

    rows = []
    for prompt, answer in examples:
        ids = (prompt + answer)[:max_length]
        labels = ([-100] * len(prompt) + answer)[:max_length]
        rows.append((ids, labels))
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for row, (ids, row_labels) in enumerate(rows):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
        labels[row, : len(ids)] = torch.tensor(row_labels)
    return input_ids, mask, labels, int(mask.sum())


def lr_factor(step: int, strategy: Strategy) -> float:
    """The share of ``learning_rate`` that optimizer step ``step`` (0-based) uses: a linear ramp
    reaching 1 at step ``warmup_steps``, then constant, or decaying linearly or along a half
    cosine toward 0 after the last step (as transformers' linear and cosine schedules do)."""
    warmup = strategy.warmup_steps
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = (step - warmup) / max(1, strategy.steps - warmup)
    if strategy.lr_schedule == "linear":
        return 1.0 - progress
    if strategy.lr_schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


def train(
    model: Any,
    examples: list[tuple[list[int], list[int]]],
    strategy: Strategy,
    max_length: int,
    pad_id: int,
    seed: int,
    on_step: Callable[[int, float, int], None],
) -> int:
    """Run ``strategy.steps`` AdamW steps with linear warmup, then the strategy's ``lr_schedule``;
    ``on_step(step, loss, tokens)`` after each."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=strategy.learning_rate, weight_decay=0.0)
    # Not transformers' schedules with warmup: their first step has learning rate 0, a wasted
    # step in budgets of 8-16 steps; this ramp reaches the full rate at step warmup + 1 and keeps
    # the recorded history's training reproducible (``lr_factor``).
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, strategy))
    tokens = 0
    stream = batches(examples, strategy.batch_size, max_length, pad_id, seed)
    for step in range(1, strategy.steps + 1):
        model.train()  # on_step may have evaluated in between
        input_ids, mask, labels, real = next(stream)
        device = next(model.parameters()).device
        input_ids, mask, labels = input_ids.to(device), mask.to(device), labels.to(device)
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += real
        on_step(step, float(loss.detach()), real)
    model.eval()
    return tokens
