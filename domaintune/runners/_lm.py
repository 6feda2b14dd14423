"""The language-model runner: build prompts, optionally train an adapter, score a domain's split."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError
from domaintune.runners._base import Report, TrialResult, question_id, scored_rows
from domaintune.runners._prompting import EncodedItem, PromptBuilder
from domaintune.runners._selection import example_losses
from domaintune.runners._settings import RunnerSettings

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.strategy import Strategy

METRIC = "accuracy"
CONTENT_FREE = "N/A"  # the query whose option scores are the model's prior (calibrated scoring)
SOFT_PROMPTS = ("prompt_tuning", "prefix_tuning")  # adapters that live in the prompt's KV cache


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
        from domaintune.runners._device import resolve_device, resolve_dtype

        s = self.settings
        self.device = resolve_device(s.device)
        if domain.task == "glossary":
            domain = domain.view()  # a glossary is asked in its first view unless the caller chose one
        torch.set_num_threads(s.threads)
        torch.manual_seed(s.seed)
        validation = split == "validation"
        rows = scored_rows(domain, split, s.questions if validation else s.test_questions, s.seed, skip=s.skip_questions if validation else 0)
        if not rows:
            raise ConfigError(f"domain {domain.name!r}: its {split} split has no questions")
        model, tokenizer = load_model(s.model, s.cache_dir, s.trust_remote_code, self.device, resolve_dtype(self.device, s.dtype))
        started = time.perf_counter()
        prompts = _encode(domain, strategy, rows, tokenizer, s.seed)
        result = _first_result(split, rows, prompts, strategy, model, time.perf_counter() - started)
        trains_here = strategy.trains and not load_adapter
        losses = None
        if trains_here and strategy.data_selection == "difficulty":
            losses = example_losses(model, prompts.builder, tokenizer.pad_token_id, s.max_length)
        trial = _Trial(self, model, tokenizer, prompts, strategy, result, report, adapter_dir)
        trial.adapt(load_adapter)
        if trains_here:
            trial.train(domain, losses)
        else:
            trial.evaluate(strategy.steps if strategy.trains else 0)
        return result


@dataclass
class _Prompts:
    """A split's questions encoded for one strategy, on one shared prefix."""

    builder: PromptBuilder
    items: list[EncodedItem]  # free-text questions (qa) have a query and no options
    qa: bool
    golds: list[str]  # the reference answers of free-text questions
    calibration: list[int] | None  # the content-free query of calibrated scoring

    @property
    def scored_tokens(self) -> int:
        return sum(len(item.query) + sum(map(len, item.options)) for item in self.items) + len(self.builder.prefix_ids)


def _encode(domain: Domain, strategy: Strategy, rows: list[dict[str, Any]], tokenizer: Any, seed: int) -> _Prompts:
    """The scored questions as the strategy asks them: its template, exemplars, retrieved passages and KG facts."""
    from domaintune.runners._graph import facts_for
    from domaintune.runners._retrieval import retriever
    from domaintune.runners._selection import fixed_exemplars, similar_exemplars

    train_split = domain.splits["train"]
    exemplars = fixed_exemplars(train_split, strategy.n_shots, strategy.exemplar_selection, seed)
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

    def shots(question: str) -> list[dict[str, Any]] | None:
        return pick(question) if pick else None

    def context(question: str) -> list[str]:
        passages = search.search(question, strategy.top_k) if search else []
        return passages + (facts_for(domain, question, strategy.kg_facts) if strategy.kg_facts else [])

    if domain.task == "qa":
        queries = [builder.query_ids(row["question"], shots(row["question"]), context(row["question"])) for row in rows]
        items = [EncodedItem(query=q, options=[], answer=0) for q in queries]
        return _Prompts(builder, items, qa=True, golds=[row["answer"] for row in rows], calibration=None)
    items = [builder.encode(row, exemplars=shots(row["question"]), passages=context(row["question"])) for row in rows]
    # the content-free prior sees the exemplars the strategy would show for a content-free question
    calibration = builder.query_ids(CONTENT_FREE, shots(CONTENT_FREE)) if strategy.scoring == "calibrated" else None
    return _Prompts(builder, items, qa=False, golds=[], calibration=calibration)


def _first_result(
    split: str, rows: list[dict[str, Any]], prompts: _Prompts, strategy: Strategy, model: Any, prepare_seconds: float
) -> TrialResult:
    """The result before any step: which questions, and the cost of building their prompts."""
    prefix, items = prompts.builder.prefix_ids, prompts.items
    soft_prompt = strategy.virtual_tokens if strategy.adapter in SOFT_PROMPTS else 0
    result = TrialResult(metrics={}, cost={}, split=split, questions=len(rows), question_ids=[question_id(r) for r in rows])
    result.cost.update(
        train_seconds=0.0,
        eval_seconds=prepare_seconds,
        trainable_params=0.0,
        total_params=float(sum(p.numel() for p in model.parameters())),
        train_tokens=0.0,
        train_flops=0.0,
        eval_flops=0.0,
        prompt_tokens=len(prefix) + sum(len(item.query) for item in items) / len(items) + soft_prompt,
        peak_memory_mb=0.0,
    )
    return result


