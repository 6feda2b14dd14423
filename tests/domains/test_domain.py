from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from pathlib import Path

import pytest

from domaintune.domains import BUILTIN_DIR, builtin_domain_names, load_domain
from domaintune.errors import DomainError

DICTS = ("jargon", "foldoc", "gcide", "vera", "wn")
HAVE_DICTS = all(Path(f"/usr/share/dictd/{name}.index").exists() for name in DICTS)


@pytest.fixture(scope="module")
def every_builtin():
    return {name: load_domain(name) for name in builtin_domain_names()}


@pytest.fixture(scope="module")
def builtins(every_builtin):
    """The built-in glossaries (elements, short factual questions, has its own tests)."""
    return {name: domain for name, domain in every_builtin.items() if domain.task == "glossary"}


def test_at_least_thirty_builtin_domains_of_300_items(every_builtin, builtins):
    labelling = {name for name, domain in every_builtin.items() if domain.family == "classification"}
    assert len(builtins) >= 30 and len(labelling) >= 6
    assert set(every_builtin) - set(builtins) == {"elements"} | labelling
    for name, domain in every_builtin.items():
        assert sum(domain.sizes.values()) >= 300, name
        assert domain.licence and domain.source and (BUILTIN_DIR / name / "SOURCE.md").exists()
    for domain in builtins.values():
        assert set(domain.views) == {"term_to_definition", "definition_to_term", "name_the_term"}


def test_no_term_in_two_splits_and_distractors_from_the_same_split(builtins):
    for name, domain in builtins.items():
        terms = {split: {row["term"].lower() for row in rows} for split, rows in domain.splits.items()}
        assert not terms["train"] & terms["validation"], name
        assert not terms["train"] & terms["test"], name
        assert not terms["validation"] & terms["test"], name
        definitions = {split: {row["definition"] for row in rows} for split, rows in domain.splits.items()}
        for split, rows in domain.splits.items():
            for row in rows:
                assert set(row["options"]) <= definitions[split] and {t.lower() for t in row["option_terms"]} <= terms[split]
                assert row["options"][row["answer"]] == row["definition"]
                assert row["option_terms"][row["answer"]] == row["term"]


def test_definitions_do_not_spell_out_their_term(builtins):
    for name, domain in builtins.items():
        rows = [r for rs in domain.splits.values() for r in rs]
        leaks = [r["term"] for r in rows if len(r["term"]) > 3 and f" {r['term'].lower()} " in f" {r['definition'].lower()} "]
        assert len(leaks) <= 0.02 * len(rows), (name, leaks[:5])
        assert not any("{" in r["definition"] for r in rows), name


def test_views_ask_the_same_items_both_ways(jargon):
    forward, backward = jargon.view("term_to_definition"), jargon.view("definition_to_term")
    row, f, b = jargon.splits["test"][3], forward.splits["test"][3], backward.splits["test"][3]
    assert (f["question"], f["options"][f["answer"]]) == (row["term"], row["definition"])
    assert (b["question"], b["options"][b["answer"]]) == (row["definition"], row["term"])
    assert forward.fingerprint == backward.fingerprint == jargon.fingerprint
    with pytest.raises(DomainError, match="has views"):
        jargon.view("term_to_emoji")


def test_knowledge_corpus_comes_from_another_source_and_never_holds_the_answer(builtins):
    coverages = []
    for name, domain in builtins.items():
        assert domain.corpus, name
        expected = {"wordnet": "gcide", "freedict-deu-eng": "freedict-eng-deu"}.get(name, "wordnet")
        assert domain.stats["corpus_source"] == expected
        assert all(p["id"].startswith(expected + ":") for p in domain.corpus)
        answers = {row["definition"] for rows in domain.splits.values() for row in rows}
        assert not any(p["text"] in answers for p in domain.corpus), name
        coverages.append(domain.stats["corpus_coverage"]["test_terms_with_own_entry"])
    # Coverage differs by domain, as it does in life.
    assert max(coverages) - min(coverages) > 0.3


@pytest.mark.skipif(not HAVE_DICTS, reason=f"needs apt-get install {' '.join('dict-' + d for d in DICTS)}")
@pytest.mark.heavy
def test_rebuild_from_the_debian_packages_gives_the_same_fingerprints(builtins, tmp_path):
    from domaintune.domains.build import builders, write

    available = builders()
    assert set(builtins) <= set(available)
    for name in ("jargon", "gcide-law", "foldoc-networking", "vera", "wordnet"):
        rebuilt = available[name]()
        assert rebuilt.fingerprint == builtins[name].fingerprint, name
        folder = write(rebuilt, tmp_path)
        for split in ("train", "validation", "test", "corpus"):
            file = f"{split}.jsonl.gz"
            assert (folder / file).read_bytes() == (BUILTIN_DIR / name / file).read_bytes(), (name, file)


