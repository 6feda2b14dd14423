"""The language-model runner: prompt, optionally LoRA-train, and score a domain's split."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError
from domaintune.runners._base import Report, TrialResult
from domaintune.runners._prompting import PromptBuilder, choose_exemplars
from domaintune.runners._settings import RunnerSettings

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.strategy import Strategy

METRIC = "accuracy"


def scored_rows(domain: Domain, split: str, limit: int, seed: int) -> list[dict[str, Any]]:
    """A fixed, seeded sample of a split: every trial of a sweep scores the same questions."""
    if split not in domain.splits:
        raise ConfigError(f"split {split!r} not in domain {domain.name!r} ({', '.join(domain.splits)})")
    rows = list(domain.splits[split])
    random.Random(seed).shuffle(rows)
    return rows[:limit] if limit else rows


def training_rows(domain: Domain, fraction: float, seed: int) -> list[dict[str, Any]]:
    """The seeded subset of the train split a strategy fine-tunes on."""
    rows = list(domain.splits["train"])
    random.Random(seed).shuffle(rows)
    return rows[: max(1, round(fraction * len(rows)))]


class LMRunner:
    """Evaluates strategies with a real causal LM; runs bare (no Ray, no MLflow)."""

    def __init__(self, settings: RunnerSettings | None = None):
        self.settings = settings or RunnerSettings()

    def run(
        self,
        domain: Domain,
        strategy: Strategy,
        report: Report | None = None,
        split: str = "validation",
        adapter_dir: str | None = None,
        load_adapter: str | None = None,
    ) -> TrialResult:
        """Score ``split``. With LoRA, train first (reporting every ``eval_every`` steps),
        or load a trained adapter from ``load_adapter``; ``adapter_dir`` keeps the adapter."""
        import torch

        from domaintune.models import load_model
        from domaintune.runners._lora import apply_lora, train
        from domaintune.runners._scoring import accuracy

        s = self.settings
        if domain.task != "multiple_choice":
            domain = domain.view()  # a glossary is asked in its first view unless the caller chose one
        torch.set_num_threads(s.threads)
        torch.manual_seed(s.seed)
        rows = scored_rows(domain, split, s.eval_examples if split == "validation" else s.test_examples, s.seed)
        model, tokenizer = load_model(s.model, s.cache_dir, s.trust_remote_code)
        builder = PromptBuilder(
            tokenizer,
            strategy.template,
            domain.title or domain.name,
            choose_exemplars(domain.splits["train"], strategy.n_shots, s.seed),
            view=domain.view_name or "multiple_choice",
        )
        items = [builder.encode(row) for row in rows]
        result = TrialResult(metrics={}, cost={}, split=split)
        cost = result.cost
        cost.update(
            train_seconds=0.0,
            eval_seconds=0.0,
            trainable_params=0.0,
            total_params=float(sum(p.numel() for p in model.parameters())),
            train_tokens=0.0,
            prompt_tokens=len(builder.prefix_ids) + sum(len(item.query) for item in items) / len(items),
        )

        if strategy.lora and load_adapter:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, load_adapter)
        elif strategy.lora:
            model = apply_lora(model, strategy, s.seed)
            cost["trainable_params"] = float(model.get_nb_trainable_parameters()[0])

        def evaluate(step: int) -> None:
            started = time.perf_counter()
            metrics = {METRIC: accuracy(model, builder.prefix_ids, items, tokenizer.pad_token_id)}
            cost["eval_seconds"] += time.perf_counter() - started
            if result.train_losses:
                metrics["train_loss"] = result.train_losses[-1]
            result.metrics, result.steps = metrics, step
            if adapter_dir is not None and strategy.lora:
                # Saved at every report so the adapter always matches the last reported metric.
                model.save_pretrained(adapter_dir)
                result.adapter_dir = adapter_dir
            if report is not None:
                report(step, dict(metrics), dict(cost))

        if strategy.lora and not load_adapter:
            examples = [builder.training_example(row) for row in training_rows(domain, strategy.train_fraction, s.seed)]
            clock = [time.perf_counter()]

            def on_step(step: int, loss: float, tokens: int) -> None:
                result.train_losses.append(loss)
                cost["train_tokens"] += tokens
                cost["train_seconds"] += time.perf_counter() - clock[0]
                if step % s.eval_every == 0 or step == strategy.steps:
                    evaluate(step)
                clock[0] = time.perf_counter()

            train(model, examples, strategy, s.batch_size, s.max_length, tokenizer.pad_token_id, s.seed, on_step)
        else:
            evaluate(strategy.steps if strategy.lora else 0)
        return result
