"""What every meta-feature group shares: the view a domain is asked in, seeded samples of its
rows, and the cache that computes a model-based value once per domain version, view, model and
``FEATURES_VERSION``: in process, then on disk as a small JSON file under
``<cache dir>/meta_features/<entry>/`` (written through a temporary sibling, read back only when
its stored key matches). The file layout is what tests/meta/test_features.py reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.runners import RunnerSettings

SAMPLE_SEED = 0  # fixes every sample the groups draw, whatever the sweep's seed
FEATURES_VERSION = "2"  # bump when a computation changes: old disk entries are then ignored
CACHE_FOLDER = "meta_features"

MEMORY: dict[str, dict[str, Any]] = {}  # in-process cache of every group's values


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def view_name(viewed: Domain) -> str:
    return viewed.view_name or viewed.views[0]


def seeded_sample(items: list[Any], n: int) -> list[Any]:
    items = list(items)
    return items if len(items) <= n else random.Random(SAMPLE_SEED).sample(items, n)


def split_rows(viewed: Domain, split: str) -> list[tuple[str, str]]:
    from domaintune.domains import answer_text

    return [(r["question"], answer_text(r)) for r in viewed.splits.get(split, [])]


def clear_memory_cache() -> None:
    """Forget in-process values (the disk cache stays)."""
    MEMORY.clear()


def cache_root(settings: RunnerSettings) -> Path:
    """``<settings.cache_dir or the domaintune cache dir>/meta_features``."""
    from domaintune.lm import default_cache_dir

    return Path(settings.cache_dir or default_cache_dir()).expanduser() / CACHE_FOLDER


def cached(entry: str, viewed: Domain, model: str, settings: RunnerSettings, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()`` once per (entry, fingerprint, view, model, version): memory, then disk, then compute."""
    key = {"entry": entry, "fingerprint": viewed.fingerprint, "view": view_name(viewed), "model": model, "version": FEATURES_VERSION}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_root(settings) / entry / f"{viewed.fingerprint}-{key['view']}-{digest}.json"
    memory_key = str(path)
    if memory_key in MEMORY:
        return MEMORY[memory_key]
    values = None
    if path.exists():
        try:
            stored = json.loads(path.read_text())
            values = stored["values"] if stored.get("key") == key else None
        except (OSError, ValueError, KeyError, TypeError):
            values = None  # unreadable or foreign: recompute and overwrite
    if values is None:
        values = compute()
        _write_json(path, {"key": key, "domain": viewed.name, "values": values})
    MEMORY[memory_key] = values
    return values


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write through a temporary sibling and rename: a concurrent reader never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache dir costs recomputation, never an error
