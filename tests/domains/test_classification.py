"""Text classification domains: one class name per text, the same label set on every row."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from domaintune.domains import BUILTIN_DIR, builtin_domain_names, load_domain
from domaintune.domains._classification import classification_corpus, classification_splits, unambiguous
from domaintune.domains.builders import foldoc

HAVE = {name: Path(f"/usr/share/dictd/{name}.index").exists() for name in ("foldoc", "gcide")}
GCIDE_MARKER = re.compile(r"\(\s*(?:[A-Z][a-z]+\.\s*(?:[&,]\s*)?)+\)")  # "(Chem.)", "(Med. & Surg.)"
FOLDOC_TAG = re.compile("<(?:" + "|".join(map(re.escape, foldoc.FIELDS)) + r")>", re.IGNORECASE)


@pytest.fixture(scope="module")
def classifiers():
    domains = {name: load_domain(name) for name in builtin_domain_names()}
    return {name: domain for name, domain in domains.items() if domain.family == "classification"}


def _rows(domain):
    return [row for rows in domain.splits.values() for row in rows]


def test_every_builtin_classifier_loads_with_one_fixed_label_set(classifiers):
    assert len(classifiers) >= 6
    for name, domain in classifiers.items():
        assert domain.task == "multiple_choice" and domain.views == ("multiple_choice", "free_text"), name
        classes = domain.stats["classes"]
        assert len(classes) == len(set(classes)) >= 4 and domain.stats["chance"] == round(1 / len(classes), 4)
        assert all(row["options"] == classes for row in _rows(domain)), name
        assert domain.sizes["validation"] >= 300 and sum(domain.sizes.values()) >= 600, name
        assert domain.licence and domain.source and domain.corpus and (BUILTIN_DIR / name / "SOURCE.md").exists()
        assert domain.summary()["family"] == "classification" and domain.description.startswith("Text classification")
        files = [p for p in (BUILTIN_DIR / name).iterdir()]
        assert sum(p.stat().st_size for p in files) < 400_000, name  # shipped small


def test_every_split_is_balanced_over_the_classes(classifiers):
    for name, domain in classifiers.items():
        for split, rows in domain.splits.items():
            counts = Counter(row["answer"] for row in rows)
            assert set(counts) == set(range(len(domain.stats["classes"]))), (name, split)
            assert max(counts.values()) - min(counts.values()) <= 1, (name, split, counts)


def test_no_text_in_two_splits_and_no_scored_text_in_the_corpus(classifiers):
    for name, domain in classifiers.items():
        texts = {split: {row["question"].strip().lower() for row in rows} for split, rows in domain.splits.items()}
        assert not texts["train"] & texts["validation"] and not texts["train"] & texts["test"], name
        assert not texts["validation"] & texts["test"], name
        scored = texts["validation"] | texts["test"]
        assert not any(passage["text"].strip().lower() in scored for passage in domain.corpus), name
        headwords = {row["headword"].lower() for split in ("validation", "test") for row in domain.splits[split]}
        assert not any(passage["title"].rsplit(" (", 1)[0].lower() in headwords for passage in domain.corpus), name


def test_no_label_marker_or_headword_in_the_text(classifiers):
    for name, domain in classifiers.items():
        rows = _rows(domain)
        assert not any(GCIDE_MARKER.search(row["question"]) for row in rows), name
        if name.startswith("foldoc"):
            assert not any(FOLDOC_TAG.search(row["question"]) or "{" in row["question"] for row in rows), name
        spelled = [r["headword"] for r in rows if len(r["headword"]) > 3 and re.search(rf"\b{re.escape(r['headword'])}\b", r["question"], re.I)]
        assert len(spelled) <= 0.02 * len(rows), (name, spelled[:5])
        assert max(len(row["question"].split()) for row in rows) <= 30, name


def test_a_text_under_two_classes_is_dropped_and_a_short_class_named():
    labelled = {"a": [("x", "shared text here"), ("y", "only in a"), ("y", "only in a")], "b": [("z", "Shared text here ")]}
    assert unambiguous(labelled) == {"a": [("y", "only in a")], "b": []}
    with pytest.raises(ValueError, match=r"fewer than 1 distinct texts: \{'b': 0\}"):
        classification_splits(labelled, ["a", "b"], per_class=1, seed=0)


def test_splits_are_stratified_and_the_corpus_keeps_scored_headwords_out():
    labelled = {c: [(f"{c}{i}", f"text {i} of class {c}") for i in range(30)] for c in ("left", "right")}
    splits, leftovers = classification_splits(labelled, ["left", "right"], per_class=20, seed=3)
    assert {s: len(rows) for s, rows in splits.items()} == {"train": 16, "validation": 12, "test": 12}
    assert all(Counter(r["answer"] for r in rows) == Counter({0: len(rows) // 2, 1: len(rows) // 2}) for rows in splits.values())
    assert splits == classification_splits(labelled, ["left", "right"], per_class=20, seed=3)[0]
    assert splits != classification_splits(labelled, ["left", "right"], per_class=20, seed=4)[0]
    assert sum(map(len, leftovers.values())) == 20
    # a leftover sharing a headword with a scored row stays out of the corpus
    scored = splits["validation"][0]
    label = scored["options"][scored["answer"]]
    leftovers[label].append((scored["headword"], "another sense of the scored word"))
    corpus = classification_corpus(leftovers, ["left", "right"], splits, per_class=100, seed=0, label="t")
    assert len(corpus) == 20 and all(p["title"].split(" (")[0] != scored["headword"] for p in corpus)
    assert {p["title"].rsplit(" (", 1)[1].rstrip(")") for p in corpus} == {"left", "right"}


def _rebuilds_the_same(name: str, shipped, tmp_path) -> None:
    from domaintune.domains.build import builders, write

    first, second = builders()[name](), builders()[name]()
    assert first.fingerprint == second.fingerprint == shipped.fingerprint, name
    folder = write(first, tmp_path)
    for file in ("train.jsonl.gz", "validation.jsonl.gz", "test.jsonl.gz", "corpus.jsonl.gz", "domain.json", "SOURCE.md"):
        assert (folder / file).read_bytes() == (BUILTIN_DIR / name / file).read_bytes(), (name, file)


@pytest.mark.skipif(not HAVE["foldoc"], reason="needs apt-get install dict-foldoc")
def test_foldoc_topic_rebuilds_byte_for_byte(classifiers, tmp_path):
    _rebuilds_the_same("foldoc-topic", classifiers["foldoc-topic"], tmp_path)


@pytest.mark.skipif(not HAVE["gcide"], reason="needs apt-get install dict-gcide")
def test_gcide_subject_rebuilds_byte_for_byte(classifiers, tmp_path):
    _rebuilds_the_same("gcide-subject-crafts", classifiers["gcide-subject-crafts"], tmp_path)
