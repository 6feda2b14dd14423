"""Meta-features of a task (a domain in one view, with a base model), in named groups that a
benchmark can ablate.

Groups (``FEATURE_GROUPS``), each feature named ``group.feature``:

- ``data``: sizes, lengths, vocabulary, type/token ratio of the train split, and the view.
- ``corpus``: knowledge-corpus size, how many train items it covers (a passage titled with the
  item, or the item named anywhere), and how much of a train answer the top BM25 passages for
  its question hold (``answer_recall``: what retrieval can bring to the prompt, whatever the
  corpus's titles).
- ``task``: the task family (``task.family_<name>`` = 1: multiple_choice, classification,
  free_text) and the base model (``task.model_<name>`` = 1), so one history can hold several.
- ``probe``: the base model, zero-shot with the plain template, on a fixed seeded sample of
  validation questions (accuracy; token F1 for QA), the mean per-token negative log-likelihood
  (log perplexity) of a fixed sample of train texts, and tokens per word of its tokenizer.

The default groups (``MODEL_FREE_GROUPS``: data, corpus, task) read the train split only, never
a validation or test label, so no feature sees a question that any rung, evaluation or report
scores; they need no model and no tokenizer, so a fresh install computes them without any hub.
They were fixed (``FEATURES_VERSION`` 2) before the v3 meta-dataset's evaluation questions were
scored.
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
from pathlib import Path
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

FEATURE_GROUPS = ("data", "corpus", "task", "probe", "embedding")
ALL_GROUPS = FEATURE_GROUPS
MODEL_FREE_GROUPS = ("data", "corpus", "task")  # no model, no tokenizer, train split only
RECALL_QUESTIONS = 200  # train questions whose answers are looked for in retrieved passages
RECALL_TOP_K = 3  # passages retrieved per question (BM25, whole passages), as a top-3 strategy would


def _viewed(domain: Domain) -> Domain:
    return domain.view() if domain.task == "glossary" and not domain.view_name else domain


def _item_key(question: str, answer: str, view: str) -> str:
    """The text that names an item: a glossary's term (answer or question by view), else the question."""
    return answer if view == "definition_to_term" else question


def task_family(viewed: Domain) -> str:
    """How a task's questions are posed and scored: ``free_text`` (an answer generated, token F1),
    a domain's own family (``classification``), else ``multiple_choice``."""
    from domaintune.domains import FREE_TEXT_CHOICE_VIEW

    if viewed.task == "qa" or viewed.view_name == FREE_TEXT_CHOICE_VIEW:
        return "free_text"
    return viewed.family or "multiple_choice"


def domain_features(
    domain: Domain, groups: Iterable[str] = ALL_GROUPS, settings: RunnerSettings | None = None
) -> dict[str, float]:
    """The meta-features of a task: a domain in its view (a glossary: its first view) with the base
    model of ``settings``, as ``group.feature``.

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
    """Task name -> meta-features, for every task of ``history`` (``history.task_name``): its domain
    loaded in the view its records were asked in (``view``: in that one), with its records' base
    model (``settings``' where they name none). A recorded domain not installed here is an error,
    or, given a ``skipped`` list, left out with its reason appended there."""
    from domaintune.domains import load_domain
    from domaintune.runners import RunnerSettings

    groups = tuple(groups)
    settings = settings or RunnerSettings()
    out: dict[str, dict[str, float]] = {}
    tasks = {r.task: r for r in history}
    for task, r in sorted(tasks.items()):
        try:
            viewed = load_domain(r.domain).view(view or r.view or None)
        except DomainError as error:
            if skipped is None:
                raise
            skipped.append(f"{r.domain}: {error}")
            continue
        model = settings.model_copy(update={"model": r.base_model}) if r.base_model and r.base_model != Path(settings.model).name else settings
        out[task] = domain_features(viewed, groups, model)
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
    return dict(MEMORY[memory_key])


def _task(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    return {f"family_{task_family(viewed)}": 1.0, f"model_{Path(settings.model).name}": 1.0}


def _probe(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    """The model's zero-shot score and log perplexity, and its tokenizer's tokens per word."""
    rows = split_rows(viewed, "train")

    def tokens_per_word() -> dict[str, float]:
        from domaintune.lm import load_tokenizer

        tokenizer = load_tokenizer(settings.model, settings.cache_dir, settings.trust_remote_code)
        texts = [f"{q} {a}" for q, a in rows]
        tokens = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]) if texts else 0
        return {"tokens_per_word": tokens / max(1, sum(len(words(t)) for t in texts))}

    return {**probe(viewed, settings), **cached("tokenizer", viewed, settings.model, settings, tokens_per_word)}


# --- corpus -------------------------------------------------------------------------------


def _corpus(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    """Cached on disk like the model groups (BM25 over a few hundred questions costs a second)."""

    def compute() -> dict[str, float]:
        view = view_name(viewed)
        keys = [_item_key(q, a, view).strip().lower() for q, a in split_rows(viewed, "train")]
        titles = {str(p.get("title", "")).strip().lower() for p in viewed.corpus}
        text = "\n".join(f"{p.get('title', '')} {p.get('text', '')}".lower() for p in viewed.corpus)
        n = max(1, len(keys))
        return {
            "log_passages": math.log1p(len(viewed.corpus)),
            "coverage": sum(k in titles for k in keys) / n,  # train items with a passage of their own
            "mentioned": sum(k in text for k in keys) / n,  # train items named anywhere in the corpus
            "answer_recall": _answer_recall(viewed),
        }

    return cached("corpus", viewed, "", settings, compute)  # the fingerprint hashes splits and corpus


def _answer_recall(viewed: Domain) -> float:
    """Mean share of an answer's words found in the top ``RECALL_TOP_K`` BM25 passages retrieved
    for its question, over a seeded sample of train questions (0 without a corpus; never a
    validation question, which rungs and evaluation score)."""
    if not viewed.corpus:
        return 0.0
    from domaintune.runners import retriever

    search = retriever(viewed, "bm25", 0)
    shares = []
    for question, answer in seeded_sample(split_rows(viewed, "train"), RECALL_QUESTIONS):
        wanted = set(words(answer))
        found = set(words(" ".join(search.search(question, RECALL_TOP_K))))
        shares.append(len(wanted & found) / max(1, len(wanted)))
    return sum(shares) / max(1, len(shares))


_GROUPS: dict[str, Callable[[Domain, RunnerSettings], dict[str, float]]] = {
    "data": _data,
    "corpus": _corpus,
    "task": _task,
    "probe": _probe,
    "embedding": embedding,
}
