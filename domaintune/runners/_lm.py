"""The language-model runner: build prompts, optionally train an adapter, score a domain's split."""

from __future__ import annotations

import resource
import time
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError
from domaintune.runners._base import Report, TrialResult, question_id, scored_rows
from domaintune.runners._prompting import EncodedItem, PromptBuilder
from domaintune.runners._settings import RunnerSettings

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.strategy import Strategy

METRIC = "accuracy"
CONTENT_FREE = "N/A"  # the query whose option scores are the model's prior (calibrated scoring)


LOSS_BATCH = 16  # rows scored per forward pass for difficulty-band selection


def _example_losses(model: Any, builder: PromptBuilder, pad_id: int, max_length: int) -> Any:
    """Per-row mean answer loss under the base model (for difficulty-band selection), LOSS_BATCH
    rows per forward pass (right-padded: a row's tokens see only themselves, as one at a time)."""
    import torch

    from domaintune.runners._adapters import pad_batch

    def losses(rows: list[dict[str, Any]]) -> list[float]:
        out: list[float] = []
        with torch.no_grad():
            for start in range(0, len(rows), LOSS_BATCH):
                chunk = [builder.training_example(row) for row in rows[start : start + LOSS_BATCH]]
                ids, mask, labels = (t.to(model.device) for t in pad_batch(chunk, max_length, pad_id)[:3])
                logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
                target = labels[:, 1:]
                per_token = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target.clamp(min=0), reduction="none")
                answer = target != -100
                mean = (per_token * answer).sum(1) / answer.sum(1).clamp(min=1)
                # a row whose answer max_length cut off has no loss: it ranks hardest (one at a time it was NaN)
                out += torch.where(answer.any(1), mean, torch.full_like(mean, float("inf"))).tolist()
        return out

    return losses


