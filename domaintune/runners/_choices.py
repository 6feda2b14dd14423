"""Which option each multiple-choice question gets: the highest score, calibrated against a content-free
query when asked, on the cached path (question by question or packed) or the GPU's batched path."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from domaintune.runners._prompting import EncodedItem
from domaintune.runners._scoring import batched_option_scores, new_cache, option_scores, packed_option_scores, prefix_device


Prior = dict[tuple[int, ...], float]  # an option's score under the content-free query, by its token ids


def _best(scores: list[float], options: list[list[int]], prior: Prior | None) -> int:
    """The highest-scoring option, each option's content-free prior subtracted first when calibrating."""
    if prior is not None:
        scores = [score - prior[tuple(option)] for score, option in zip(scores, options)]
    return max(range(len(scores)), key=scores.__getitem__)


def accuracy(
    model: Any,
    prefix_ids: list[int],
    items: list[EncodedItem],
    pad_id: int,
    start: Callable[[], tuple[Any, Any, int]] | None = None,
    calibration: list[int] | None = None,
) -> float:
    """Share of items whose answer gets the highest score (see ``outcomes``)."""
    results = outcomes(model, prefix_ids, items, pad_id, start=start, calibration=calibration)
    return sum(results) / len(results)


def outcomes(
    model: Any,
    prefix_ids: list[int],
    items: list[EncodedItem],
    pad_id: int,
    start: Callable[[], tuple[Any, Any, int]] | None = None,
    calibration: list[int] | None = None,
    pack_tokens: int = 0,
) -> list[int]:
    """1 per item whose answer gets the highest score, else 0 (kept per question so that two
    strategies scored on the same questions can be compared paired). See ``choices``."""
    picked = choices(model, prefix_ids, items, pad_id, start=start, calibration=calibration, pack_tokens=pack_tokens)
    return [int(choice == item.answer) for choice, item in zip(picked, items)]


def choices(
    model: Any,
    prefix_ids: list[int],
    items: list[EncodedItem],
    pad_id: int,
    start: Callable[[], tuple[Any, Any, int]] | None = None,
    calibration: list[int] | None = None,
    pack_tokens: int = 0,
) -> list[int]:
    """The index of the highest-scoring option of every item (what a deployed champion answers).

    ``start()`` gives (model to score with, starting cache, its length): a trained soft prompt
    is such a start; by default the cache starts empty. With ``calibration`` (the ids of a
    content-free query such as "N/A"), each option's score under that query is subtracted,
    which removes the model's prior for fluent, generic options (calibrate-before-use).

    ``pack_tokens`` > 0 scores packed (``packed_option_scores``): as many questions as fit that
    many tokens per forward pass, and the calibration prior of every distinct option text of the
    split (distractors recur) computed once up front, packed the same way. 0 is the question by
    question path; both give the same outcomes.
    """
    import torch

    # `past_key_values` works through transformers 5.39 and is the only name in older 5.x.
    warnings.filterwarnings("ignore", message=".*past_key_values.*deprecated", category=FutureWarning)
    model.eval()
    with torch.no_grad():
        scorer, prefix_cache, start_len = start() if start else (model, new_cache(), 0)
        if prefix_ids:
            scorer(input_ids=torch.tensor([prefix_ids], device=prefix_device(scorer)), past_key_values=prefix_cache, use_cache=True, logits_to_keep=1)
        prefix_len = start_len + len(prefix_ids)
        if pack_tokens > 0:
            return _packed_choices(scorer, prefix_cache, prefix_len, items, calibration, pack_tokens)
        return _cached_choices(scorer, prefix_cache, prefix_len, items, pad_id, calibration)


