"""Domains: task data with splits, licence and fingerprint, built-in or the user's own folder."""

from __future__ import annotations

from pathlib import Path

from domaintune.domains._domain import SPLITS, TASKS, VIEWS, Domain, compute_fingerprint
from domaintune.domains._store import load_domain_folder, read_jsonl, save_domain
from domaintune.errors import DomainError

__all__ = [
    "SPLITS",
    "TASKS",
    "VIEWS",
    "BUILTIN_DIR",
    "Domain",
    "builtin_domain_names",
    "compute_fingerprint",
    "load_domain",
    "read_jsonl",
    "save_domain",
]

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "data" / "domains"


def builtin_domain_names() -> list[str]:
    return sorted(p.name for p in BUILTIN_DIR.iterdir() if (p / "domain.json").exists())


def load_domain(name_or_path: str | Path) -> Domain:
    """Load a built-in domain by name, or a domain folder by path."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return load_domain_folder(path)
    if isinstance(name_or_path, str) and (BUILTIN_DIR / name_or_path / "domain.json").exists():
        return load_domain_folder(BUILTIN_DIR / name_or_path)
    raise DomainError(
        f"unknown domain {str(name_or_path)!r}: not a folder and not a built-in domain "
        f"({', '.join(builtin_domain_names())})"
    )
