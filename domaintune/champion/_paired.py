"""The paired test that decides a promotion: challenger vs champion on the same questions.

Both are scored on the same validation questions; only the discordant questions (one right,
the other wrong; for free-text scores, one higher) carry evidence. Under "no difference" the
challenger wins each discordant question with probability 1/2, so the number it wins is
Binomial(discordant, 1/2): the exact one-sided sign test, which for 1/0 outcomes is McNemar's
exact test. The challenger is promoted only when p < alpha (default 0.05).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from domaintune.stats import sign_test_p, z_value

ALPHA = 0.05


@dataclass
class PairedTest:
    questions: int  # questions both were scored on
    challenger_wins: int  # discordant questions the challenger got right (or scored higher)
    champion_wins: int
    challenger_mean: float
    champion_mean: float
    difference: float  # challenger minus champion, mean over the shared questions
    ci_low: float  # 95% interval of the paired difference (normal approximation)
    ci_high: float
    p_value: float  # exact one-sided sign test on the discordant questions
    alpha: float
    test: str = "exact one-sided sign test on discordant pairs (McNemar exact for 1/0 outcomes)"

    @property
    def challenger_better(self) -> bool:
        return self.questions > 0 and self.p_value < self.alpha

    def describe(self) -> str:
        verdict = "wins" if self.challenger_better else ("tie within noise" if self.p_value >= self.alpha else "loses")
        return (
            f"challenger {self.challenger_mean:.3f} vs champion {self.champion_mean:.3f} on the same {self.questions} "
            f"validation questions: difference {self.difference:+.3f} (95% CI {self.ci_low:+.3f} to {self.ci_high:+.3f}); "
            f"discordant {self.challenger_wins} for / {self.champion_wins} against, one-sided exact sign test "
            f"p = {self.p_value:.4f} (alpha {self.alpha}): {verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "challenger_better": self.challenger_better}


def paired_test(
    challenger: dict[str, float], champion: dict[str, float], alpha: float = ALPHA
) -> PairedTest:
    """Compare per-question outcomes keyed by question id; only shared questions count."""
    shared = [q for q in challenger if q in champion]
    diffs = [challenger[q] - champion[q] for q in shared]
    n = len(shared)
    wins, losses = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    mean = sum(diffs) / n if n else 0.0
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)) if n > 1 else 0.0
    half = z_value() * sd / math.sqrt(n) if n else 0.0
    return PairedTest(
        questions=n,
        challenger_wins=wins,
        champion_wins=losses,
        challenger_mean=sum(challenger[q] for q in shared) / n if n else 0.0,
        champion_mean=sum(champion[q] for q in shared) / n if n else 0.0,
        difference=mean,
        ci_low=mean - half,
        ci_high=mean + half,
        p_value=sign_test_p(wins, losses),
        alpha=alpha,
    )


def by_question(question_ids: list[str] | None, outcomes: list[float] | None) -> dict[str, float]:
    """Outcomes keyed by question id (what ``paired_test`` compares)."""
    if not question_ids or outcomes is None:
        return {}
    return {q: float(o) for q, o in zip(question_ids, outcomes)}
