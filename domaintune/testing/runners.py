"""The runner contract: what every registered runner must do, as a pytest suite.

A test module subclasses ``RunnerContract`` and gives a ``case`` fixture returning a
``RunnerCase``: the runner, a domain (in a view) it can answer, and two different strategies.
A new runner kind (``register_runner``) passes this suite before it is trusted in a sweep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

from domaintune.domains import TASK_METRICS
from domaintune.errors import ConfigError
from domaintune.runners import Runner, TrialResult


@dataclass
class RunnerCase:
    runner: Runner
    domain: Any  # a Domain in the view the runner scores
    strategies: tuple[Any, Any]  # two different Strategy values the runner can evaluate


class RunnerContract:
    """Subclass and provide ``case`` (a fixture returning a ``RunnerCase``)."""

    @pytest.fixture
    def results(self, case: RunnerCase) -> list[tuple[TrialResult, list[tuple[int, dict, dict]]]]:
        out = []
        for strategy in case.strategies:
            reports: list[tuple[int, dict, dict]] = []
            result = case.runner.run(case.domain, strategy, report=lambda s, m, c: reports.append((s, m, c)))
            out.append((result, reports))
        return out

    def test_prepare_is_idempotent(self, case: RunnerCase) -> None:
        case.runner.prepare()
        case.runner.prepare()

    def test_result_holds_the_task_metric_and_a_cost(self, case: RunnerCase, results: list) -> None:
        main = TASK_METRICS[case.domain.task][0]
        for result, _ in results:
            assert isinstance(result, TrialResult) and result.split == "validation"
            assert 0.0 <= result.metrics[main] <= 1.0
            assert result.cost and all(isinstance(v, float) and math.isfinite(v) and v >= 0 for v in result.cost.values())
            assert {"eval_seconds", "train_seconds", "prompt_tokens"} <= set(result.cost)
            assert result.steps >= 0

    def test_reports_end_with_the_result(self, case: RunnerCase, results: list) -> None:
        for result, reports in results:
            assert reports, "a runner reports at least once, so a scheduler sees every trial"
            steps = [step for step, _, _ in reports]
            assert steps == sorted(steps) and steps[-1] == result.steps
            assert reports[-1][1] == result.metrics and reports[-1][2] == result.cost

    def test_outcomes_are_per_question_and_average_to_the_metric(self, case: RunnerCase, results: list) -> None:
        main = TASK_METRICS[case.domain.task][0]
        for result, _ in results:
            assert result.questions > 0
            assert result.outcomes is not None and len(result.outcomes) == result.questions
            assert result.question_ids is not None and len(result.question_ids) == result.questions
            assert sum(result.outcomes) / result.questions == pytest.approx(result.metrics[main])

    def test_strategies_are_scored_on_the_same_questions(self, results: list) -> None:
        (a, _), (b, _) = results
        assert a.question_ids == b.question_ids  # what makes a paired comparison possible

    def test_the_same_strategy_gives_the_same_result(self, case: RunnerCase, results: list) -> None:
        again = case.runner.run(case.domain, case.strategies[0])
        assert again.metrics == results[0][0].metrics and again.outcomes == results[0][0].outcomes

    def test_an_unknown_split_is_an_error_naming_it(self, case: RunnerCase) -> None:
        with pytest.raises(ConfigError, match="no-such-split"):
            case.runner.run(case.domain, case.strategies[0], split="no-such-split")
