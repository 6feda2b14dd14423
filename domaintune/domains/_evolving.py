"""Domains that evolve: new versions saved among the user's domains, and a built-in evolving glossary.

A domain evolves by versions. A new version (a release of a built-in evolving domain, or the
rows experts corrected) is saved under the user's domains (``$DOMAINTUNE_DOMAINS``) with the
same name, so it shadows the built-in copy; its ``version`` goes up and the earlier
``{version, fingerprint}`` is kept in ``versions``. A scheduled sweep notices the new
fingerprint (the ``data_changed`` trigger).

``gcide-law-evolving`` is the built-in demo: GCIDE law terms released twice. Version 1 holds
part of the terms; version 2 holds all of them, and for some terms the 1913 definition is
replaced by the modern WordNet gloss (the definition changed). Both are rebuilt from the
shipped ``gcide-law`` domain by ``build_release`` (``python -m domaintune.domains._evolving``
rewrites the shipped folders; the fingerprints must come out the same).
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

from domaintune.domains._domain import SPLITS, Domain, check_disjoint, validate_rows
from domaintune.domains._glossary import clean_definition, glossary_rows
from domaintune.domains._store import load_domain_folder, save_domain
from domaintune.domains._user import user_domains_dir
from domaintune.errors import DomainError

EVOLVING = "gcide-law-evolving"
SOURCE_DOMAIN = "gcide-law"
# Terms per split in each release: a later release holds every term of the earlier one.
RELEASE_SIZES = {"1": {"train": 180, "validation": 60, "test": 60}, "2": {"train": 240, "validation": 80, "test": 80}}
CHANGED = 12  # release 2: terms whose definition is replaced by the WordNet gloss
SEED = 20261128


def releases_dir(builtin_folder: Path) -> Path:
    return builtin_folder / "releases"


def next_version(
    domain: Domain, splits: dict[str, list[dict[str, Any]]], corpus: list[dict[str, Any]] | None = None, note: str = "", where: str = ""
) -> Domain:
    """The domain with new rows, as its next version (earlier fingerprint kept in ``versions``);
    the rows are validated as a loaded domain's are, errors naming ``where``, split and row."""
    versions = [*domain.versions, {"version": domain.version, "fingerprint": domain.fingerprint}]
    description = f"{domain.description}; v{int(domain.version) + 1}: {note}".strip("; ") if note else domain.description
    for split, rows in splits.items():
        validate_rows(domain.name, split, rows, f"{where or domain.name} ({split} split)", domain.task)
    new = dataclasses.replace(
        domain,
        splits=splits,
        corpus=domain.corpus if corpus is None else corpus,
        version=str(int(domain.version) + 1),
        versions=versions,
        description=description,
        view_name="",
        fingerprint="",
    )
    check_disjoint(new, where or domain.name)
    return new


def save_version(domain: Domain) -> Path:
    """Save a new version among the user's domains (shadowing a built-in of the same name)."""
    folder = user_domains_dir() / domain.name
    if (folder / "domain.json").exists():
        old = json.loads((folder / "domain.json").read_text())
        if int(old.get("version", "1")) >= int(domain.version):
            raise DomainError(f"{folder}: holds version {old.get('version')} of {domain.name!r}; version {domain.version} is not newer")
    return save_domain(domain, folder)


def release_domain(name: str, version: str | None = None) -> Domain:
    """Release a built-in evolving domain's next (or given) version into the user's domains."""
    from domaintune.domains._catalog import BUILTIN_DIR, load_domain

    folder = releases_dir(BUILTIN_DIR / name)
    available = sorted((p.name for p in folder.iterdir() if (p / "domain.json").exists()), key=int) if folder.is_dir() else []
    if not available:
        raise DomainError(f"domain {name!r} has no shipped releases (looked in {folder})")
    current = load_domain(name)
    wanted = version or next((v for v in available if int(v) > int(current.version)), None)
    if wanted is None:
        raise DomainError(f"domain {name!r} is at version {current.version}; no later release ships ({', '.join(available)})")
    if wanted not in available:
        raise DomainError(f"domain {name!r}: no release {wanted!r}; shipped: {', '.join(available)}")
    release = load_domain_folder(folder / wanted)
    save_version(release)
    return release


