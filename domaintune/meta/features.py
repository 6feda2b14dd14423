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

import hashlib
import json
import math
import os
import random
import re
import tempfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.runners import RunnerSettings

FEATURE_GROUPS = ("data", "corpus", "probe", "embedding")
ALL_GROUPS = FEATURE_GROUPS
MODEL_FREE_GROUPS = ("data", "corpus")  # no model weights loaded (data still uses the tokenizer)
CONTROL_DOMAIN = "wordnet"  # general English: the reference for embedding.control_distance
CONTROL_VIEW = "definition_to_term"  # the control's view for domains whose view it lacks
EMBEDDER = "all-MiniLM-L6-v2"
RECALL_QUESTIONS = 200  # validation questions whose answers are looked for in retrieved passages
RECALL_TOP_K = 3  # passages retrieved per question (BM25, whole passages), as a top-3 strategy would
PROBE_QUESTIONS = 24  # validation questions scored zero-shot
PERPLEXITY_TEXTS = 64  # train texts whose log perplexity is measured
EMBEDDED_QUESTIONS = 256  # train questions embedded (a seeded sample when there are more)
SAMPLE_SEED = 0  # fixes every sample above, whatever the sweep's seed
FEATURES_VERSION = "1"  # bump when a computation changes: old disk entries are then ignored
CACHE_FOLDER = "meta_features"

_MEMORY: dict[str, dict[str, Any]] = {}  # in-process cache of disk-cacheable entries


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _viewed(domain: Domain) -> Domain:
    return domain.view() if domain.task == "glossary" and not domain.view_name else domain


def _view_name(viewed: Domain) -> str:
    return viewed.view_name or viewed.views[0]


def _sample(items: list[Any], n: int) -> list[Any]:
    items = list(items)
    return items if len(items) <= n else random.Random(SAMPLE_SEED).sample(items, n)


def _rows(viewed: Domain, split: str) -> list[tuple[str, str]]:
    from domaintune.domains import answer_text

    return [(r["question"], answer_text(r)) for r in viewed.splits.get(split, [])]


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


def clear_memory_cache() -> None:
    """Forget in-process values (the disk cache stays)."""
    _MEMORY.clear()


# --- the disk cache -----------------------------------------------------------------------


def cache_root(settings: RunnerSettings) -> Path:
    """``<settings.cache_dir or the domaintune cache dir>/meta_features``."""
    from domaintune.lm import default_cache_dir

    return Path(settings.cache_dir or default_cache_dir()).expanduser() / CACHE_FOLDER


