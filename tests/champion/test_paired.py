"""The promotion test: exact one-sided sign test on the discordant questions."""

from __future__ import annotations

import math

import pytest

from domaintune.champion import paired_test, sign_test_p


def test_sign_test_p_is_the_binomial_tail():
    assert sign_test_p(4, 1) == pytest.approx(6 / 32)
    assert sign_test_p(5, 0) == pytest.approx(1 / 32)
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(3, 3) == pytest.approx(sum(math.comb(6, k) for k in range(3, 7)) / 64)


def test_a_clear_win_is_better_and_a_small_edge_is_a_tie():
    ids = [f"q{i}" for i in range(40)]
    champion = {q: float(i < 20) for i, q in enumerate(ids)}
    clear = {q: float(i < 36) for i, q in enumerate(ids)}
    result = paired_test(clear, champion)
    assert (result.questions, result.challenger_wins, result.champion_wins) == (40, 16, 0)
    assert result.p_value == pytest.approx(2**-16) and result.challenger_better
    assert result.ci_low > 0 and "wins" in result.describe()
    edge = {q: float(i < 19 or 20 <= i < 23) for i, q in enumerate(ids)}  # +3 right, -1 right
    tie = paired_test(edge, champion)
    assert (tie.challenger_wins, tie.champion_wins) == (3, 1)
    assert tie.p_value == pytest.approx(5 / 16) and not tie.challenger_better
    assert "tie within noise" in tie.describe() and tie.ci_low < 0 < tie.ci_high


def test_only_shared_questions_are_compared():
    result = paired_test({"a": 1.0, "b": 1.0, "c": 1.0}, {"b": 0.0, "c": 0.0, "d": 1.0})
    assert result.questions == 2 and result.challenger_wins == 2
    assert not paired_test({"a": 1.0}, {"z": 0.0}).challenger_better
