"""Bring-your-own domains: every input format, every schema error, the CLI, similar distractors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from domaintune.domains import add_domain, import_domain, load_domain, user_domain_names
from domaintune.errors import DomainError



@pytest.fixture
def glossary_rows(jargon):
    """Real Jargon File (term, definition) pairs split 12/8/8."""
    rows = [{"term": r["term"], "definition": r["definition"]} for r in jargon.splits["train"][:28]]
    return {"train": rows[:12], "validation": rows[12:20], "test": rows[20:28]}


def _write(folder: Path, split: str, rows: list[dict], fmt: str) -> str:
    path = folder / f"{split}.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["term", "definition"])
            writer.writeheader()
            writer.writerows({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows)
    else:
        import pandas as pd

        pd.DataFrame(rows).to_parquet(path)
    return str(path)


@pytest.fixture(autouse=True)
def user_store(tmp_path, monkeypatch):
    monkeypatch.setenv("DOMAINTUNE_DOMAINS", str(tmp_path / "store"))


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_glossary_in_every_format_becomes_a_two_view_domain(tmp_path, glossary_rows, fmt):
    files = {s: _write(tmp_path, s, rows, fmt) for s, rows in glossary_rows.items()}
    domain = import_domain("mine", files, licence="public domain")
    assert domain.task == "glossary" and domain.sizes == {"train": 12, "validation": 8, "test": 8}
    row = domain.splits["test"][0]
    assert row["options"][row["answer"]] == row["definition"] and len(set(row["options"])) == 4
    test_definitions = {r["definition"] for r in glossary_rows["test"]}
    assert set(row["options"]) <= test_definitions  # distractors from the same split
    assert domain.view("definition_to_term").splits["test"][0]["question"] == row["definition"]
    add_domain(domain)
    assert "mine" in user_domain_names() and load_domain("mine").fingerprint == domain.fingerprint


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_multiple_choice_files_in_every_format(tmp_path, jargon, fmt):
    view = jargon.view("term_to_definition")
    files = {s: _write(tmp_path, s, [{k: r[k] for k in ("question", "options", "answer")} for r in view.splits[s][:6]], fmt) for s in ("train", "validation", "test")}
    domain = import_domain("mc", files)
    assert domain.task == "multiple_choice" and domain.splits["test"] == [
        {k: r[k] for k in ("question", "options", "answer")} for r in view.splits["test"][:6]
    ]


def test_missing_column_names_file_and_column(tmp_path, glossary_rows):
    files = {s: _write(tmp_path, s, rows, "jsonl") for s, rows in glossary_rows.items()}
    broken = [dict(r) for r in glossary_rows["validation"]]
    broken[3] = {"term": broken[3]["term"]}
    files["validation"] = _write(tmp_path, "validation", broken, "jsonl")
    with pytest.raises(DomainError, match=r"validation.jsonl: row 4: column 'definition' is missing"):
        import_domain("x", files)
    files["validation"] = _write(tmp_path, "validation", [{"word": "a", "meaning": "b"}], "jsonl")
    with pytest.raises(DomainError, match=r"validation.jsonl: columns \['meaning', 'word'\] fit no task"):
        import_domain("x", files)


def test_empty_split_and_leakage_and_bad_answer(tmp_path, glossary_rows, jargon):
    files = {s: _write(tmp_path, s, rows, "jsonl") for s, rows in glossary_rows.items()}
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DomainError, match="empty"):
        import_domain("x", {**files, "test": str(tmp_path / "empty.jsonl")})
    leaked = glossary_rows["test"][:-1] + [glossary_rows["train"][0]]
    with pytest.raises(DomainError, match="also in split 'train' .*leakage"):
        import_domain("x", {**files, "test": _write(tmp_path, "test", leaked, "jsonl")})
    bad = [{"question": "q", "options": ["a", "b"], "answer": 5}] * 2
    mc = {s: _write(tmp_path, f"mc-{s}", bad, "jsonl") for s in ("train", "validation", "test")}
    with pytest.raises(DomainError, match=r"mc-train.jsonl: row 1: column 'answer' is 5"):
        import_domain("x", mc)


def test_non_utf8_names_file_and_row(tmp_path, glossary_rows):
    files = {s: _write(tmp_path, s, rows, "csv") for s, rows in glossary_rows.items()}
    path = Path(files["test"])
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3] + b" caf\xe9"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DomainError, match=r"test.csv: row 4: not UTF-8"):
        import_domain("x", files)


def test_hub_id_without_a_hub_is_a_clean_error(tmp_path, glossary_rows, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    files = {s: _write(tmp_path, s, rows, "jsonl") for s, rows in glossary_rows.items()}
    with pytest.raises(DomainError, match="someone/glossary:test: cannot read it"):
        import_domain("x", {**files, "test": "someone/glossary:test"})


def test_similar_distractors_are_closer_than_random(tmp_path, jargon):
    from domaintune.lm import embed

    rows = [{"term": r["term"], "definition": r["definition"]} for r in jargon.splits["train"][:120]]
    files = {"train": rows[:40], "validation": rows[40:80], "test": rows[80:]}
    paths = {s: _write(tmp_path, s, r, "jsonl") for s, r in files.items()}

    def mean_similarity(domain) -> float:
        total, count = 0.0, 0
        for row in domain.splits["test"]:
            vectors = embed(row["options"])
            answer = vectors[row["answer"]]
            total += sum(float(vectors[i] @ answer) for i in range(4) if i != row["answer"])
            count += 3
        return total / count

    similar = import_domain("s", paths, distractors="similar")
    random_ = import_domain("r", paths, distractors="random")
    assert mean_similarity(similar) > mean_similarity(random_) + 0.1


def test_cli_add_list_show_validate(tmp_path, glossary_rows):
    from tests.test_cli import domaintune

    files = {s: _write(tmp_path, s, rows, "csv") for s, rows in glossary_rows.items()}
    added = domaintune("domains", "add", "my-glossary", "--train", files["train"], "--validation", files["validation"],
                       "--test", files["test"], "--licence", "CC0-1.0", "--json",
                       env={"DOMAINTUNE_DOMAINS": str(tmp_path / "store")})
    assert added.returncode == 0, added.stderr
    listed = json.loads(domaintune("domains", "list", "--json", env={"DOMAINTUNE_DOMAINS": str(tmp_path / "store")}).stdout)
    mine = [d for d in listed if d["name"] == "my-glossary"][0]
    assert mine["origin"] == "user" and mine["licence"] == "CC0-1.0" and mine["fingerprint"] == json.loads(added.stdout)["fingerprint"]
    ok = domaintune("domains", "validate", "my-glossary", env={"DOMAINTUNE_DOMAINS": str(tmp_path / "store")})
    assert ok.returncode == 0 and "my-glossary" in ok.stdout
    again = domaintune("domains", "add", "my-glossary", "--train", files["train"], "--validation", files["validation"],
                       "--test", files["test"], env={"DOMAINTUNE_DOMAINS": str(tmp_path / "store")})
    assert again.returncode == 2 and "--replace" in again.stderr


def test_qa_files_become_a_free_text_domain_scored_by_f1(tmp_path, tiny_model_dir):
    from domaintune.runners import LMRunner, RunnerSettings, exact_match, token_f1
    from domaintune.strategy import Strategy

    pairs = [{"question": f"What is the capital of country number {i}?", "answer": f"City {i}"} for i in range(18)]
    files = {s: _write(tmp_path, s, rows, "jsonl") for s, rows in {"train": pairs[:10], "validation": pairs[10:14], "test": pairs[14:]}.items()}
    domain = import_domain("capitals", files)
    assert domain.task == "qa" and domain.views == ("qa",)
    result = LMRunner(RunnerSettings(model=tiny_model_dir, questions=4, max_new_tokens=4)).run(domain, Strategy(n_shots=2))
    assert set(result.metrics) == {"f1", "exact_match"} and 0 <= result.metrics["f1"] <= 1
    assert result.cost["eval_flops"] > 0
    assert exact_match("The City 3.", "city 3") == 1.0 and token_f1("City of 3", "City 3") == pytest.approx(0.8)
    assert token_f1("nothing", "City 3") == 0.0
    assert domain.texts()[0] == "What is the capital of country number 0? City 0"


def test_replacing_a_changed_domain_makes_a_new_version(tmp_path, glossary_rows):
    files = {s: _write(tmp_path, s, rows, "jsonl") for s, rows in glossary_rows.items()}
    first = import_domain("evolving", files)
    add_domain(first)
    add_domain(import_domain("evolving", files), replace=True)  # same content: same version
    assert load_domain("evolving").version == "1"
    changed = [dict(r) for r in glossary_rows["test"]]
    changed[0]["definition"] += " (revised in 2026)"
    add_domain(import_domain("evolving", {**files, "test": _write(tmp_path, "test", changed, "jsonl")}), replace=True)
    now = load_domain("evolving")
    assert now.version == "2" and now.versions == [{"version": "1", "fingerprint": first.fingerprint}]
    assert now.fingerprint != first.fingerprint