def test_one_changed_entry_changes_the_fingerprint(jargon):
    changed = {k: [dict(r) for r in v] for k, v in jargon.splits.items()}
    changed["test"][5]["definition"] += " (revised)"
    assert dataclasses.replace(jargon, splits=changed, fingerprint="").fingerprint != jargon.fingerprint
    assert dataclasses.replace(jargon, fingerprint="").fingerprint == jargon.fingerprint


def _copy_builtin(tmp_path: Path) -> Path:
    folder = tmp_path / "jargon"
    shutil.copytree(BUILTIN_DIR / "jargon", folder)
    return folder


def _rewrite_split(folder: Path, split: str, edit) -> None:
    path = folder / f"{split}.jsonl.gz"
    rows = edit([json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")])
    meta = json.loads((folder / "domain.json").read_text())
    meta.pop("fingerprint", None)
    (folder / "domain.json").write_text(json.dumps(meta))
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)


def test_edited_files_without_rebuild_are_caught(tmp_path):
    folder = _copy_builtin(tmp_path)
    path = folder / "test.jsonl.gz"
    rows = gzip.open(path, "rt").read().splitlines()
    rows[0] = rows[0].replace('"answer": ', '"note": 1, "answer": ')
    with gzip.open(path, "wt") as out:
        out.write("\n".join(rows) + "\n")
    with pytest.raises(DomainError, match="fingerprint .* does not match"):
        load_domain(folder)


def test_missing_column_names_file_row_and_column(tmp_path):
    folder = _copy_builtin(tmp_path)
    _rewrite_split(folder, "validation", lambda rows: rows[:2] + [{k: v for k, v in rows[2].items() if k != "options"}] + rows[3:])
    with pytest.raises(DomainError, match=r"validation.jsonl.gz: row 3: missing column 'options'"):
        load_domain(folder)


def test_wrong_type_and_out_of_range_answer(tmp_path):
    folder = _copy_builtin(tmp_path)
    _rewrite_split(folder, "test", lambda rows: [{**rows[0], "answer": 7}] + rows[1:])
    with pytest.raises(DomainError, match=r"row 1: column 'answer' is 7"):
        load_domain(folder)
    _rewrite_split(folder, "test", lambda rows: [{**rows[0], "answer": "2"}] + rows[1:])
    with pytest.raises(DomainError, match=r"row 1: column 'answer' must be int, got str"):
        load_domain(folder)


def test_empty_split(tmp_path):
    folder = _copy_builtin(tmp_path)
    _rewrite_split(folder, "test", lambda rows: [])
    with pytest.raises(DomainError, match="split 'test' of domain 'jargon' is empty"):
        load_domain(folder)


def test_term_in_two_splits_is_leakage(tmp_path):
    folder = _copy_builtin(tmp_path)
    train_term = json.loads(gzip.open(folder / "train.jsonl.gz", "rt").readline())["term"]
    _rewrite_split(folder, "test", lambda rows: [{**rows[0], "term": train_term}] + rows[1:])
    with pytest.raises(DomainError, match="leakage"):
        load_domain(folder)


def test_non_utf8_file_is_named(tmp_path):
    folder = _copy_builtin(tmp_path)
    (folder / "test.jsonl.gz").unlink()
    (folder / "test.jsonl").write_bytes(b'{"term": "caf\xe9"}\n')
    with pytest.raises(DomainError, match=r"test.jsonl: not UTF-8"):
        load_domain(folder)


def test_unknown_domain_lists_the_builtins():
    with pytest.raises(DomainError, match="jargon"):
        load_domain("no-such-domain")


def test_a_glossary_asked_as_free_text_names_the_term_and_is_scored_by_f1(jargon, tiny_model_dir):
    from domaintune.runners import LMRunner, RunnerSettings
    from domaintune.strategy import Strategy

    free = jargon.view("name_the_term")
    rows = free.splits["validation"]
    assert free.task == "qa" and free.fingerprint == jargon.fingerprint
    assert [(r["question"], r["answer"]) for r in rows] == [(r["definition"], r["term"]) for r in jargon.splits["validation"]]
    settings = RunnerSettings(model=tiny_model_dir, questions=3, max_new_tokens=4)
    result = LMRunner(settings).run(free, Strategy(template="instruction", n_shots=1, retrieval="bm25", top_k=1))
    assert set(result.metrics) == {"f1", "exact_match"} and result.questions == 3 and len(result.outcomes) == 3


def test_a_multiple_choice_question_asked_as_free_text_keeps_its_question_and_answers_with_the_right_option():
    domain = load_domain("elements")
    asked = domain.view("free_text")
    assert asked.task == "qa" and asked.view_name == "free_text" and asked.fingerprint == domain.fingerprint
    for row, free in zip(domain.splits["validation"], asked.splits["validation"]):
        assert free == {"id": row.get("id", ""), "question": row["question"], "answer": row["options"][row["answer"]]}
