"""Domain folders on disk: ``domain.json`` + ``SPLIT.jsonl.gz`` (+ ``corpus.jsonl.gz``)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from domaintune.domains._domain import SPLITS, Domain, check_disjoint, validate_rows
from domaintune.errors import json_objects
from domaintune.errors import DomainError


def _write_jsonl_gz(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    # mtime=0 keeps the compressed bytes identical across rebuilds.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode("utf-8"))


def save_domain(domain: Domain, folder: Path) -> Path:
    """Write ``domain.json`` and deterministic gzipped JSONL files."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in domain.splits.items():
        _write_jsonl_gz(folder / f"{split}.jsonl.gz", rows)
    if domain.corpus:
        _write_jsonl_gz(folder / "corpus.jsonl.gz", domain.corpus)
    (folder / "domain.json").write_text(json.dumps(domain.summary(), indent=2, ensure_ascii=False) + "\n")
    return folder


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL (optionally gzipped) file; errors name the file and line."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            rows = [row for _, row in json_objects(lines, str(path), DomainError)]
    except UnicodeDecodeError as error:
        raise DomainError(f"{path}: not UTF-8 text (byte {error.start})") from None
    return rows


def _find(folder: Path, stem: str) -> Path | None:
    return next((p for p in (folder / f"{stem}.jsonl.gz", folder / f"{stem}.jsonl") if p.exists()), None)


def load_domain_folder(folder: Path) -> Domain:
    """Load and validate a domain folder; a stored fingerprint must match the content."""
    meta_path = folder / "domain.json"
    if not meta_path.exists():
        raise DomainError(f"{folder}: not a domain folder (no domain.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DomainError(f"{meta_path}: not valid JSON: {error}") from None
    for key in ("name", "task", "licence", "source"):
        if key not in meta:
            raise DomainError(f"{meta_path}: missing key {key!r}")
    splits = {}
    for split in SPLITS:
        path = _find(folder, split)
        if path is None:
            raise DomainError(f"{folder}: missing split file {split}.jsonl(.gz)")
        rows = read_jsonl(path)
        validate_rows(meta["name"], split, rows, str(path), meta["task"])
        splits[split] = rows
    corpus_path = _find(folder, "corpus")
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
        version=str(meta.get("version", "1")),
        versions=meta.get("versions", []),
        corpus=read_jsonl(corpus_path) if corpus_path else [],
        stats=meta.get("stats", {}),
        family=str(meta.get("family", "")),
    )
    check_disjoint(domain, str(folder))
    stored = meta.get("fingerprint")
    if stored and stored != domain.fingerprint:
        raise DomainError(
            f"{meta_path}: fingerprint {stored} does not match the data ({domain.fingerprint}); "
            "the files changed without a rebuild"
        )
    return domain
