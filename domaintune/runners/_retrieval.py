"""Black-box lever: retrieve passages from the domain's knowledge corpus (BM25, dense, hybrid)."""

from __future__ import annotations

from typing import Any

from domaintune.runners._indexes import IndexCache


def chunk(corpus: list[dict[str, Any]], words: int) -> list[str]:
    """Passages as ``title: text``, split into chunks of ``words`` words (0 = whole passages)."""
    out = []
    for passage in corpus:
        text = passage["text"]
        head = f"{passage['title']}: " if passage.get("title") else ""
        tokens = text.split()
        if not words or len(tokens) <= words:
            out.append(head + text)
            continue
        for start in range(0, len(tokens), words):
            out.append(head + " ".join(tokens[start : start + words]))
    return out


class Retriever:
    """Ranks chunks for a query; ``hybrid`` fuses BM25 and dense ranks (reciprocal rank fusion)."""

    def __init__(self, chunks: list[str], method: str):
        if not chunks:
            raise ValueError("retrieval needs a knowledge corpus, and this domain has none")
        self.chunks, self.method = chunks, method
        self._bm25: Any = None
        self._vectors: Any = None

    def _bm25_ranking(self, query: str, k: int) -> list[int]:
        import bm25s

        if self._bm25 is None:
            self._bm25 = bm25s.BM25()
            self._bm25.index(bm25s.tokenize(self.chunks, stopwords="en", show_progress=False), show_progress=False)
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.ids or not tokens.ids[0]:
            return []
        docs, _ = self._bm25.retrieve(tokens, k=min(k, len(self.chunks)), show_progress=False)
        return [int(i) for i in docs[0]]

    def _dense_ranking(self, query: str, k: int) -> list[int]:
        import numpy as np

        from domaintune.lm import embed

        if self._vectors is None:
            self._vectors = embed(self.chunks)
        scores = self._vectors @ embed([query])[0]
        return [int(i) for i in np.argsort(-scores)[:k]]

    def search(self, query: str, k: int) -> list[str]:
        if self.method == "bm25":
            ranking = self._bm25_ranking(query, k)
        elif self.method == "dense":
            ranking = self._dense_ranking(query, k)
        else:
            fused: dict[int, float] = {}
            for ranks in (self._bm25_ranking(query, 4 * k), self._dense_ranking(query, 4 * k)):
                for position, index in enumerate(ranks):
                    fused[index] = fused.get(index, 0.0) + 1.0 / (60 + position)
            ranking = sorted(fused, key=lambda i: -fused[i])
        return [self.chunks[i] for i in ranking[:k]]


# (fingerprint, method, chunk words) -> index; the fingerprint covers the corpus.
_RETRIEVERS: IndexCache[Retriever] = IndexCache(size=8)


def retriever(domain: Any, method: str, words: int) -> Retriever:
    return _RETRIEVERS.get((domain.fingerprint, method, words), lambda: Retriever(chunk(domain.corpus, words), method))
