"""Meta-features of a domain from its data alone (no model): sizes, lengths, vocabulary, coverage.

Base-model probes (zero-shot score, perplexity) and embedding statistics are the next
features to add; these are the ones that cost nothing to compute.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domaintune.domains import Domain


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


@lru_cache(maxsize=256)
def _cached(fingerprint: str, view: str, rows: tuple, corpus: int, coverage: float) -> dict[str, float]:
    questions = [_words(q) for q, _ in rows]
    answers = [_words(a) for _, a in rows]
    tokens = [w for ws in questions + answers for w in ws]
    return {
        "log_train_size": math.log(len(rows)),
        "question_words": sum(map(len, questions)) / len(rows),
        "answer_words": sum(map(len, answers)) / len(rows),
        "type_token_ratio": len(set(tokens)) / max(1, len(tokens)),
        "log_corpus_passages": math.log1p(corpus),
        "corpus_coverage": coverage,
        "term_to_definition": float(view == "term_to_definition"),
    }


def domain_features(domain: Domain) -> dict[str, float]:
    """Meta-features of a domain in its view, cached by fingerprint."""
    from domaintune.runners._prompting import answer_text

    viewed = domain.view() if domain.task == "glossary" and not domain.view_name else domain
    rows = tuple((r["question"], answer_text(r)) for r in viewed.splits["train"])
    coverage = next(iter(domain.stats.get("corpus_coverage", {}).values()), 0.0)
    return dict(_cached(domain.fingerprint, viewed.view_name, rows, len(domain.corpus), float(coverage)))
