from __future__ import annotations

import numpy as np

from domaintune.lm import _embeddings as embeddings


def test_a_long_list_is_embedded_once_and_read_back_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DOMAINTUNE_CACHE", str(tmp_path))
    texts = [f"definition number {i} of a term in some glossary" for i in range(embeddings.CACHED_FROM)]
    first = embeddings.embed(texts)
    files = list((tmp_path / "embeddings").glob("*.npy"))
    assert len(files) == 1 and first.shape == (len(texts), 384)
    calls = []
    monkeypatch.setattr(embeddings, "_encode", lambda t: calls.append(t) or np.zeros((len(t), 384)))
    again = embeddings.embed(texts)
    assert calls == [] and np.array_equal(again, first)  # read back, not recomputed
    embeddings.embed(texts[:-1] + ["another text"])  # other content: another key
    assert len(calls) == 1 and len(list((tmp_path / "embeddings").glob("*.npy"))) == 2
    embeddings.embed(["a short query"])  # short lists are never cached
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 2


def test_a_torn_cache_file_is_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv("DOMAINTUNE_CACHE", str(tmp_path))
    texts = [f"passage {i}" for i in range(embeddings.CACHED_FROM)]
    embeddings.embed(texts)
    (path,) = (tmp_path / "embeddings").glob("*.npy")
    path.write_bytes(b"not numpy")
    assert embeddings.embed(texts).shape == (len(texts), 384)
