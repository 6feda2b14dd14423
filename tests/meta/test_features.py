"""Domain meta-features: stable named groups, a disk cache by fingerprint, no test rows read.

The probe runs the tiny random Llama (real SmolLM2 tokenizer); the MiniLM embedder is real.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
import subprocess
import sys

import pytest

from domaintune.meta import features as F
from domaintune.meta.features import ALL_GROUPS, FEATURE_GROUPS, MODEL_FREE_GROUPS, domain_features, select_groups

EXPECTED = {
    "data.log_train_size",
    "data.question_words",
    "data.answer_words",
    "data.log_vocabulary",
    "data.type_token_ratio",
    "data.term_to_definition",
    "corpus.log_passages",
    "corpus.coverage",
    "corpus.mentioned",
    "corpus.answer_recall",
    "task.family_multiple_choice",
    "probe.zero_shot",
    "probe.log_perplexity",
    "probe.tokens_per_word",
    "embedding.spread",
    "embedding.control_distance",
}


@pytest.fixture(scope="module")
def settings(tmp_path_factory, tiny_model_dir):
    """The tiny model, with a disk cache of its own (shared by this module's tests)."""
    from domaintune.runners import RunnerSettings

    return RunnerSettings(model=tiny_model_dir, cache_dir=str(tmp_path_factory.mktemp("features-cache")))


@pytest.fixture
def domain(jargon):
    """Jargon cut small, with a few corpus passages (so the corpus group has something to count)."""
    cut = {"train": jargon.splits["train"][:40], "validation": jargon.splits["validation"][:8], "test": jargon.splits["test"][:8]}
    return dataclasses.replace(jargon, name="jargon-tiny", splits=cut, corpus=jargon.corpus[:200], fingerprint="").view("definition_to_term")


def test_names_and_groups_are_stable_and_values_finite(domain, settings):
    features = domain_features(domain, settings=settings)
    model = f"task.model_{Path(settings.model).name}"
    assert set(features) == EXPECTED | {model} and features[model] == 1.0 == features["task.family_multiple_choice"]
    assert list(features) == sorted(features, key=lambda k: FEATURE_GROUPS.index(k.split(".")[0]))
    assert {k.split(".")[0] for k in features} == set(FEATURE_GROUPS) == set(ALL_GROUPS)
    assert all(isinstance(v, float) and math.isfinite(v) for v in features.values())
    assert 0 <= features["probe.zero_shot"] <= 1 and features["probe.log_perplexity"] > 0
    assert features["probe.tokens_per_word"] >= 1 and features["data.term_to_definition"] == 0.0
    assert 0 <= features["corpus.coverage"] <= features["corpus.mentioned"] <= 1 and 0 <= features["corpus.answer_recall"] <= 1
    assert domain_features(domain, settings=settings) == features  # same call, same values


def test_dropping_a_group_removes_exactly_its_keys(domain, settings):
    full = domain_features(domain, settings=settings)
    for group in FEATURE_GROUPS:
        rest = tuple(g for g in FEATURE_GROUPS if g != group)
        kept = domain_features(domain, groups=rest, settings=settings)
        assert kept == {k: v for k, v in full.items() if not k.startswith(group + ".")}
        assert select_groups(full, rest) == kept
    assert set(domain_features(domain, groups=("data",), settings=settings)) == {k for k in EXPECTED if k.startswith("data.")}
    with pytest.raises(Exception, match="unknown 'vibes'"):
        domain_features(domain, groups=("data", "vibes"), settings=settings)


def test_model_groups_are_cached_on_disk_and_not_recomputed(domain, settings, monkeypatch):
    import domaintune.lm
    from domaintune.runners import RunnerSettings

    fresh = RunnerSettings(model=settings.model, cache_dir=str(F.cache_root(settings).parent / "fresh"))
    calls = {"load_model": 0, "embed": 0}
    real_load, real_embed = domaintune.lm.load_model, domaintune.lm.embed

    def counted_load(*args, **kwargs):
        calls["load_model"] += 1
        return real_load(*args, **kwargs)

    def counted_embed(*args, **kwargs):
        calls["embed"] += 1
        return real_embed(*args, **kwargs)

    monkeypatch.setattr(domaintune.lm, "load_model", counted_load)
    monkeypatch.setattr(domaintune.lm, "embed", counted_embed)
    first = domain_features(domain, settings=fresh)
    # The zero-shot probe scores through the runner (one load) and the perplexity loads once more.
    assert calls["load_model"] == 2 and calls["embed"] >= 1

    files = sorted(F.cache_root(fresh).rglob("*.json"))
    assert {f.parent.name for f in files} == {"tokenizer", "probe", "embedding", "corpus"}
    probe_file = next(f for f in files if f.parent.name == "probe")
    stored = json.loads(probe_file.read_text())
    assert stored["key"]["fingerprint"] == domain.fingerprint and stored["key"]["view"] == "definition_to_term"
    assert stored["key"]["model"] == settings.model
    tokenizer = json.loads(next(f for f in files if f.parent.name == "tokenizer").read_text())
    assert {f"probe.{k}": v for k, v in {**stored["values"], **tokenizer["values"]}.items()} == select_groups(first, ["probe"])

    # A new process (no memory cache) reads the disk: no model, no embedder, no tokenizer.
    F.clear_memory_cache()
    calls.update(load_model=0, embed=0)

    def forbidden(*args, **kwargs):
        raise AssertionError("the disk cache should have answered")

    monkeypatch.setattr("transformers.AutoTokenizer.from_pretrained", forbidden)
    assert domain_features(domain, settings=fresh) == first
    assert calls == {"load_model": 0, "embed": 0}

    # Another base model is another key: the probe is computed again.
    other = RunnerSettings(model=settings.model + "/", cache_dir=fresh.cache_dir)
    monkeypatch.undo()
    monkeypatch.setattr(domaintune.lm, "load_model", counted_load)
    domain_features(domain, groups=("probe",), settings=other)
    assert calls["load_model"] == 2


def test_control_distance_is_zero_for_the_control_and_positive_for_another_domain(domain, settings):
    from domaintune.domains import load_domain

    control = load_domain("wordnet").view("definition_to_term")
    own = domain_features(control, groups=("embedding",), settings=settings)
    other = domain_features(domain, groups=("embedding",), settings=settings)
    assert own["embedding.control_distance"] == 0.0
    assert other["embedding.control_distance"] > 0.01
    assert own["embedding.spread"] > 0 and other["embedding.spread"] > 0


def test_no_feature_reads_the_test_split(domain, settings):
    """Garbage in the test split changes the fingerprint (so nothing comes from a cache) but no value."""
    garbage = [
        {"id": f"x{i}", "question": f"zq{i} " * 30, "options": ["xx yy", "qq", "vv ww zz"], "answer": i % 3}
        for i in range(20)
    ]
    corrupted = dataclasses.replace(domain, splits={**domain.splits, "test": garbage}, fingerprint="")
    assert corrupted.fingerprint != domain.fingerprint
    before = domain_features(domain, settings=settings)
    after = domain_features(corrupted, settings=settings)
    assert after == pytest.approx(before, rel=1e-9, abs=1e-12)
    # ...whereas garbage in the validation split moves the probe (the test would catch a leak)...
    moved = dataclasses.replace(domain, splits={**domain.splits, "validation": garbage}, fingerprint="")
    probe = domain_features(moved, groups=("probe",), settings=settings)
    assert probe != select_groups(before, ("probe",))
    # ...and not the default, model-free groups: they read no validation question, which rungs and
    # the evaluation stage score
    free = domain_features(moved, groups=MODEL_FREE_GROUPS, settings=settings)
    assert free == pytest.approx(select_groups(before, MODEL_FREE_GROUPS), rel=1e-9, abs=1e-12)


def test_answer_recall_sees_a_corpus_that_holds_the_answers_whatever_its_titles(settings):
    """`elements`'s corpus is one passage per element, titled with the element's name, so a
    question about a symbol or a number has no passage titled with its answer: ``coverage`` reads
    0. Retrieval finds the answers all the same. Another domain's corpus holds few of them."""
    from domaintune.domains import load_domain

    elements = load_domain("elements")
    corpus = F._corpus(elements, settings)
    assert corpus["answer_recall"] > 0.6 > corpus["coverage"]
    foreign = dataclasses.replace(elements, corpus=load_domain("gcide-medicine").corpus, fingerprint="")
    assert F._corpus(foreign, settings)["answer_recall"] < corpus["answer_recall"] - 0.3
    empty = dataclasses.replace(elements, corpus=[], fingerprint="")
    assert F._corpus(empty, settings)["answer_recall"] == 0.0


def test_importing_features_imports_no_heavy_library():
    code = "import sys, domaintune.meta.features; print([m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
