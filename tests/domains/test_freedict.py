"""The bilingual FreeDict domains: other languages and scripts, a large training split, and a
knowledge corpus (the reverse dictionary) that does hold the answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domaintune.domains import BUILTIN_DIR, builtin_domain_names, load_domain

NAMES = ("freedict-deu-eng", "freedict-eng-rus")
PACKAGES = ("freedict-deu-eng", "freedict-eng-deu", "freedict-eng-rus")
HAVE = all(Path(f"/usr/share/dictd/{name}.index").exists() for name in PACKAGES)


def test_bilingual_domains_are_built_in_with_source_and_licence():
    for name in NAMES:
        assert name in builtin_domain_names()
        domain = load_domain(name)
        assert "FreeDict" in domain.source and "GPL" in domain.licence
        note = (BUILTIN_DIR / name / "SOURCE.md").read_text()
        assert domain.fingerprint in note and "dict-freedict" in note
        assert set(domain.views) == {"term_to_definition", "definition_to_term", "name_the_term"}


def test_german_english_is_large_and_its_corpus_names_the_answers():
    domain = load_domain("freedict-deu-eng")
    assert domain.sizes["train"] >= 3000  # a training split fine-tuning can use
    assert domain.stats["corpus_coverage"]["test_answers_in_the_question_passage"] >= 0.5
    passages = {p["title"]: p["text"].lower() for p in domain.corpus}
    rows = domain.splits["test"][:200]
    found = sum(row["term"].lower() in passages.get(row["definition"].lower(), "") for row in rows)
    assert found / len(rows) >= 0.5
    # the questions are single words or short phrases, not glosses
    assert max(len(row["definition"].split()) for row in domain.splits["validation"]) <= 3


def test_english_russian_asks_in_cyrillic():
    domain = load_domain("freedict-eng-rus")
    rows = domain.view("definition_to_term").splits["validation"]
    assert sum(bool(re.search("[а-яА-Я]", row["question"])) for row in rows) / len(rows) > 0.95
    assert sum(bool(re.fullmatch(r"[^а-яА-Я]+", option)) for row in rows for option in row["options"]) / (4 * len(rows)) > 0.95


@pytest.mark.skipif(not HAVE, reason="needs apt-get install " + " ".join("dict-" + p for p in PACKAGES))
@pytest.mark.heavy
def test_rebuild_gives_the_same_fingerprints(tmp_path):
    from domaintune.domains.build import builders, write

    for name in NAMES:
        rebuilt = builders()[name]()
        assert rebuilt.fingerprint == load_domain(name).fingerprint, name
        folder = write(rebuilt, tmp_path)
        for split in ("train", "validation", "test", "corpus"):
            file = f"{split}.jsonl.gz"
            assert (folder / file).read_bytes() == (BUILTIN_DIR / name / file).read_bytes(), (name, file)
