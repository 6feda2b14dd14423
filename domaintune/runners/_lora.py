"""White-box lever: LoRA adapters with peft, trained on the domain's train split."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from domaintune.errors import ConfigError
from domaintune.strategy import Strategy, resolve_layers


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
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def batches(
    examples: list[tuple[list[int], list[int]]], batch_size: int, max_length: int, pad_id: int, seed: int
) -> Iterator[tuple[Any, Any, Any, int]]:
    """Endless shuffled batches of (input_ids, attention_mask, labels, real tokens); loss on answers only."""
    import torch

    rng = random.Random(seed)
    order: list[int] = []
    while True:
        if len(order) < batch_size:
            fresh = list(range(len(examples)))
            rng.shuffle(fresh)
            order.extend(fresh)
        chosen, order = order[:batch_size], order[batch_size:]
        rows = []
        for index in chosen:
            prompt, answer = examples[index]
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
        yield input_ids, mask, labels, int(mask.sum())


def train(
    model: Any,
    examples: list[tuple[list[int], list[int]]],
    strategy: Strategy,
    batch_size: int,
    max_length: int,
    pad_id: int,
    seed: int,
    on_step: Callable[[int, float, int], None],
) -> int:
    """Run ``strategy.steps`` AdamW steps; call ``on_step(step, loss, tokens)`` after each. Returns tokens seen."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=strategy.learning_rate, weight_decay=0.0)
    tokens = 0
    stream = batches(examples, batch_size, max_length, pad_id, seed)
    for step in range(1, strategy.steps + 1):
        model.train()  # on_step may have evaluated in between
        input_ids, mask, labels, real = next(stream)
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += real
        on_step(step, float(loss.detach()), real)
    model.eval()
    return tokens
