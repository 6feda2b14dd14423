"""Free-text QA: greedy answers on the shared prefix cache, scored by exact match and token F1."""

from __future__ import annotations

import re
import string
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

from domaintune.runners._scoring import crop_to, new_cache, prefix_device

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text: str) -> str:
    """SQuAD normalization: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize(prediction) == normalize(gold))


def token_f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize(prediction).split(), normalize(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def generate(model: Any, cache: Any, prefix_len: int, query: list[int], tokenizer: Any, max_new_tokens: int) -> str:
    """Greedy continuation of prefix + query up to the end of its first line (or EOS)."""
    import torch

    device = prefix_device(model)
    out = model(input_ids=torch.tensor([query], device=device), past_key_values=cache, use_cache=True)
    tokens: list[int] = []
    for _ in range(max_new_tokens):
        token = int(out.logits[0, -1].argmax())
        if token == tokenizer.eos_token_id:
            break
        tokens.append(token)
        text = tokenizer.decode(tokens)
        if "\n" in text.lstrip():
            break
        out = model(input_ids=torch.tensor([[token]], device=device), past_key_values=cache, use_cache=True)
    crop_to(cache, prefix_len)
    return tokenizer.decode(tokens).strip().split("\n")[0].strip()


def qa_scores(
    model: Any,
    prefix_ids: list[int],
    queries: list[list[int]],
    golds: list[str],
    tokenizer: Any,
    max_new_tokens: int,
    start: Callable[[], tuple[Any, Any, int]] | None = None,
) -> tuple[dict[str, float], int, list[float]]:
    """(mean exact match and F1, tokens generated, each question's F1) over the questions."""
    import torch

    warnings.filterwarnings("ignore", message=".*past_key_values.*deprecated", category=FutureWarning)
    model.eval()
    em = 0.0
    f1: list[float] = []
    generated = 0
    with torch.no_grad():
        scorer, cache, start_len = start() if start else (model, new_cache(), 0)
        if prefix_ids:
            scorer(input_ids=torch.tensor([prefix_ids], device=prefix_device(scorer)), past_key_values=cache, use_cache=True)
        for query, gold in zip(queries, golds):
            answer = generate(scorer, cache, start_len + len(prefix_ids), query, tokenizer, max_new_tokens)
            generated += len(tokenizer(answer, add_special_tokens=False)["input_ids"])
            em += exact_match(answer, gold)
            f1.append(token_f1(answer, gold))
    return {"f1": sum(f1) / len(queries), "exact_match": em / len(queries)}, generated, f1