class LMRunner:
    """Evaluates strategies with a real causal LM; runs bare (no Ray, no MLflow)."""

    def __init__(self, settings: RunnerSettings | None = None):
        self.settings = settings or RunnerSettings()
        self.device = "cpu"  # resolved at each run: the GPU Ray gave this trial, if any

    def prepare(self) -> None:
        """Check the device and convert a built-in model once (or check that a model id or folder exists)."""
        from domaintune.lm import prepare_model
        from domaintune.runners._device import check_device

        check_device(self.settings.device)
        path = prepare_model(self.settings.model, self.settings.cache_dir)
        if path == self.settings.model:  # not a built-in: a folder or a hub id must give a config here
            from transformers import AutoConfig

            try:
                AutoConfig.from_pretrained(path, trust_remote_code=self.settings.trust_remote_code)
            except (OSError, ValueError) as error:
                from domaintune.lm import BUILTIN_MODELS

                raise ConfigError(
                    f"runner.model: {path!r} is not a built-in model ({', '.join(BUILTIN_MODELS)}), a folder with a "
                    f"config.json, or a model id that loads here ({type(error).__name__}: {str(error).splitlines()[0][:200]})"
                ) from None

    def run(
        self,
        domain: Domain,
        strategy: Strategy,
        report: Report | None = None,
        split: str = "validation",
        adapter_dir: str | None = None,
        load_adapter: str | None = None,
    ) -> TrialResult:
        """Score ``split``. A training strategy trains first (reporting every ``eval_every`` steps),
        or loads its trained adapter from ``load_adapter``; ``adapter_dir`` keeps the adapter."""
        import torch

        from domaintune.lm import load_model
        from domaintune.runners._adapters import apply_adapter, prefix_cache, train
        from domaintune.runners._generation import qa_scores
        from domaintune.runners._graph import facts_for
        from domaintune.runners._retrieval import retriever
        from domaintune.runners._scoring import choices
        from domaintune.runners._selection import fixed_exemplars, similar_exemplars, training_subset

        from domaintune.runners._device import resolve_device, resolve_dtype
        from domaintune.runners._scoring import choices_batched

        s = self.settings
        self.device = resolve_device(s.device)
        if domain.task == "glossary":
            domain = domain.view()  # a glossary is asked in its first view unless the caller chose one
        torch.set_num_threads(s.threads)
        torch.manual_seed(s.seed)
        rows = scored_rows(domain, split, s.questions if split == "validation" else s.test_questions, s.seed)
        if not rows:
            raise ConfigError(f"domain {domain.name!r}: its {split} split has no questions")
        train_split = domain.splits["train"]
        model, tokenizer = load_model(s.model, s.cache_dir, s.trust_remote_code, self.device, resolve_dtype(self.device, s.dtype))
        pad_id = tokenizer.pad_token_id
        total_params = sum(p.numel() for p in model.parameters())

        started = time.perf_counter()
        exemplars = fixed_exemplars(train_split, strategy.n_shots, strategy.exemplar_selection, s.seed)
        pick = similar_exemplars(train_split, strategy.n_shots) if exemplars is None else None
        search = None
        if strategy.retrieval != "none":
            if not domain.corpus:
                raise ConfigError(f"retrieval: domain {domain.name!r} has no knowledge corpus")
            search = retriever(domain, strategy.retrieval, strategy.chunk_words)
        builder = PromptBuilder(
            tokenizer,
            strategy.template,
            domain.title or domain.name,
            exemplars,
            view=domain.view_name or "multiple_choice",
            passages_first=strategy.passage_position == "before_exemplars",
        )
        def context(question: str) -> list[str]:
            passages = search.search(question, strategy.top_k) if search else []
            return passages + (facts_for(domain, question, strategy.kg_facts) if strategy.kg_facts else [])

        qa = domain.task == "qa"
        if qa:
            queries = [builder.query_ids(row["question"], pick(row["question"]) if pick else None, context(row["question"])) for row in rows]
            golds = [row["answer"] for row in rows]
            items = [EncodedItem(query=q, options=[], answer=0) for q in queries]
        else:
            items = [
                builder.encode(row, exemplars=pick(row["question"]) if pick else None, passages=context(row["question"]))
                for row in rows
            ]
        # the content-free prior sees the exemplars the strategy would show for a content-free question
        calibration = (
            builder.query_ids(CONTENT_FREE, pick(CONTENT_FREE) if pick else None) if strategy.scoring == "calibrated" and not qa else None
        )
        prepare_seconds = time.perf_counter() - started
        prompt_tokens = len(builder.prefix_ids) + sum(len(item.query) for item in items) / len(items)
        scored_tokens = sum(len(item.query) + sum(map(len, item.options)) for item in items) + len(builder.prefix_ids)
        result = TrialResult(metrics={}, cost={}, split=split, questions=len(rows), question_ids=[question_id(r) for r in rows])
        cost = result.cost
        cost.update(
            train_seconds=0.0,
            eval_seconds=prepare_seconds,
            trainable_params=0.0,
            total_params=float(total_params),
            train_tokens=0.0,
            train_flops=0.0,
            eval_flops=0.0,
            prompt_tokens=prompt_tokens + (strategy.virtual_tokens if strategy.adapter in ("prompt_tuning", "prefix_tuning") else 0),
            peak_memory_mb=0.0,
        )

        select_losses = None
        if strategy.trains and not load_adapter and strategy.data_selection == "difficulty":
            select_losses = _example_losses(model, builder, pad_id, s.max_length)
        if strategy.trains and load_adapter:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, load_adapter)
        elif strategy.trains:
            model = apply_adapter(model, tokenizer, strategy, builder.instruction_text(), s.seed)
            cost["trainable_params"] = float(sum(p.numel() for p in model.parameters() if p.requires_grad))

        def evaluate(step: int) -> None:
            began = time.perf_counter()
            start = lambda: prefix_cache(model, strategy)  # noqa: E731
            if qa:
                metrics, generated, result.outcomes = qa_scores(model, builder.prefix_ids, queries, golds, tokenizer, s.max_new_tokens, start)
                cost["eval_flops"] += 2.0 * total_params * (scored_tokens + generated)
            else:
                if self.device != "cpu" and strategy.adapter not in ("prompt_tuning", "prefix_tuning"):
                    # A GPU is fed many questions at once; a CPU is fastest on a shared prompt cache,
                    # packed (pack_tokens); a soft prompt needs that cache (see prefix_cache).
                    result.predictions = choices_batched(model, builder.prefix_ids, items, pad_id, s.eval_batch_size, calibration)
                else:
                    result.predictions = choices(
                        model, builder.prefix_ids, items, pad_id, start=start, calibration=calibration, pack_tokens=s.pack_tokens
                    )
                result.outcomes = [int(p == item.answer) for p, item in zip(result.predictions, items)]
                metrics = {METRIC: sum(result.outcomes) / len(result.outcomes)}
                cost["eval_flops"] += 2.0 * total_params * scored_tokens
            cost["eval_seconds"] += time.perf_counter() - began
            cost["peak_memory_mb"] = (
                torch.cuda.max_memory_allocated() / 2**20 if self.device == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            )
            if result.train_losses:
                metrics["train_loss"] = result.train_losses[-1]
            result.metrics, result.steps = metrics, step
            if adapter_dir is not None and strategy.trains and strategy.adapter != "full":
                # Saved at every report so the adapter always matches the last reported metric.
                model.save_pretrained(adapter_dir)
                result.adapter_dir = adapter_dir
            if report is not None:
                report(step, dict(metrics), dict(cost))

        if strategy.trains and not load_adapter:
            size = max(1, round(strategy.train_fraction * len(train_split)))
            target = [row["question"] for row in domain.splits["validation"]]
            subset = training_subset(
                train_split, size, strategy.data_selection, s.seed, target=target, losses=select_losses, band=strategy.difficulty_band
            )
            examples = [builder.training_example(row) for row in subset]
            clock = [time.perf_counter()]
            trainable = cost["trainable_params"]

            def on_step(step: int, loss: float, tokens: int) -> None:
                result.train_losses.append(loss)
                cost["train_tokens"] += tokens
                # forward 2N + backward through activations 2N + weight gradients 2T, per token
                cost["train_flops"] += tokens * (4.0 * total_params + 2.0 * trainable)
                cost["train_seconds"] += time.perf_counter() - clock[0]
                if step % s.eval_every == 0 or step == strategy.steps:
                    evaluate(step)
                clock[0] = time.perf_counter()

            train(model, examples, strategy, s.max_length, pad_id, s.seed, on_step)
        else:
            evaluate(strategy.steps if strategy.trains else 0)
        return result
