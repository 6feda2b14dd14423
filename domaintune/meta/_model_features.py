"""The model-based meta-feature groups: ``probe`` (the base model zero-shot on a seeded sample
of validation questions, and its log perplexity on train texts) and ``embedding`` (MiniLM
question embeddings: their spread, and their centroid's cosine distance to the general-English
control domain's). Both are cached (``_feature_cache``); torch, transformers and
sentence-transformers are imported inside the functions.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from domaintune.meta._feature_cache import SAMPLE_SEED, cached, seeded_sample, split_rows, view_name

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.runners import RunnerSettings

CONTROL_DOMAIN = "wordnet"  # general English: the reference for embedding.control_distance
CONTROL_VIEW = "definition_to_term"  # the control's view for domains whose view it lacks
EMBEDDER = "all-MiniLM-L6-v2"
PROBE_QUESTIONS = 24  # validation questions scored zero-shot
PERPLEXITY_TEXTS = 64  # train texts whose log perplexity is measured
EMBEDDED_QUESTIONS = 256  # train questions embedded (a seeded sample when there are more)


@contextmanager
def _torch_threads(n: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def probe(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    return cached("probe", viewed, settings.model, settings, lambda: _compute_probe(viewed, settings))


def _compute_probe(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    """Zero-shot through the runner (plain template, mean scoring), then log perplexity."""
    import torch

    from domaintune.lm import load_model
    from domaintune.runners import make_runner
    from domaintune.strategy import Strategy

    # The probe always asks the same seeded validation questions (never the test split) of the real model.
    probing = settings.model_copy(update={"kind": "lm", "questions": PROBE_QUESTIONS, "seed": SAMPLE_SEED})
    texts = seeded_sample(viewed.texts("train"), PERPLEXITY_TEXTS)
    with _torch_threads(settings.threads):
        result = make_runner(probing).run(viewed, Strategy())
        zero_shot = result.metrics["f1" if viewed.task == "qa" else "accuracy"]
        torch.manual_seed(SAMPLE_SEED)
        model, tokenizer = load_model(settings.model, settings.cache_dir, settings.trust_remote_code)
        log_perplexity = _log_perplexity(model, tokenizer, texts, settings.max_length)
    return {"zero_shot": zero_shot, "log_perplexity": log_perplexity}


def _log_perplexity(model: Any, tokenizer: Any, texts: list[str], max_length: int, batch_size: int = 16) -> float:
    """Mean negative log-likelihood per predicted token over the texts (each starting after BOS/EOS)."""
    import torch

    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    encoded = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    encoded = [([start] if start is not None else []) + ids for ids in encoded]
    encoded = sorted((ids[:max_length] for ids in encoded if len(ids) >= 2), key=len)
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(encoded), batch_size):
            batch = encoded[i : i + batch_size]
            width = max(map(len, batch))
            ids = torch.full((len(batch), width), tokenizer.pad_token_id or 0, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, seq in enumerate(batch):
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            targets, keep = ids[:, 1:], mask[:, 1:].bool()
            nll = -torch.log_softmax(logits, dim=-1).gather(2, targets.unsqueeze(2)).squeeze(2)
            total += float(nll[keep].sum())
            count += int(keep.sum())
    return total / max(1, count)


def _centroid(viewed: Domain, settings: RunnerSettings) -> dict[str, Any]:
    """{"spread": mean Euclidean distance of unit question embeddings to their mean, "centroid": the mean}."""

    def compute() -> dict[str, Any]:
        import numpy as np

        from domaintune.lm import embed

        questions = seeded_sample([q for q, _ in split_rows(viewed, "train")], EMBEDDED_QUESTIONS)
        with _torch_threads(settings.threads):
            vectors = np.asarray(embed(questions), dtype=np.float64)
        centroid = vectors.mean(axis=0)
        spread = float(np.linalg.norm(vectors - centroid, axis=1).mean())
        return {"spread": spread, "centroid": [round(float(x), 7) for x in centroid]}

    return cached("embedding", viewed, EMBEDDER, settings, compute)


@lru_cache(maxsize=8)
def _control(view: str) -> Domain:
    from domaintune.domains import load_domain

    control = load_domain(CONTROL_DOMAIN)
    return control.view(view if view in control.views else CONTROL_VIEW)


def embedding(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    own = _centroid(viewed, settings)
    control = _control(view_name(viewed))
    if control.fingerprint == viewed.fingerprint and view_name(control) == view_name(viewed):
        distance = 0.0
    else:
        a, b = own["centroid"], _centroid(control, settings)["centroid"]
        norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(x * x for x in b))
        distance = max(0.0, 1.0 - sum(x * y for x, y in zip(a, b)) / norm) if norm else 1.0
    return {"spread": own["spread"], "control_distance": distance}