def _cached_choices(
    scorer: Any, prefix_cache: Any, prefix_len: int, items: list[EncodedItem], pad_id: int, calibration: list[int] | None
) -> list[int]:
    """Question by question on the shared prefix cache; each option's prior computed when first seen."""
    prior: Prior = {}
    picked: list[int] = []
    for item in items:
        scores = option_scores(scorer, prefix_cache, prefix_len, item, pad_id)
        if calibration is not None:
            # Options recur across questions of a split: each one's prior is computed once.
            missing = [o for o in item.options if tuple(o) not in prior]
            if missing:
                neutral = EncodedItem(query=calibration, options=missing, answer=0)
                prior.update(zip(map(tuple, missing), option_scores(scorer, prefix_cache, prefix_len, neutral, pad_id)))
        picked.append(_best(scores, item.options, None if calibration is None else prior))
    return picked


def _pack(items: list[EncodedItem], budget: int) -> list[list[int]]:
    """Indices of items, grouped in order so that each group's query + option tokens fit ``budget``
    (an item larger than the budget goes alone)."""
    groups: list[list[int]] = []
    used = budget + 1
    for index, item in enumerate(items):
        size = len(item.query) + sum(map(len, item.options))
        if used + size > budget:
            groups.append([])
            used = 0
        groups[-1].append(index)
        used += size
    return groups


def _packed_choices(
    scorer: Any, prefix_cache: Any, prefix_len: int, items: list[EncodedItem], calibration: list[int] | None, budget: int
) -> list[int]:
    prior: Prior | None = None
    if calibration is not None:
        distinct = list(dict.fromkeys(tuple(o) for item in items for o in item.options))
        # the content-free query, repeated with a share of the distinct options each, so that it packs like questions
        share = max(1, (budget - len(calibration)) // max(1, max(map(len, distinct), default=1)) // 4)
        neutral = [EncodedItem(query=calibration, options=[list(o) for o in distinct[i : i + share]], answer=0)
                   for i in range(0, len(distinct), share)]
        prior = {}
        for group in _pack(neutral, budget):
            for item, scores in zip((neutral[i] for i in group), packed_option_scores(scorer, prefix_cache, prefix_len, [neutral[i] for i in group])):
                prior.update({tuple(o): v for o, v in zip(item.options, scores)})
    picked: list[int] = []
    for group in _pack(items, budget):
        chunk = [items[i] for i in group]
        for item, scores in zip(chunk, packed_option_scores(scorer, prefix_cache, prefix_len, chunk)):
            picked.append(_best(scores, item.options, prior))
    return picked


def choices_batched(
    model: Any,
    prefix_ids: list[int],
    items: list[EncodedItem],
    pad_id: int,
    batch_size: int,
    calibration: list[int] | None = None,
) -> list[int]:
    """``choices`` for a GPU: many questions' options scored in one left-padded batch
    (``batched_option_scores``), each row prefix + query + one option."""
    model.eval()

    def score_items(chunk: list[EncodedItem]) -> list[list[float]]:
        flat = batched_option_scores(model, [(prefix_ids + item.query, option) for item in chunk for option in item.options], pad_id)
        out, at = [], 0
        for item in chunk:
            out.append(flat[at : at + len(item.options)])
            at += len(item.options)
        return out

    prior: Prior | None = None
    if calibration is not None:
        options = list({tuple(o): o for item in items for o in item.options}.values())
        prior = {}
        for start in range(0, len(options), batch_size * 4):
            part = options[start : start + batch_size * 4]
            prior.update(zip(map(tuple, part), score_items([EncodedItem(query=calibration, options=part, answer=0)])[0]))
    picked: list[int] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        picked += [_best(scores, item.options, prior) for item, scores in zip(chunk, score_items(chunk))]
    return picked


def outcomes_batched(
    model: Any, prefix_ids: list[int], items: list[EncodedItem], pad_id: int, batch_size: int, calibration: list[int] | None = None
) -> list[int]:
    """``outcomes`` on the GPU path (``choices_batched``)."""
    picked = choices_batched(model, prefix_ids, items, pad_id, batch_size, calibration)
    return [int(choice == item.answer) for choice, item in zip(picked, items)]