def _entries(domain: Domain, split: str) -> list[tuple[str, str]]:
    return sorted((row["term"], row["definition"]) for row in domain.splits[split])


def build_release(version: str, source: Domain | None = None) -> Domain:
    """Release ``version`` of the evolving glossary, rebuilt from the shipped ``gcide-law``."""
    from domaintune.domains._catalog import BUILTIN_DIR

    if version not in RELEASE_SIZES:
        raise DomainError(f"{EVOLVING}: no release {version!r}; releases: {', '.join(RELEASE_SIZES)}")
    source = source or load_domain_folder(BUILTIN_DIR / SOURCE_DOMAIN)
    glosses = {row["title"]: row["text"] for row in source.corpus}
    rng = random.Random(SEED + int(version))
    splits, terms, changed, modern_terms = {}, set(), 0, set()
    for split in SPLITS:
        entries = _entries(source, split)[: RELEASE_SIZES[version][split]]
        if version != "1":
            updated = []
            for term, definition in entries:
                modern = clean_definition(term, glosses[term]) if term in glosses and changed < CHANGED and split != "test" else None
                if modern and modern != definition:
                    changed += 1
                    definition = modern
                    modern_terms.add(term)
                updated.append((term, definition))
            entries = updated
        terms |= {term for term, _ in entries}
        splits[split] = glossary_rows(entries, split, rng)
    corpus = [row for row in source.corpus if row["title"] in terms and row["title"] not in modern_terms]
    earlier = [] if version == "1" else [{"version": str(v), "fingerprint": build_release(str(v), source).fingerprint} for v in range(1, int(version))]
    return Domain(
        name=EVOLVING,
        task="glossary",
        splits=splits,
        licence=source.licence,
        source=f"{source.source}; built from the domaintune domain {SOURCE_DOMAIN}",
        seed=SEED,
        builder_version="evolving-1",
        title="law",
        description=(
            f"GCIDE law terms released in versions: v1 holds part of the terms; v2 all of them, with {CHANGED} "
            "definitions replaced by their WordNet gloss"
        ),
        version=version,
        versions=earlier,
        # A term whose definition is now its WordNet gloss loses that passage: the corpus never holds an answer.
        corpus=corpus,
        stats={"corpus_source": "wordnet", "corpus_coverage": _coverage([r["term"] for r in splits["test"]], corpus)},
    )


def _coverage(terms: list[str], corpus: list[dict[str, Any]]) -> dict[str, float]:
    """As the Debian builders measure it: test terms with a passage of their own, or mentioned in one."""
    titles = {p["title"] for p in corpus}
    texts = [f"{p['title']} {p['text']}".lower() for p in corpus]
    n = max(1, len(terms))
    return {
        "test_terms_with_own_entry": round(sum(t in titles for t in terms) / n, 3),
        "test_terms_with_any_entry": round(sum(t in titles or any(t.lower() in x for x in texts) for t in terms) / n, 3),
    }


def write_releases(root: Path | None = None) -> list[Path]:
    """Rewrite the shipped folders: release 1 is the built-in, later ones live under ``releases/``."""
    from domaintune.domains._catalog import BUILTIN_DIR

    root = root or BUILTIN_DIR / EVOLVING
    written = [save_domain(build_release("1"), root)]
    for version in list(RELEASE_SIZES)[1:]:
        written.append(save_domain(build_release(version), releases_dir(root) / version))
    return written


if __name__ == "__main__":
    for path in write_releases():
        print(path, json.loads((path / "domain.json").read_text())["fingerprint"])
