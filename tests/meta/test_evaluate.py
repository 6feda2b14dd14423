from __future__ import annotations

import pytest

from domaintune.meta import leave_one_domain_out, markdown
from domaintune.meta._evaluate import _regret_curve


def test_regret_curve_is_one_minus_the_best_normalized_score_so_far():
    scores = {"a": 0.0, "b": 0.5, "c": 1.0}
    assert _regret_curve(["a", "b", "c"], scores, (1, 2, 3)) == {1: 1.0, 2: 0.5, 3: 0.0}
    assert _regret_curve(["c", "a", "b"], scores, (1, 3)) == {1: 0.0, 3: 0.0}


def test_lodo_table_has_every_method_k_and_rank(history, features):
    table = leave_one_domain_out(history, features, seeds=(0,), ks=(1, 3))
    assert table["domains"] == len(history.domains()) and table["seeds"] == [0]
    assert {"random", "tpe", "nearest", "portfolio", "surrogate"} <= set(table["methods"])
    for entry in table["methods"].values():
        assert 0.0 <= entry["1"]["regret"] <= 1.0 and entry["3"]["regret"] <= entry["1"]["regret"] + 1e-12
        assert 1.0 <= entry["1"]["rank"] <= len(table["methods"])
    ranks = [entry["1"]["rank"] for entry in table["methods"].values()]
    assert sum(ranks) == pytest.approx(sum(range(1, len(ranks) + 1)))  # ranks of each case sum to 1+..+m
    assert "regret@1" in markdown(table)
