"""The shared statistics: scipy's quantile, sign test and the Wilson interval agree with their textbook forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domaintune.stats import (
    bootstrap_interval,
    difference,
    max_of_random_picks,
    paired_gap,
    sign_test_p,
    wilson,
    within_noise_paired,
    within_noise_unpaired,
    z_value,
)


def test_one_normal_quantile_for_every_95_percent_interval():
    assert z_value() == pytest.approx(1.959963984540054, abs=1e-15)
    assert z_value(0.90) == pytest.approx(1.6448536269514722)


@pytest.mark.parametrize("n", [1, 2, 7, 30, 101])
def test_the_sign_test_is_the_exact_binomial_tail(n):
    for wins in range(n + 1):
        tail = sum(math.comb(n, k) for k in range(wins, n + 1)) / 2**n
        assert sign_test_p(wins, n - wins) == pytest.approx(tail, rel=1e-12)
    assert sign_test_p(0, 0) == 1.0


def test_wilson_is_the_textbook_interval_and_scipys():
    from scipy.stats import binomtest

    for k, n in [(0, 10), (3, 10), (29, 40), (40, 40)]:
        ci = binomtest(k, n).proportion_ci(method="wilson")
        assert wilson(k / n, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_difference_of_two_proportions_holds_its_estimate():
    d, low, high = difference(0.7, 40, 0.5, 40)
    assert d == pytest.approx(0.2) and low < d < high and high - d == pytest.approx(d - low)


def test_within_noise_is_the_gap_against_z_standard_errors():
    mean, se = paired_gap([1, 1, 1, 0], [0, 1, 1, 0])
    assert mean == pytest.approx(0.25) and se == pytest.approx(0.25)
    assert within_noise_paired([1, 1, 1, 0], [0, 1, 1, 0])
    assert within_noise_unpaired(0.05, 0.02, 0.02) and not within_noise_unpaired(0.06, 0.02, 0.02)


def test_random_picks_and_the_bootstrap_interval():
    assert sum(max_of_random_picks(10, 3)) == pytest.approx(1.0)
    reps = np.random.default_rng(0).normal(0.0, 1.0, 4000)
    low, high = bootstrap_interval(reps, 0.0)
    assert low < 0.0 < high
