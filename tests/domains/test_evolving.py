"""The built-in evolving glossary: rebuilt exactly, released into the user's domains as a new version."""

from __future__ import annotations

import pytest

from domaintune.domains import BUILTIN_DIR, EVOLVING, build_release, load_domain, load_domain_folder, release_domain
from domaintune.errors import DomainError


def test_releases_rebuild_to_the_shipped_fingerprints_and_evolve():
    v1, v2 = build_release("1"), build_release("2")
    assert v1.fingerprint == load_domain_folder(BUILTIN_DIR / EVOLVING).fingerprint
    assert v2.fingerprint == load_domain_folder(BUILTIN_DIR / EVOLVING / "releases" / "2").fingerprint
    assert v2.versions == [{"version": "1", "fingerprint": v1.fingerprint}]
    for split in ("train", "validation", "test"):
        old = {r["term"]: r["definition"] for r in v1.splits[split]}
        new = {r["term"]: r["definition"] for r in v2.splits[split]}
        assert set(old) < set(new)  # every earlier term stays in its split; new ones join
    changed = [t for s in v1.splits for t, d in ((r["term"], r["definition"]) for r in v1.splits[s])
               if {r["term"]: r["definition"] for r in v2.splits[s]}[t] != d]
    assert len(changed) == 12


def test_release_shadows_the_builtin_until_no_later_release_ships(tmp_path, monkeypatch):
    monkeypatch.setenv("DOMAINTUNE_DOMAINS", str(tmp_path))
    assert load_domain(EVOLVING).version == "1"
    released = release_domain(EVOLVING)
    current = load_domain(EVOLVING)
    assert (released.version, current.version, current.fingerprint) == ("2", "2", released.fingerprint)
    assert (tmp_path / EVOLVING / "domain.json").exists()
    with pytest.raises(DomainError, match="no later release"):
        release_domain(EVOLVING)
    with pytest.raises(DomainError, match="not newer"):
        release_domain(EVOLVING, "2")
    with pytest.raises(DomainError, match="no shipped releases"):
        release_domain("jargon")
