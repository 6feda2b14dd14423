"""Meta-features of a domain (in one view), in named groups that a benchmark can ablate.

Groups (``FEATURE_GROUPS``), each feature named ``group.feature``:

- ``data``: sizes, lengths, vocabulary, type/token ratio of the train split, the view, and how
  many tokens per word the base model's tokenizer needs (the tokenizer only, never the model).
- ``corpus``: knowledge-corpus size, how many validation items it covers (a passage titled
  with the item, or the item named anywhere), and how much of a validation answer the top BM25
  passages for its question hold (``answer_recall``: what retrieval can bring to the prompt,
  whatever the corpus's titles; a fact table such as ``elements`` reads 0.85 there, 0 on
  ``coverage``).
- ``probe``: the base model, zero-shot with the plain template, on a fixed seeded sample of
  validation questions (accuracy; token F1 for QA), and the mean per-token negative
  log-likelihood (log perplexity) of a fixed sample of train texts.
- ``embedding``: MiniLM embeddings of (a sample of) the train questions: their spread around
  the centroid, and the cosine distance of that centroid to the general-English control
  domain's (``wordnet``, same view; 0 for the control itself).

No group reads the test split. ``data`` and ``corpus`` cost milliseconds; the model groups
(and the tokenizer count) cost seconds, so their values are also cached on disk as small JSON
files under ``<cache dir>/meta_features/``, keyed by domain fingerprint, view, group, model
and ``FEATURES_VERSION``; every group is cached in process too. Heavy imports (torch,
transformers, sentence-transformers) happen only inside the functions that need them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from domaintune.errors import ConfigError, DomainError
from domaintune.meta._feature_cache import (
    CACHE_FOLDER,
    FEATURES_VERSION,
    MEMORY,
    SAMPLE_SEED,
    cache_root,
    cached,
    clear_memory_cache,
    split_rows,
    seeded_sample,
    view_name,
    words,
)
from domaintune.meta._model_features import (
    CONTROL_DOMAIN,
    CONTROL_VIEW,
    EMBEDDED_QUESTIONS,
    EMBEDDER,
    PERPLEXITY_TEXTS,
    PROBE_QUESTIONS,
    embedding,
    probe,
)

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.history import History
    from domaintune.runners import RunnerSettings

__all__ = [
    "ALL_GROUPS",
    "CACHE_FOLDER",
    "CONTROL_DOMAIN",
    "CONTROL_VIEW",
    "EMBEDDED_QUESTIONS",
    "EMBEDDER",
    "FEATURES_VERSION",
    "FEATURE_GROUPS",
    "MODEL_FREE_GROUPS",
    "PERPLEXITY_TEXTS",
    "PROBE_QUESTIONS",
    "SAMPLE_SEED",
    "cache_root",
    "clear_memory_cache",
    "domain_features",
    "feature_group",
    "feature_table",
    "select_groups",
]

FEATURE_GROUPS = ("data", "corpus", "probe", "embedding")
ALL_GROUPS = FEATURE_GROUPS
MODEL_FREE_GROUPS = ("data", "corpus")  # no model weights loaded (data still uses the tokenizer)
RECALL_QUESTIONS = 200  # validation questions whose answers are looked for in retrieved passages
RECALL_TOP_K = 3  # passages retrieved per question (BM25, whole passages), as a top-3 strategy would


def _viewed(domain: Domain) -> Domain:
    return domain.view() if domain.task == "glossary" and not domain.view_name else domain


def _item_key(question: str, answer: str, view: str) -> str:
    """The text that names an item: a glossary's term (answer or question by view), else the question."""
    return answer if view == "definition_to_term" else question


def domain_features(
    domain: Domain, groups: Iterable[str] = ALL_GROUPS, settings: RunnerSettings | None = None
) -> dict[str, float]:
    """The meta-features of a domain in its view (a glossary: its first view), as ``group.feature``.

    ``groups`` picks feature groups (see ``FEATURE_GROUPS``); ``settings`` names the base model
    (and its cache dir, threads, max length); by default ``RunnerSettings()``'s built-in model.
    """
    groups = tuple(groups)
    unknown = [g for g in groups if g not in FEATURE_GROUPS]
    if unknown:
        raise ConfigError(f"feature groups: unknown {', '.join(map(repr, unknown))}; known: {', '.join(FEATURE_GROUPS)}")
    if settings is None:
        from domaintune.runners import RunnerSettings

        settings = RunnerSettings()
    viewed = _viewed(domain)
    out: dict[str, float] = {}
    for group in FEATURE_GROUPS:  # a stable order, whatever the caller's
        if group in groups:
            out.update({f"{group}.{name}": float(value) for name, value in _GROUPS[group](viewed, settings).items()})
    return out


