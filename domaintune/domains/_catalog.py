"""Where domains live: the built-in ones shipped in the package, the user's own, by name or folder."""

from __future__ import annotations

from pathlib import Path

from domaintune.domains._domain import Domain
from domaintune.domains._store import load_domain_folder, save_domain
from domaintune.domains._user import user_domains_dir
from domaintune.errors import DomainError

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "data" / "domains"


def _names(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if (p / "domain.json").exists()) if root.is_dir() else []


def builtin_domain_names() -> list[str]:
    return _names(BUILTIN_DIR)


def user_domain_names() -> list[str]:
    """Domains added with ``domaintune domains add`` (in ``user_domains_dir()``)."""
    return _names(user_domains_dir())


def domain_folder(name_or_path: str | Path) -> Path:
    """The folder of a domain given as a path, a user domain name or a built-in name."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    for root in (user_domains_dir(), BUILTIN_DIR):
        if isinstance(name_or_path, str) and (root / name_or_path / "domain.json").exists():
            return root / name_or_path
    raise DomainError(
        f"unknown domain {str(name_or_path)!r}: not a folder, a user domain ({', '.join(user_domain_names()) or 'none'}) "
        f"or a built-in domain ({', '.join(builtin_domain_names())})"
    )


def load_domain(name_or_path: str | Path) -> Domain:
    """Load and validate a domain: a folder path, a user domain name, or a built-in name."""
    return load_domain_folder(domain_folder(name_or_path))


def add_domain(domain: Domain, replace: bool = False) -> Path:
    """Save an imported domain among the user domains; an existing name needs ``replace``.

    Replacing a domain whose content changed makes a new version (the domain evolved): the
    version number goes up and the earlier fingerprint is kept in ``versions``.
    """
    import dataclasses
    import json

    folder = user_domains_dir() / domain.name
    if domain.name in builtin_domain_names():
        raise DomainError(f"domain name {domain.name!r} is taken by a built-in domain; choose another")
    if folder.exists():
        if not replace:
            raise DomainError(f"user domain {domain.name!r} exists at {folder}; pass --replace to overwrite it")
        old = json.loads((folder / "domain.json").read_text())
        if old.get("fingerprint") != domain.fingerprint:
            previous = [*old.get("versions", []), {"version": str(old.get("version", "1")), "fingerprint": old["fingerprint"]}]
            domain = dataclasses.replace(domain, version=str(int(old.get("version", "1")) + 1), versions=previous)
        else:
            domain = dataclasses.replace(domain, version=str(old.get("version", "1")), versions=old.get("versions", []))
    return save_domain(domain, folder)