def _cached(entry: str, viewed: Domain, model: str, settings: RunnerSettings, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()`` once per (entry, fingerprint, view, model, version): memory, then disk, then compute."""
    key = {"entry": entry, "fingerprint": viewed.fingerprint, "view": _view_name(viewed), "model": model, "version": FEATURES_VERSION}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_root(settings) / entry / f"{viewed.fingerprint}-{key['view']}-{digest}.json"
    memory_key = str(path)
    if memory_key in _MEMORY:
        return _MEMORY[memory_key]
    values = None
    if path.exists():
        try:
            stored = json.loads(path.read_text())
            values = stored["values"] if stored.get("key") == key else None
        except (OSError, ValueError, KeyError, TypeError):
            values = None  # unreadable or foreign: recompute and overwrite
    if values is None:
        values = compute()
        _write_json(path, {"key": key, "domain": viewed.name, "values": values})
    _MEMORY[memory_key] = values
    return values


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write through a temporary sibling and rename: a concurrent reader never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache dir costs recomputation, never an error


@contextmanager
def _torch_threads(n: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- data ---------------------------------------------------------------------------------


def _data(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    view = _view_name(viewed)
    rows = _rows(viewed, "train")
    memory_key = f"data:{viewed.fingerprint}:{view}"
    if memory_key not in _MEMORY:
        questions = [_words(q) for q, _ in rows]
        answers = [_words(a) for _, a in rows]
        tokens = [w for ws in questions + answers for w in ws]
        n = max(1, len(rows))
        _MEMORY[memory_key] = {
            "log_train_size": math.log(n),
            "question_words": sum(map(len, questions)) / n,
            "answer_words": sum(map(len, answers)) / n,
            "log_vocabulary": math.log1p(len(set(tokens))),
            "type_token_ratio": len(set(tokens)) / max(1, len(tokens)),
            "term_to_definition": float(view == "term_to_definition"),
        }
    out = dict(_MEMORY[memory_key])

    def tokens_per_word() -> dict[str, float]:
        from domaintune.lm import load_tokenizer

        tokenizer = load_tokenizer(settings.model, settings.cache_dir, settings.trust_remote_code)
        texts = [f"{q} {a}" for q, a in rows]
        tokens = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]) if texts else 0
        return {"tokens_per_word": tokens / max(1, sum(len(_words(t)) for t in texts))}

    out.update(_cached("tokenizer", viewed, settings.model, settings, tokens_per_word))
    return out


# --- corpus -------------------------------------------------------------------------------


def _corpus(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    view = _view_name(viewed)
    memory_key = f"corpus:{viewed.fingerprint}:{view}"  # the fingerprint hashes splits and corpus
    if memory_key not in _MEMORY:
        keys = [_item_key(q, a, view).strip().lower() for q, a in _rows(viewed, "validation")]
        titles = {str(p.get("title", "")).strip().lower() for p in viewed.corpus}
        text = "\n".join(f"{p.get('title', '')} {p.get('text', '')}".lower() for p in viewed.corpus)
        n = max(1, len(keys))
        _MEMORY[memory_key] = {
            "log_passages": math.log1p(len(viewed.corpus)),
            "coverage": sum(k in titles for k in keys) / n,  # validation items with a passage of their own
            "mentioned": sum(k in text for k in keys) / n,  # validation items named anywhere in the corpus
            "answer_recall": _answer_recall(viewed),
        }
    return _MEMORY[memory_key]


def _answer_recall(viewed: Domain) -> float:
    """Mean share of an answer's words found in the top ``RECALL_TOP_K`` BM25 passages retrieved
    for its question, over a seeded sample of validation questions (0 without a corpus)."""
    if not viewed.corpus:
        return 0.0
    from domaintune.runners import retriever

    search = retriever(viewed, "bm25", 0)
    shares = []
    for question, answer in _sample(_rows(viewed, "validation"), RECALL_QUESTIONS):
        wanted = set(_words(answer))
        found = set(_words(" ".join(search.search(question, RECALL_TOP_K))))
        shares.append(len(wanted & found) / max(1, len(wanted)))
    return sum(shares) / max(1, len(shares))


# --- probe --------------------------------------------------------------------------------


def _probe(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    return _cached("probe", viewed, settings.model, settings, lambda: _compute_probe(viewed, settings))


def _compute_probe(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    """Zero-shot through the runner (plain template, mean scoring), then log perplexity."""
    import torch

    from domaintune.lm import load_model
    from domaintune.runners import make_runner
    from domaintune.strategy import Strategy

    # The probe always asks the same seeded validation questions (never the test split) of the real model.
    probe = settings.model_copy(update={"kind": "lm", "questions": PROBE_QUESTIONS, "seed": SAMPLE_SEED})
    texts = _sample(viewed.texts("train"), PERPLEXITY_TEXTS)
    with _torch_threads(settings.threads):
        result = make_runner(probe).run(viewed, Strategy())
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


# --- embedding ----------------------------------------------------------------------------


def _centroid(viewed: Domain, settings: RunnerSettings) -> dict[str, Any]:
    """{"spread": mean Euclidean distance of unit question embeddings to their mean, "centroid": the mean}."""

    def compute() -> dict[str, Any]:
        import numpy as np

        from domaintune.lm import embed

        questions = _sample([q for q, _ in _rows(viewed, "train")], EMBEDDED_QUESTIONS)
        with _torch_threads(settings.threads):
            vectors = np.asarray(embed(questions), dtype=np.float64)
        centroid = vectors.mean(axis=0)
        spread = float(np.linalg.norm(vectors - centroid, axis=1).mean())
        return {"spread": spread, "centroid": [round(float(x), 7) for x in centroid]}

    return _cached("embedding", viewed, EMBEDDER, settings, compute)


@lru_cache(maxsize=8)
def _control(view: str) -> Domain:
    from domaintune.domains import load_domain

    control = load_domain(CONTROL_DOMAIN)
    return control.view(view if view in control.views else CONTROL_VIEW)


def _embedding(viewed: Domain, settings: RunnerSettings) -> dict[str, float]:
    own = _centroid(viewed, settings)
    control = _control(_view_name(viewed))
    if control.fingerprint == viewed.fingerprint and _view_name(control) == _view_name(viewed):
        distance = 0.0
    else:
        a, b = own["centroid"], _centroid(control, settings)["centroid"]
        norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(x * x for x in b))
        distance = max(0.0, 1.0 - sum(x * y for x, y in zip(a, b)) / norm) if norm else 1.0
    return {"spread": own["spread"], "control_distance": distance}


_GROUPS: dict[str, Callable[[Domain, RunnerSettings], dict[str, float]]] = {
    "data": _data,
    "corpus": _corpus,
    "probe": _probe,
    "embedding": _embedding,
}
