from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def features(history):
    from domaintune.meta import MODEL_FREE_GROUPS, feature_table

    return feature_table(history, MODEL_FREE_GROUPS, view="definition_to_term")
