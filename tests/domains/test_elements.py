"""The built-in short-factual-question domain: the chemical elements, with a corpus that holds every answer."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from domaintune.domains import BUILTIN_DIR, load_domain

HAVE_ELEMENTS = Path("/usr/share/dictd/elements.index").exists()


@pytest.fixture(scope="module")
def elements():
    return load_domain("elements")


def test_short_factual_questions_of_several_kinds_with_four_distinct_options(elements):
    assert elements.task == "multiple_choice" and elements.views == ("multiple_choice", "free_text")
    assert elements.sizes["validation"] >= 240 and sum(elements.sizes.values()) >= 600
    rows = [row for rows in elements.splits.values() for row in rows]
    kinds = Counter(row["kind"] for row in rows)
    assert set(kinds) == {"symbol", "name_symbol", "number", "name_number", "weight", "group", "year"}
    for row in rows:
        assert len(row["options"]) == len(set(row["options"])) == 4 and 0 <= row["answer"] < 4
    questions = {split: {row["question"] for row in split_rows} for split, split_rows in elements.splits.items()}
    assert not questions["train"] & questions["validation"] and not questions["validation"] & questions["test"]
    assert not questions["train"] & questions["test"]


def test_the_corpus_holds_every_answer_in_the_asked_elements_passage(elements):
    passages = {passage["title"]: passage["text"] for passage in elements.corpus}
    assert len(passages) == len(elements.corpus) >= 100
    for rows in elements.splits.values():
        for row in rows:
            assert row["options"][row["answer"]] in passages[row["element"]], row["question"]
    assert elements.stats["corpus_coverage"]["test_answers_in_the_question_passage"] == 1.0


@pytest.mark.skipif(not HAVE_ELEMENTS, reason="needs apt-get install dict-elements")
def test_rebuild_from_the_debian_package_gives_the_same_bytes(elements, tmp_path):
    from domaintune.domains.build import builders, write

    rebuilt = builders()["elements"]()
    assert rebuilt.fingerprint == elements.fingerprint
    folder = write(rebuilt, tmp_path)
    for file in ("train.jsonl.gz", "validation.jsonl.gz", "test.jsonl.gz", "corpus.jsonl.gz", "SOURCE.md"):
        assert (folder / file).read_bytes() == (BUILTIN_DIR / "elements" / file).read_bytes(), file
