from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from domaintune.domains import BUILTIN_DIR, Domain, load_domain, save_domain
from domaintune.errors import DomainError


def _copy_builtin(tmp_path: Path) -> Path:
    folder = tmp_path / "jargon"
    shutil.copytree(BUILTIN_DIR / "jargon", folder)
    return folder


def _rewrite_split(folder: Path, split: str, edit) -> None:
    path = folder / f"{split}.jsonl.gz"
    rows = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    rows = edit(rows)
    (folder / "domain.json").write_text(
        json.dumps({k: v for k, v in json.loads((folder / "domain.json").read_text()).items() if k != "fingerprint"})
    )
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)


def test_builtin_jargon_loads_with_its_fingerprint(jargon):
    assert jargon.task == "multiple_choice" and jargon.licence == "public domain"
    assert min(jargon.sizes.values()) >= 300
    assert json.loads((BUILTIN_DIR / "jargon" / "domain.json").read_text())["fingerprint"] == jargon.fingerprint


def test_splits_are_disjoint_by_term_and_distractors_come_from_the_same_split(jargon):
    terms = {split: {row["term"].lower() for row in rows} for split, rows in jargon.splits.items()}
    assert not terms["train"] & terms["validation"] and not terms["train"] & terms["test"]
    assert not terms["validation"] & terms["test"]
    train_definitions = {row["definition"] for row in jargon.splits["train"]}
    for row in jargon.splits["validation"]:
        assert len(row["options"]) == 4 and row["options"][row["answer"]] == row["definition"]
        assert not set(row["options"]) & train_definitions


def test_definitions_do_not_contain_their_term(jargon):
    leaks = [r["term"] for rows in jargon.splits.values() for r in rows if f" {r['term'].lower()} " in f" {r['definition'].lower()} "]
    assert len(leaks) <= 0.01 * sum(jargon.sizes.values()), leaks[:10]
    assert not any("{" in r["definition"] for rows in jargon.splits.values() for r in rows)


@pytest.mark.skipif(not Path("/usr/share/dictd/jargon.index").exists(), reason="needs apt-get install dict-jargon")
def test_rebuild_from_the_debian_package_gives_the_same_fingerprint(jargon, tmp_path):
    from domaintune.domains.builders import jargon as builder

    rebuilt = builder.build()
    assert rebuilt.fingerprint == jargon.fingerprint
    folder = save_domain(rebuilt, tmp_path / "again")
    for split in ("train", "validation", "test"):
        assert (folder / f"{split}.jsonl.gz").read_bytes() == (BUILTIN_DIR / "jargon" / f"{split}.jsonl.gz").read_bytes()


def test_one_changed_entry_changes_the_fingerprint(jargon):
    changed = {k: [dict(r) for r in v] for k, v in jargon.splits.items()}
    changed["test"][5]["definition"] += " (revised)"
    other = Domain(**{**{f: getattr(jargon, f) for f in ("name", "task", "licence", "source", "seed", "builder_version")}, "splits": changed})
    assert other.fingerprint != jargon.fingerprint
    same = Domain(**{**{f: getattr(jargon, f) for f in ("name", "task", "licence", "source", "seed", "builder_version")}, "splits": jargon.splits})
    assert same.fingerprint == jargon.fingerprint


def test_edited_files_without_rebuild_are_caught(tmp_path):
    folder = _copy_builtin(tmp_path)
    meta = json.loads((folder / "domain.json").read_text())
    path = folder / "test.jsonl.gz"
    rows = gzip.open(path, "rt").read().splitlines()
    rows[0] = rows[0].replace('"answer": ', '"note": 1, "answer": ')
    with gzip.open(path, "wt") as out:
        out.write("\n".join(rows) + "\n")
    assert meta["fingerprint"]
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