def feature_group(name: str) -> str:
    """The group of a feature name (``probe.zero_shot`` -> ``probe``)."""
    return name.split(".", 1)[0]


def select_groups(features: dict[str, float], groups: Iterable[str]) -> dict[str, float]:
    """Only the features of ``groups``: ablate from one computed dict without recomputing."""
    keep = set(groups)
    return {k: v for k, v in features.items() if feature_group(k) in keep}


def feature_table(
    history: History,
    groups: Iterable[str] = MODEL_FREE_GROUPS,
    settings: RunnerSettings | None = None,
    view: str | None = None,
    skipped: list[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Domain -> meta-features, for every domain of ``history``, each loaded in the view its records
    were asked in (``view``: in that one). A recorded domain not installed here is an error, or,
    given a ``skipped`` list, left out with its reason appended there."""
    from domaintune.domains import load_domain

    groups = tuple(groups)
    out: dict[str, dict[str, float]] = {}
    for domain, recorded in {r.domain: r.view for r in history}.items():
        try:
            out[domain] = domain_features(load_domain(domain).view(view or recorded or None), groups, settings)
        except DomainError as error:
            if skipped is None:
                raise
            skipped.append(f"{domain}: {error}")
    return out


# --- data ---------------------------------------------------------------------------------


def _data(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    view = view_name(viewed)
    rows = split_rows(viewed, "train")
    memory_key = f"data:{viewed.fingerprint}:{view}"
    if memory_key not in MEMORY:
        questions = [words(q) for q, _ in rows]
        answers = [words(a) for _, a in rows]
        tokens = [w for ws in questions + answers for w in ws]
        n = max(1, len(rows))
        MEMORY[memory_key] = {
            "log_train_size": math.log(n),
            "question_words": sum(map(len, questions)) / n,
            "answer_words": sum(map(len, answers)) / n,
            "log_vocabulary": math.log1p(len(set(tokens))),
            "type_token_ratio": len(set(tokens)) / max(1, len(tokens)),
            "term_to_definition": float(view == "term_to_definition"),
        }
    out = dict(MEMORY[memory_key])

    def tokens_per_word() -> dict[str, float]:
        from domaintune.lm import load_tokenizer

        tokenizer = load_tokenizer(settings.model, settings.cache_dir, settings.trust_remote_code)
        texts = [f"{q} {a}" for q, a in rows]
        tokens = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]) if texts else 0
        return {"tokens_per_word": tokens / max(1, sum(len(words(t)) for t in texts))}

    out.update(cached("tokenizer", viewed, settings.model, settings, tokens_per_word))
    return out


# --- corpus -------------------------------------------------------------------------------


def _corpus(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    view = view_name(viewed)
    memory_key = f"corpus:{viewed.fingerprint}:{view}"  # the fingerprint hashes splits and corpus
    if memory_key not in MEMORY:
        keys = [_item_key(q, a, view).strip().lower() for q, a in split_rows(viewed, "validation")]
        titles = {str(p.get("title", "")).strip().lower() for p in viewed.corpus}
        text = "\n".join(f"{p.get('title', '')} {p.get('text', '')}".lower() for p in viewed.corpus)
        n = max(1, len(keys))
        MEMORY[memory_key] = {
            "log_passages": math.log1p(len(viewed.corpus)),
            "coverage": sum(k in titles for k in keys) / n,  # validation items with a passage of their own
            "mentioned": sum(k in text for k in keys) / n,  # validation items named anywhere in the corpus
            "answer_recall": _answer_recall(viewed),
        }
    return MEMORY[memory_key]


def _answer_recall(viewed: Domain) -> float:
    """Mean share of an answer's words found in the top ``RECALL_TOP_K`` BM25 passages retrieved
    for its question, over a seeded sample of validation questions (0 without a corpus)."""
    if not viewed.corpus:
        return 0.0
    from domaintune.runners import retriever

    search = retriever(viewed, "bm25", 0)
    shares = []
    for question, answer in seeded_sample(split_rows(viewed, "validation"), RECALL_QUESTIONS):
        wanted = set(words(answer))
        found = set(words(" ".join(search.search(question, RECALL_TOP_K))))
        shares.append(len(wanted & found) / max(1, len(wanted)))
    return sum(shares) / max(1, len(shares))


_GROUPS: dict[str, Callable[[Domain, RunnerSettings], dict[str, float]]] = {
    "data": _data,
    "corpus": _corpus,
    "probe": probe,
    "embedding": embedding,
}
