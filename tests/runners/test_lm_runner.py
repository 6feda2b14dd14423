from __future__ import annotations

import pytest
import torch

from domaintune.runners import LMRunner, RunnerSettings
from domaintune.runners._selection import training_subset
from domaintune.runners._adapters import apply_lora, batches, train
from domaintune.runners._prompting import PromptBuilder
from domaintune.strategy import Strategy


def test_runner_reports_at_intervals_and_returns_cost(tiny_model_dir, small_domain, tmp_path):
    settings = RunnerSettings(model=tiny_model_dir, questions=6, eval_every=2)
    reports = []
    strategy = Strategy(adapter="lora", steps=5, lora_rank=4, lora_layers="top:2")
    result = LMRunner(settings).run(
        small_domain, strategy, report=lambda step, m, c: reports.append((step, m, c)), adapter_dir=str(tmp_path / "a")
    )
    assert [step for step, _, _ in reports] == [2, 4, 5]
    assert 0.0 <= result.metrics["accuracy"] <= 1.0 and result.steps == 5 and len(result.train_losses) == 5
    cost = result.cost
    assert cost["train_seconds"] > 0 and cost["eval_seconds"] > 0 and cost["train_tokens"] > 0
    assert cost["trainable_params"] == 4 * (32 + 32 + 32 + 16) * 2  # q 32->32, v 32->16, 2 layers
    assert reports[-1][2]["train_tokens"] == cost["train_tokens"]
    # The saved adapter reproduces the last reported score exactly.
    again = LMRunner(settings).run(small_domain, strategy, load_adapter=result.adapter_dir)
    assert again.metrics["accuracy"] == result.metrics["accuracy"]


def test_prompt_only_strategy_trains_nothing_and_pays_prompt_tokens(tiny_model_dir, small_domain):
    settings = RunnerSettings(model=tiny_model_dir, questions=4)
    zero = LMRunner(settings).run(small_domain, Strategy())
    shots = LMRunner(settings).run(small_domain, Strategy(n_shots=3))
    assert zero.cost["trainable_params"] == 0 and zero.cost["train_seconds"] == 0 and zero.steps == 0
    assert shots.cost["prompt_tokens"] > zero.cost["prompt_tokens"] + 30


@pytest.mark.parametrize("template", ["plain", "chat"])
@pytest.mark.parametrize("selection", ["random", "similar", "diverse"])
def test_calibrated_scoring_runs_with_every_exemplar_selection(tiny_model_dir, small_domain, template, selection):
    # per-question exemplars (similar) share no prefix: the content-free prior once crashed on them
    settings = RunnerSettings(model=tiny_model_dir, questions=4)
    strategy = Strategy(template=template, n_shots=2, exemplar_selection=selection, scoring="calibrated")
    result = LMRunner(settings).run(small_domain, strategy)
    assert result.questions == 4 and 0.0 <= result.metrics["accuracy"] <= 1.0


def test_train_fraction_sets_the_subset_size(small_domain):
    rows = small_domain.view().splits["train"]
    assert len(training_subset(rows, round(0.25 * len(rows)), "random", seed=0)) == 16
    assert training_subset(rows, 16, "random", seed=0) == training_subset(rows, 16, "random", seed=0)


@pytest.mark.slow
def test_a_few_lora_steps_lower_the_loss_on_real_data_with_the_real_model(smollm2_dir, jargon):
    """Held-out batch loss before vs after 6 steps on the Jargon train split (real SmolLM2)."""
    from domaintune.lm import load_model

    torch.set_num_threads(1)
    model, tokenizer = load_model(smollm2_dir)
    builder = PromptBuilder(tokenizer, "instruction", jargon.title, [], view="term_to_definition")
    examples = [builder.training_example(row) for row in jargon.view().splits["train"][:16]]
    strategy = Strategy(adapter="lora", lora_rank=8, lora_layers="top:8", learning_rate=3e-3, steps=6)
    model = apply_lora(model, strategy, seed=0)
    ids, mask, labels, _ = next(batches(examples[:8], 8, 96, tokenizer.pad_token_id, seed=1))

    def batch_loss() -> float:
        with torch.no_grad():
            return float(model(input_ids=ids, attention_mask=mask, labels=labels).loss)

    before = batch_loss()
    losses = []
    train(model, examples[:8], strategy.model_copy(update={"batch_size": 4}), 96, tokenizer.pad_token_id, 0, lambda step, loss, tokens: losses.append(loss))
    after = batch_loss()
    assert after < before - 0.2, (before, after, losses)


def test_difficulty_losses_in_batches_equal_one_row_at_a_time(tiny_model_dir, small_domain):
    from domaintune.lm import load_model
    from domaintune.runners._adapters import batches
    from domaintune.runners._selection import LOSS_BATCH, example_losses

    model, tokenizer = load_model(tiny_model_dir, None, False, "cpu", torch.float32)
    builder = PromptBuilder(tokenizer, "instruction", "jargon", None, view="definition_to_term")
    rows = small_domain.view("definition_to_term").splits["train"][: LOSS_BATCH + 3]  # a full batch and a ragged one
    batched = example_losses(model, builder, tokenizer.pad_token_id, 64)(rows)
    with torch.no_grad():
        single = [float(model(input_ids=i, attention_mask=m, labels=l).loss)
                  for i, m, l, _ in (next(batches([builder.training_example(r)], 1, 64, tokenizer.pad_token_id, 0)) for r in rows)]
    cut = [i for i, loss in enumerate(single) if loss != loss]  # answers max_length cut off: NaN one at a time
    assert all(batched[i] == float("inf") for i in cut) and len(cut) < len(rows)
    assert [b for i, b in enumerate(batched) if i not in cut] == pytest.approx([x for i, x in enumerate(single) if i not in cut], rel=1e-4, abs=1e-5)
