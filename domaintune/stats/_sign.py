"""The exact one-sided sign test (McNemar's exact test for 1/0 outcomes), through scipy."""

from __future__ import annotations


def sign_test_p(wins: int, losses: int) -> float:
    """P(X >= wins) for X ~ Binomial(wins + losses, 1/2): one-sided, exact (1.0 with no discordant pair)."""
    n = wins + losses
    if n == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(wins, n, 0.5, alternative="greater").pvalue)
