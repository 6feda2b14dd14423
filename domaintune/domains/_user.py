"""Bring your own domain: split files (JSONL, CSV, Parquet or a hub dataset id) -> a domain folder.

The schema is checked at this edge: a missing column, an empty split, a term in two splits, or
a file that is not UTF-8 is an error naming the file, row and column, before anything is saved.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from domaintune.domains._domain import KEY_COLUMN, SPLITS, Domain, check_disjoint, validate_rows
from domaintune.domains._glossary import N_OPTIONS, glossary_rows
from domaintune.errors import DomainError

FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
USER_VERSION = "user-1"


def user_domains_dir() -> Path:
    """``$DOMAINTUNE_DOMAINS``, else ``$XDG_DATA_HOME/domaintune/domains``, else ``~/.local/share/...``."""
    if os.environ.get("DOMAINTUNE_DOMAINS"):
        return Path(os.environ["DOMAINTUNE_DOMAINS"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "domaintune" / "domains"


def _check_utf8(path: Path) -> None:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        row = data[: error.start].count(b"\n") + 1
        raise DomainError(f"{path}: row {row}: not UTF-8 (byte {error.start}); re-save the file as UTF-8") from None


def read_table(source: str) -> list[dict[str, Any]]:
    """Rows of a local JSONL/CSV/Parquet file, or of a hub dataset ``owner/name[:split]``."""
    import datasets

    datasets.disable_progress_bars()
    path = Path(source).expanduser()
    try:
        if path.exists():
            kind = FORMATS.get(path.suffix.lower())
            if kind is None:
                raise DomainError(f"{path}: unknown format {path.suffix!r}; use {', '.join(FORMATS)}")
            if kind != "parquet":
                _check_utf8(path)
            table = datasets.load_dataset(kind, data_files=str(path), split="train")
        else:
            name, _, split = source.partition(":")
            if "/" not in name:
                raise DomainError(f"{source}: no such file (and not a hub dataset id owner/name[:split])")
            table = datasets.load_dataset(name, split=split or "train")
    except DomainError:
        raise
    except Exception as error:  # noqa: BLE001 - datasets raises many kinds; all mean "cannot read this"
        first_line = (str(error).splitlines() or [""])[0][:300]
        raise DomainError(f"{source}: cannot read it: {type(error).__name__}: {first_line}") from None
    rows = [dict(row) for row in table]
    for row in rows:
        # CSV cannot hold a list: options may come as a JSON array in one cell.
        if isinstance(row.get("options"), str) and row["options"].lstrip().startswith("["):
            try:
                row["options"] = json.loads(row["options"])
            except json.JSONDecodeError:
                pass
    return rows


def detect_task(columns: set[str], where: str) -> str:
    if {"question", "options", "answer"} <= columns:
        return "multiple_choice"
    if {"question", "answer"} <= columns:
        return "qa"
    if {"term", "definition"} <= columns:
        return "glossary"
    raise DomainError(
        f"{where}: columns {sorted(columns)} fit no task: need question, options, answer "
        "(multiple choice), question, answer (free-text QA) or term, definition (a glossary)"
    )


def _glossary_split(rows: list[dict[str, Any]], split: str, where: str, rng: random.Random, distractors: str) -> list[dict[str, Any]]:
    entries = []
    for number, row in enumerate(rows, start=1):
        for column in ("term", "definition"):
            value = row.get(column)
            if not isinstance(value, str) or not value.strip():
                raise DomainError(f"{where}: row {number}: column {column!r} is missing or empty")
        entries.append((row["term"].strip(), " ".join(row["definition"].split())))
    terms = [t.lower() for t, _ in entries]
    duplicate = next((t for t in terms if terms.count(t) > 1), None)
    if duplicate:
        raise DomainError(f"{where}: row {terms.index(duplicate) + 1}: term {duplicate!r} appears twice")
    if len(entries) < N_OPTIONS:
        raise DomainError(f"{where}: split {split!r} has {len(entries)} rows; {N_OPTIONS}-way questions need {N_OPTIONS}")
    neighbours = None
    if distractors == "similar":
        from domaintune.lm import nearest_neighbours

        neighbours = nearest_neighbours([d for _, d in entries], N_OPTIONS)
    return glossary_rows(entries, split, rng, neighbours=neighbours)


def import_domain(
    name: str,
    files: dict[str, str],
    corpus: str | None = None,
    licence: str = "unspecified",
    source: str = "",
    title: str = "",
    seed: int = 0,
    distractors: str = "random",
) -> Domain:
    """Build a validated Domain from one file (or hub id) per split."""
    if distractors not in ("random", "similar"):
        raise DomainError(f"distractors: {distractors!r} is not random or similar")
    missing = [split for split in SPLITS if not files.get(split)]
    if missing:
        raise DomainError(f"domain {name!r}: no file for split(s) {', '.join(missing)}")
    rng = random.Random(seed)
    splits, task = {}, None
    for split in SPLITS:
        where = files[split]
        rows = read_table(where)
        if not rows:
            raise DomainError(f"{where}: split {split!r} of domain {name!r} is empty")
        this = detect_task(set(rows[0]), where)
        if task is not None and this != task:
            raise DomainError(f"{where}: looks like a {this} file, but the other splits are {task}")
        task = this
        if task == "glossary" and "options" not in rows[0]:
            rows = _glossary_split(rows, split, where, rng, distractors)
        validate_rows(name, split, rows, where, task)
        splits[split] = rows
    assert task is not None
    passages = _corpus(corpus) if corpus else []
    domain = Domain(
        name=name,
        task=task,
        splits=splits,
        licence=licence,
        source=source or ", ".join(files[s] for s in SPLITS),
        seed=seed,
        builder_version=USER_VERSION,
        title=title or name,
        corpus=passages,
        stats={"corpus_coverage": corpus_coverage(splits["test"], passages, KEY_COLUMN[task])} if passages else {},
    )
    check_disjoint(domain, f"domain {name!r}")
    return domain


def _corpus(source: str) -> list[dict[str, Any]]:
    rows = read_table(source)
    passages = []
    for number, row in enumerate(rows, start=1):
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DomainError(f"{source}: row {number}: column 'text' is missing or empty")
        passages.append({"id": str(row.get("id", number)), "title": str(row.get("title", "")), "text": text})
    return passages


def corpus_coverage(test_rows: list[dict[str, Any]], passages: list[dict[str, Any]], key: str) -> dict[str, float]:
    """Share of test items whose key text (term or question) occurs in some passage."""
    texts = [f"{p['title']} {p['text']}".lower() for p in passages]
    hits = sum(any(row[key].lower() in text for text in texts) for row in test_rows)
    return {"test_items_mentioned": round(hits / max(1, len(test_rows)), 3)}


