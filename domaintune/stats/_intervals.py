"""Normal-approximation intervals and the paired noise test, on one normal quantile (scipy's)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=8)
def z_value(level: float = 0.95) -> float:
    """The two-sided normal quantile of ``level`` (1.959963984540054 at 95%), computed once."""
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def wilson(p: float | None, n: int) -> tuple[float, float] | None:
    """95% Wilson interval of a proportion measured on ``n`` questions; None when unknowable."""
    if p is None or n <= 0 or not 0.0 <= p <= 1.0:
        return None
    z = z_value()
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def difference(a: float, n_a: int, b: float, n_b: int) -> tuple[float, float, float]:
    """a - b and its 95% normal interval (two independent proportions)."""
    se = math.sqrt(max(a * (1 - a), 1e-12) / max(n_a, 1) + max(b * (1 - b), 1e-12) / max(n_b, 1))
    d = a - b
    return d, d - z_value() * se, d + z_value() * se


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
    """``other`` is tied with ``best`` when the mean paired gap is at most z(95%) standard errors."""
    mean, se = paired_gap(best, other)
    return mean <= z_value() * se


def within_noise_unpaired(gap: float, se_best: float, se_other: float) -> bool:
    """Fallback where no per-question outcomes were kept: z(95%) combined standard errors of the two cells."""
    return gap <= z_value() * math.sqrt(se_best**2 + se_other**2)
