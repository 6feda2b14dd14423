"""The story of a sweep from plain data: origins, intervals, ties called ties."""

from __future__ import annotations

import pytest

from domaintune.reports import fmt_ci, tell
from domaintune.stats import difference, wilson


def _trial(trial_id, strategy, metric, status="FINISHED"):
    from domaintune.strategy import Strategy

    return {"trial_id": trial_id, "strategy": Strategy.from_dict(strategy).model_dump(), "status": status, "metric": metric,
            "cost": {"eval_seconds": 10.0}, "label": Strategy.from_dict(strategy).describe(), "run_id": f"run-{trial_id}"}


ZERO = {"template": "plain", "n_shots": 0}
PROPOSAL = {"template": "instruction", "n_shots": 3, "scoring": "calibrated"}
OTHER = {"template": "cloze", "n_shots": 0}


def test_wilson_interval_is_the_textbook_one():
    low, high = wilson(0.5, 40)
    assert low == pytest.approx(0.352, abs=0.001) and high == pytest.approx(0.648, abs=0.001)
    assert wilson(0.5, 0) is None and wilson(None, 40) is None and wilson(3.2, 40) is None
    assert fmt_ci(0.5, 40) == "0.500 [0.35, 0.65] (n=40)"
    d, lo, hi = difference(0.8, 40, 0.5, 40)
    assert d == pytest.approx(0.3) and 0 < lo < d < hi


def test_origins_follow_the_warm_start_plan_not_the_start_order():
    # Two trials start at once: the proposal may be seen before the baseline.
    trials = [_trial("b", PROPOSAL, 0.80), _trial("a", ZERO, 0.45), _trial("c", OTHER, 0.50), _trial("d", OTHER, None, "FAILED")]
    point = {"template": "instruction", "n_shots": 3, "scoring": "calibrated"}
    warm = {"points": [{"template": "plain", "n_shots": 0}, point],
            "proposals": [{"point": point, "strategy": PROPOSAL, "reason": "best on 9 of 20", "predicted": 0.9}]}
    result = {"name": "s", "domain": "d", "metric": "accuracy", "direction": "maximize", "trials": trials, "best_trial": "b"}
    story = tell(result, warm, questions=40, learner="portfolio")
    assert [t.origin for t in story.trials] == ["proposal", "baseline", "search", "search"]
    assert story.baseline.trial_id == "a" and story.first_proposal.trial_id == "b" and story.best.trial_id == "b"
    assert [t.rank for t in story.trials] == [1, 3, 2, None]
    assert story.trials[0].predicted == 0.9 and "portfolio" in story.trials[0].origin_detail
    text = " ".join(story.lines)
    assert "Zero-shot baseline (trial 2, plain 0-shot): validation accuracy 0.450 [" in text
    assert "First meta-learner proposal (trial 1" in text and "+35.0 points (95% CI" in text
    assert "a tie" not in text.split("Best against")[0]


def test_a_gap_within_noise_is_called_a_tie():
    trials = [_trial("a", ZERO, 0.45), _trial("b", OTHER, 0.50)]
    result = {"name": "s", "domain": "d", "metric": "accuracy", "direction": "maximize", "trials": trials, "best_trial": "b"}
    story = tell(result, {"points": [{"template": "plain", "n_shots": 0}], "proposals": []}, questions=40)
    assert any("a tie within noise" in line for line in story.lines)
    assert story.first_proposal is None
