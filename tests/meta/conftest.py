from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def features(history):
    from domaintune.domains import load_domain
    from domaintune.meta import domain_features
    from domaintune.meta.features import MODEL_FREE_GROUPS

    return {d: domain_features(load_domain(d).view("definition_to_term"), groups=MODEL_FREE_GROUPS) for d in history.domains()}
