"""Statistics shared by the meta-dataset export and the leave-one-domain-out benchmark:
the paired test on per-question outcomes, and the exact expectation of random picks."""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.96


def paired_gap(best: Sequence[float], other: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the per-question difference (best - other), same questions in the same order."""
    if len(best) != len(other) or not best:
        raise ValueError(f"paired_gap needs two equally long, non-empty outcome lists (got {len(best)} and {len(other)})")
    diffs = [a - b for a, b in zip(best, other)]
    n = len(diffs)
    mean = sum(diffs) / n
    var = sum((d - mean) ** 2 for d in diffs) / max(1, n - 1)
    return mean, math.sqrt(var / n)


def within_noise_paired(best: Sequence[float], other: Sequence[float]) -> bool:
    """The export's test: ``other`` is tied with ``best`` when the mean paired gap is at most 1.96 standard errors."""
    mean, se = paired_gap(best, other)
    return mean <= Z95 * se


def within_noise_unpaired(gap: float, se_best: float, se_other: float) -> bool:
    """Fallback where no per-question outcomes were kept: 1.96 combined standard errors of the two cells."""
    return gap <= Z95 * math.sqrt(se_best**2 + se_other**2)


def max_of_random_picks(n: int, k: int) -> list[float]:
    """P(the best of k picks drawn without replacement from n is the i-th smallest), i = 0..n-1.

    The best of the k is the i-th smallest (0-based) exactly when it is picked and the other
    k - 1 picks come from the i below it: C(i, k - 1) / C(n, k). Ties among values do not
    matter: the value at that position is what counts."""
    if not 1 <= k <= n:
        raise ValueError(f"k must be within 1..{n}, got {k}")
    total = math.comb(n, k)
    return [math.comb(i, k - 1) / total for i in range(n)]
