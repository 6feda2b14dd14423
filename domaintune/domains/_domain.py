"""The domain: named, licensed task data with train/validation/test splits and a fingerprint."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domaintune.errors import DomainError

SPLITS = ("train", "validation", "test")
TASKS = ("multiple_choice",)
# Columns every row of a task kind must have, with their Python types.
TASK_COLUMNS: dict[str, dict[str, type]] = {
    "multiple_choice": {"term": str, "options": list, "answer": int},
}


@dataclass(frozen=True)
class Domain:
    """A domain's data and provenance. Build it with a builder, load it with ``load_domain``."""

    name: str
    task: str
    splits: dict[str, list[dict[str, Any]]]
    licence: str
    source: str
    seed: int
    builder_version: str
    title: str = ""
    description: str = ""
    fingerprint: str = field(default="")

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", compute_fingerprint(self))

    @property
    def sizes(self) -> dict[str, int]:
        return {split: len(rows) for split, rows in self.splits.items()}

    def summary(self) -> dict[str, Any]:
        """The domain's metadata without its rows (what ``domain.json`` holds)."""
        return {
            "name": self.name,
            "title": self.title or self.name,
            "task": self.task,
            "licence": self.licence,
            "source": self.source,
            "seed": self.seed,
            "builder_version": self.builder_version,
            "description": self.description,
            "fingerprint": self.fingerprint,
            "sizes": self.sizes,
        }


def compute_fingerprint(domain: Domain) -> str:
    """Content hash of the data, build seed and builder version (not of file bytes)."""
    digest = hashlib.sha256()
    header = {"task": domain.task, "seed": domain.seed, "builder_version": domain.builder_version}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for split in SPLITS:
        digest.update(f"\n#{split}\n".encode())
        for row in domain.splits.get(split, []):
            digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
            digest.update(b"\n")
    return digest.hexdigest()[:16]


def validate_rows(domain_name: str, split: str, rows: list[dict[str, Any]], where: str, task: str) -> None:
    """Check a split's rows against the task's schema; errors name the file, row and column."""
    if task not in TASK_COLUMNS:
        raise DomainError(f"{where}: unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    if not rows:
        raise DomainError(f"{where}: split {split!r} of domain {domain_name!r} is empty")
    for number, row in enumerate(rows, start=1):
        for column, kind in TASK_COLUMNS[task].items():
            if column not in row:
                raise DomainError(f"{where}: row {number}: missing column {column!r}")
            if not isinstance(row[column], kind) or isinstance(row[column], bool):
                raise DomainError(
                    f"{where}: row {number}: column {column!r} must be {kind.__name__}, "
                    f"got {type(row[column]).__name__}"
                )
        options = row["options"]
        if len(options) < 2 or not all(isinstance(o, str) and o for o in options):
            raise DomainError(f"{where}: row {number}: column 'options' needs at least 2 non-empty strings")
        if not 0 <= row["answer"] < len(options):
            raise DomainError(
                f"{where}: row {number}: column 'answer' is {row['answer']}, outside 0..{len(options) - 1}"
            )


def check_disjoint(domain: Domain, where: str) -> None:
    """A term may appear in one split only; anything else leaks answers across splits."""
    seen: dict[str, str] = {}
    for split in SPLITS:
        for number, row in enumerate(domain.splits.get(split, []), start=1):
            term = row["term"].strip().lower()
            if term in seen and seen[term] != split:
                raise DomainError(
                    f"{where}: {split} row {number}: term {row['term']!r} is also in split "
                    f"{seen[term]!r} (leakage between splits)"
                )
            seen[term] = split


def save_domain(domain: Domain, folder: Path) -> Path:
    """Write ``domain.json`` and one deterministic ``SPLIT.jsonl.gz`` per split."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in domain.splits.items():
        text = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
        # mtime=0 keeps the compressed bytes identical across rebuilds.
        with open(folder / f"{split}.jsonl.gz", "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                gz.write(text.encode("utf-8"))
    (folder / "domain.json").write_text(json.dumps(domain.summary(), indent=2, ensure_ascii=False) + "\n")
    return folder


def read_split_file(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL (optionally gzipped) split file; errors name the file and line."""
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DomainError(f"{path}: line {number}: not valid JSON ({error.msg})") from None
                if not isinstance(row, dict):
                    raise DomainError(f"{path}: line {number}: expected a JSON object")
                rows.append(row)
    except UnicodeDecodeError as error:
        raise DomainError(f"{path}: not UTF-8 text (byte {error.start})") from None
    return rows


def load_domain_folder(folder: Path) -> Domain:
    """Load and validate a domain folder; the stored fingerprint must match the content."""
    meta_path = folder / "domain.json"
    if not meta_path.exists():
        raise DomainError(f"{folder}: not a domain folder (no domain.json)")
    meta = json.loads(meta_path.read_text())
    for key in ("name", "task", "licence", "source"):
        if key not in meta:
            raise DomainError(f"{meta_path}: missing key {key!r}")
    splits = {}
    for split in SPLITS:
        candidates = [folder / f"{split}.jsonl.gz", folder / f"{split}.jsonl"]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise DomainError(f"{folder}: missing split file {split}.jsonl(.gz)")
        rows = read_split_file(path)
        validate_rows(meta["name"], split, rows, str(path), meta["task"])
        splits[split] = rows
    domain = Domain(
        name=meta["name"],
        task=meta["task"],
        splits=splits,
        licence=meta["licence"],
        source=meta["source"],
        seed=int(meta.get("seed", 0)),
        builder_version=str(meta.get("builder_version", "user")),
        title=meta.get("title", ""),
        description=meta.get("description", ""),
    )
    check_disjoint(domain, str(folder))
    stored = meta.get("fingerprint")
    if stored and stored != domain.fingerprint:
        raise DomainError(
            f"{meta_path}: fingerprint {stored} does not match the data ({domain.fingerprint}); "
            "the split files changed without a rebuild"
        )
    return domain
