from __future__ import annotations

from pathlib import Path

import pytest

from domaintune.meta import History

LEVELS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "levels_history.jsonl"


@pytest.fixture(scope="session")
def history() -> History:
    """Real evaluations (benchmarks/levels.py: SmolLM2 on CPU), validation split only."""
    return History.from_jsonl(LEVELS).where(split="validation")


@pytest.fixture(scope="session")
def features(history):
    from domaintune.domains import load_domain
    from domaintune.meta import domain_features
    from domaintune.meta.features import MODEL_FREE_GROUPS

    return {d: domain_features(load_domain(d).view("definition_to_term"), groups=MODEL_FREE_GROUPS) for d in history.domains()}
