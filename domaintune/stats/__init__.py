"""The statistics every stage shares, in one home: normal quantiles, the Wilson interval, the
difference of two proportions, the paired gap and its noise test, the exact sign test, the exact
expectation of random picks, and the bias-corrected bootstrap interval.

The lowest layer: it imports nothing of domaintune; scipy is imported inside the functions."""

from __future__ import annotations

from domaintune.stats._bootstrap import bootstrap_interval, max_of_random_picks
from domaintune.stats._intervals import difference, paired_gap, wilson, within_noise_paired, within_noise_unpaired, z_value
from domaintune.stats._sign import sign_test_p

__all__ = [
    "bootstrap_interval",
    "difference",
    "max_of_random_picks",
    "paired_gap",
    "sign_test_p",
    "wilson",
    "within_noise_paired",
    "within_noise_unpaired",
    "z_value",
]