class _Trial:
    """One run of a strategy on one split: the model as the strategy adapts it, scored at each report."""

    def __init__(
        self, runner: LMRunner, model: Any, tokenizer: Any, prompts: _Prompts, strategy: Strategy,
        result: TrialResult, report: Report | None, adapter_dir: str | None,
    ):
        self.settings, self.device = runner.settings, runner.device
        self.model, self.tokenizer, self.prompts, self.strategy = model, tokenizer, prompts, strategy
        self.result, self.report, self.adapter_dir = result, report, adapter_dir
        self.total_params = result.cost["total_params"]

    def adapt(self, load_adapter: str | None) -> None:
        """A training strategy's adapter: its trained one loaded from ``load_adapter``, else a fresh one to train."""
        if not self.strategy.trains:
            return
        if load_adapter:
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, load_adapter)
            return
        from domaintune.runners._adapters import apply_adapter

        self.model = apply_adapter(self.model, self.tokenizer, self.strategy, self.prompts.builder.instruction_text(), self.settings.seed)
        self.result.cost["trainable_params"] = float(sum(p.numel() for p in self.model.parameters() if p.requires_grad))

    def train(self, domain: Domain, losses: Any) -> None:
        """Train on the strategy's share of the train split, scoring every ``eval_every`` steps and at the last."""
        from domaintune.runners._adapters import train
        from domaintune.runners._selection import training_subset

        s, strategy, result, cost = self.settings, self.strategy, self.result, self.result.cost
        train_split = domain.splits["train"]
        size = max(1, round(strategy.train_fraction * len(train_split)))
        target = [row["question"] for row in domain.splits["validation"]]
        subset = training_subset(train_split, size, strategy.data_selection, s.seed, target=target, losses=losses, band=strategy.difficulty_band)
        examples = [self.prompts.builder.training_example(row) for row in subset]
        clock = [time.perf_counter()]
        trainable = cost["trainable_params"]

        def on_step(step: int, loss: float, tokens: int) -> None:
            result.train_losses.append(loss)
            cost["train_tokens"] += tokens
            # forward 2N + backward through activations 2N + weight gradients 2T, per token
            cost["train_flops"] += tokens * (4.0 * self.total_params + 2.0 * trainable)
            cost["train_seconds"] += time.perf_counter() - clock[0]
            if step % s.eval_every == 0 or step == strategy.steps:
                self.evaluate(step)
            clock[0] = time.perf_counter()

        train(self.model, examples, strategy, s.max_length, self.tokenizer.pad_token_id, s.seed, on_step)

    def evaluate(self, step: int) -> None:
        """Score the split now, report metrics and cost, and keep the adapter that scored them."""
        import torch

        began = time.perf_counter()
        result, cost = self.result, self.result.cost
        metrics = self._qa_metrics() if self.prompts.qa else self._choice_metrics()
        cost["eval_seconds"] += time.perf_counter() - began
        cost["peak_memory_mb"] = (
            torch.cuda.max_memory_allocated() / 2**20 if self.device == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        if result.train_losses:
            metrics["train_loss"] = result.train_losses[-1]
        result.metrics, result.steps = metrics, step
        if self.adapter_dir is not None and self.strategy.trains and self.strategy.adapter != "full":
            # Saved at every report so the adapter always matches the last reported metric.
            self.model.save_pretrained(self.adapter_dir)
            result.adapter_dir = self.adapter_dir
        if self.report is not None:
            self.report(step, dict(metrics), dict(cost))

    def _start(self) -> tuple[Any, Any, int]:
        from domaintune.runners._adapters import prefix_cache

        return prefix_cache(self.model, self.strategy)

    def _qa_metrics(self) -> dict[str, float]:
        from domaintune.runners._generation import qa_scores

        p = self.prompts
        queries = [item.query for item in p.items]
        metrics, generated, self.result.outcomes = qa_scores(
            self.model, p.builder.prefix_ids, queries, p.golds, self.tokenizer, self.settings.max_new_tokens, self._start
        )
        self.result.cost["eval_flops"] += 2.0 * self.total_params * (p.scored_tokens + generated)
        return metrics

    def _choice_metrics(self) -> dict[str, float]:
        from domaintune.runners._choices import choices, choices_batched

        p, s, pad_id = self.prompts, self.settings, self.tokenizer.pad_token_id
        if self.device != "cpu" and self.strategy.adapter not in SOFT_PROMPTS:
            # A GPU is fed many questions at once; a CPU is fastest on a shared prompt cache,
            # packed (pack_tokens); a soft prompt needs that cache (see prefix_cache).
            predictions = choices_batched(self.model, p.builder.prefix_ids, p.items, pad_id, s.eval_batch_size, p.calibration)
        else:
            predictions = choices(self.model, p.builder.prefix_ids, p.items, pad_id, start=self._start, calibration=p.calibration, pack_tokens=s.pack_tokens)
        self.result.predictions = predictions
        self.result.outcomes = [int(choice == item.answer) for choice, item in zip(predictions, p.items)]
        self.result.cost["eval_flops"] += 2.0 * self.total_params * p.scored_tokens
        return {METRIC: sum(self.result.outcomes) / len(self.result.outcomes)}
