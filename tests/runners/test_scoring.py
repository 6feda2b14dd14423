from __future__ import annotations

import pytest
import torch

from domaintune.runners._prompting import PromptBuilder, choose_exemplars
from domaintune.runners._choices import accuracy
from domaintune.runners._scoring import option_scores


def _naive_scores(model, ids_prefix, item):
    """Score each option with one full forward pass of prefix + query + option, no cache."""
    scores = []
    for option in item.options:
        ids = torch.tensor([ids_prefix + item.query + option])
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
        start = len(ids_prefix) + len(item.query)
        total = sum(logprobs[start - 1 + i, token].item() for i, token in enumerate(option))
        scores.append(total / len(option))
    return scores


@pytest.mark.parametrize("n_shots", [0, 2])
def test_cached_batched_scores_equal_full_forward_scores(tiny_model_dir, jargon, n_shots):
    from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    jargon = jargon.view()
    builder = PromptBuilder(tokenizer, "instruction", "jargon", choose_exemplars(jargon.splits["train"], n_shots, 0))
    with torch.no_grad():
        cache = DynamicCache(config=model.config)
        if builder.prefix_ids:
            model(input_ids=torch.tensor([builder.prefix_ids]), past_key_values=cache, use_cache=True)
        for row in jargon.splits["validation"][:3]:
            item = builder.encode(row)
            cached = option_scores(model, cache, len(builder.prefix_ids), item, tokenizer.pad_token_id)
            assert cached == pytest.approx(_naive_scores(model, builder.prefix_ids, item), abs=1e-4)
            # The shared prefix cache is restored for the next question.
            assert cache.get_seq_length() == len(builder.prefix_ids)


def test_accuracy_counts_argmax_hits(tiny_model_dir, jargon):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    builder = PromptBuilder(tokenizer, "plain", "jargon", [])
    items = [builder.encode(row) for row in jargon.view().splits["validation"][:8]]
    with torch.no_grad():
        expected = sum(
            max(range(4), key=_naive_scores(model, [], item).__getitem__) == item.answer for item in items
        ) / len(items)
    assert accuracy(model, [], items, tokenizer.pad_token_id) == pytest.approx(expected)


@pytest.mark.parametrize("n_shots,calibrated", [(0, False), (2, True)])
def test_packed_scoring_gives_the_same_scores_and_outcomes(tiny_model_dir, jargon, n_shots, calibrated):
    """The packed path (many questions and the calibration prior of every distinct option per
    forward pass) scores like the question-by-question path: same per-question outcomes."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

    from domaintune.runners._choices import outcomes
    from domaintune.runners._scoring import packed_option_scores

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    view = jargon.view()
    builder = PromptBuilder(tokenizer, "instruction", "jargon", choose_exemplars(view.splits["train"], n_shots, 0))
    items = [builder.encode(row) for row in view.splits["validation"][:16]]
    with torch.no_grad():
        cache = DynamicCache(config=model.config)
        if builder.prefix_ids:
            model(input_ids=torch.tensor([builder.prefix_ids]), past_key_values=cache, use_cache=True)
        packed = packed_option_scores(model, cache, len(builder.prefix_ids), items[:5])
        assert cache.get_seq_length() == len(builder.prefix_ids)  # cropped back for the next pack
        for item, scores in zip(items[:5], packed):
            assert scores == pytest.approx(option_scores(model, cache, len(builder.prefix_ids), item, tokenizer.pad_token_id), abs=1e-4)
    calibration = builder.query_ids("N/A") if calibrated else None
    old = outcomes(model, builder.prefix_ids, items, tokenizer.pad_token_id, calibration=calibration)
    for budget in (64, 512):  # several packs, and one
        assert outcomes(model, builder.prefix_ids, items, tokenizer.pad_token_id, calibration=calibration, pack_tokens=budget) == old
