"""Choosing rows: few-shot exemplars (grey-box) and the fine-tuning subset (white-box)."""

from __future__ import annotations

import math
import random
import re
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from domaintune.runners._prompting import answer_text, choose_exemplars

if TYPE_CHECKING:
    from domaintune.runners._prompting import PromptBuilder


def _texts(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{row['question']} {answer_text(row)}" for row in rows]


def _cluster_representatives(rows: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """The row nearest each of n k-means centroids over MiniLM embeddings."""
    import numpy as np
    from sklearn.cluster import KMeans

    from domaintune.lm import embed

    n = min(n, len(rows))
    vectors = embed(_texts(rows))
    kmeans = KMeans(n_clusters=n, n_init=3, random_state=seed).fit(vectors)
    chosen = []
    for centre in kmeans.cluster_centers_:
        order = np.argsort(-(vectors @ centre))
        chosen.append(next(int(i) for i in order if int(i) not in chosen))
    return [rows[i] for i in chosen]


def _farthest_points(rows: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """Greedy max-min (k-center) selection: each next row is the least like those chosen so far.

    (Rows nearest k-means centroids look diverse but are all typical, hence alike: measured.)
    """
    import numpy as np

    from domaintune.lm import embed

    vectors = embed(_texts(rows))
    chosen = [random.Random(seed).randrange(len(rows))]
    closest = vectors @ vectors[chosen[0]]
    while len(chosen) < min(n, len(rows)):
        closest[chosen] = np.inf
        nxt = int(np.argmin(closest))
        chosen.append(nxt)
        closest = np.maximum(closest, vectors @ vectors[nxt])
    return [rows[i] for i in chosen]


def fixed_exemplars(train: list[dict[str, Any]], n: int, method: str, seed: int) -> list[dict[str, Any]] | None:
    """Exemplars shared by every question, or None when they depend on the question (``similar``)."""
    if n == 0:
        return []
    if method == "similar":
        return None
    if method == "diverse":
        return _farthest_points(train, n, seed)
    return choose_exemplars(train, n, seed)


def similar_exemplars(train: list[dict[str, Any]], n: int) -> Callable[[str], list[dict[str, Any]]]:
    """question -> the n train rows whose question is most similar (MiniLM cosine)."""
    import numpy as np

    from domaintune.lm import embed

    vectors = embed([row["question"] for row in train])

    def pick(question: str) -> list[dict[str, Any]]:
        order = np.argsort(-(vectors @ embed([question])[0]))[:n]
        return [train[int(i)] for i in reversed(order)]  # the most similar sits next to the question

    return pick


def _hashed_ngrams(text: str, buckets: int) -> list[int]:
    words = re.findall(r"\w+", text.lower())
    grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
    return [zlib.crc32(g.encode()) % buckets for g in grams]


def dsir_weights(rows: list[dict[str, Any]], target: list[str], buckets: int = 4096) -> list[float]:
    """DSIR log importance weights: log p_target(x) - log p_raw(x) under hashed n-gram bag models."""
    import numpy as np

    def model(texts: list[str]) -> Any:
        counts = np.ones(buckets)
        for text in texts:
            np.add.at(counts, _hashed_ngrams(text, buckets), 1)
        return np.log(counts / counts.sum())

    raw, wanted = model(_texts(rows)), model(target)
    return [float(sum(wanted[h] - raw[h] for h in _hashed_ngrams(t, buckets))) for t in _texts(rows)]


def training_subset(
    rows: list[dict[str, Any]],
    size: int,
    method: str,
    seed: int,
    target: list[str] | None = None,
    losses: Callable[[list[dict[str, Any]]], list[float]] | None = None,
    band: str = "medium",
) -> list[dict[str, Any]]:
    """``size`` train rows chosen by ``method`` (see Strategy.data_selection)."""
    rng = random.Random(seed)
    size = max(1, min(size, len(rows)))
    if method == "random":
        return rng.sample(rows, size)
    if method == "clusters":
        return _cluster_representatives(rows, size, seed)
    if method == "dedup":
        import numpy as np

        from domaintune.lm import embed

        vectors = embed(_texts(rows))
        kept: list[int] = []
        for i in rng.sample(range(len(rows)), len(rows)):
            if not kept or float(np.max(vectors[kept] @ vectors[i])) < 0.9:
                kept.append(i)
        return [rows[i] for i in kept[:size]]
    if method == "dsir":
        weights = dsir_weights(rows, target or [])
        # Gumbel top-k: sampling without replacement proportional to the importance weights.
        keys = [w - math.log(-math.log(rng.random() or 1e-12)) for w in weights]
        order = sorted(range(len(rows)), key=lambda i: -keys[i])
        return [rows[i] for i in order[:size]]
    if method == "difficulty":
        assert losses is not None
        pool = rng.sample(rows, min(len(rows), 3 * size))
        scored = sorted(zip(losses(pool), range(len(pool))))
        third = len(scored) // 3
        start = {"easy": 0, "medium": third, "hard": len(scored) - max(size, third)}[band]
        return [pool[i] for _, i in scored[start : start + size]]
    raise ValueError(f"data_selection: unknown method {method!r}")


LOSS_BATCH = 16  # rows scored per forward pass for difficulty-band selection


def example_losses(model: Any, builder: PromptBuilder, pad_id: int, max_length: int) -> Any:
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
