"""Per-process indexes (retrieval, knowledge graph), keyed by what names their content."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class IndexCache(Generic[V]):
    """Built on first use and kept, so reused trial actors keep their indexes across trials; the
    key (a domain fingerprint plus settings) names the content, so nothing else is hashed. Past
    ``size`` entries the oldest is dropped."""

    def __init__(self, size: int):
        self.size = size
        self.items: dict[Hashable, V] = {}

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        if key not in self.items:
            if len(self.items) >= self.size:
                self.items.pop(next(iter(self.items)))
            self.items[key] = build()
        return self.items[key]
