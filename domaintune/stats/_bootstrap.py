"""The bootstrap's interval and the exact expectation of random picks (the benchmark's baseline)."""

from __future__ import annotations

import math
from typing import Any


def bootstrap_interval(replicates: Any, estimate: float, level: float = 0.95) -> tuple[float, float]:
    """Bias-corrected percentile bootstrap interval of ``estimate`` from its replicates (a numpy array).

    Resampling questions adds a second layer of noise on top of the one already in the data, so
    a regret's replicates sit above its estimate (the best of a resampled domain moves away from
    any fixed pick); plain percentiles would then leave the estimate at the interval's edge. The
    bias correction shifts the percentiles by how far the replicates' median is off the estimate.

    The interval always contains its estimate: where (nearly) every replicate lies on one side
    of it (a regret of 0.001 whose resampled domains all find their best, say), the percentiles
    alone would exclude it, and the interval is widened to reach the estimate. It is the one
    interval of every figure the meta benchmark reports."""
    from statistics import NormalDist

    import numpy as np

    # the standard library's normal, not scipy's: the shipped intervals were computed with it
    normal = NormalDist()
    b = len(replicates)
    below = (np.sum(replicates < estimate - 1e-12) + 0.5 * np.sum(np.abs(replicates - estimate) <= 1e-12)) / b
    z0 = normal.inv_cdf(min(max(below, 1 / (b + 1)), b / (b + 1)))
    tail = (1 - level) / 2
    low = normal.cdf(2 * z0 + normal.inv_cdf(tail))
    high = normal.cdf(2 * z0 + normal.inv_cdf(1 - tail))
    lower, upper = float(np.quantile(replicates, low)), float(np.quantile(replicates, high))
    return min(lower, float(estimate)), max(upper, float(estimate))


def max_of_random_picks(n: int, k: int) -> list[float]:
    """P(the best of k picks drawn without replacement from n is the i-th smallest), i = 0..n-1.

    The best of the k is the i-th smallest (0-based) exactly when it is picked and the other
    k - 1 picks come from the i below it: C(i, k - 1) / C(n, k). Ties among values do not
    matter: the value at that position is what counts."""
    if not 1 <= k <= n:
        raise ValueError(f"k must be within 1..{n}, got {k}")
    total = math.comb(n, k)
    return [math.comb(i, k - 1) / total for i in range(n)]
