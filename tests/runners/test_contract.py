"""Every registered runner passes the same contract (domaintune.testing.runners)."""

from __future__ import annotations

import pytest

from domaintune.runners import RUNNERS, RunnerSettings, make_runner
from domaintune.strategy import Strategy
from domaintune.testing.runners import RunnerCase, RunnerContract


def test_every_registered_runner_has_a_contract_suite_here():
    assert set(RUNNERS) == {"lm", "replay"}, "a new runner kind gets a TestXxxRunner(RunnerContract) class below"


class TestLMRunner(RunnerContract):
    @pytest.fixture
    def case(self, tiny_model_dir, small_view) -> RunnerCase:
        runner = make_runner(RunnerSettings(kind="lm", model=tiny_model_dir, questions=6))
        return RunnerCase(runner, small_view, (Strategy(), Strategy(template="instruction", n_shots=1, scoring="calibrated")))


class TestReplayRunner(RunnerContract):
    @pytest.fixture
    def case(self) -> RunnerCase:
        from domaintune.domains import load_domain

        runner = make_runner(RunnerSettings(kind="replay"))
        domain = load_domain("gcide-law").view("definition_to_term")
        return RunnerCase(runner, domain, (Strategy(), Strategy(template="instruction", scoring="calibrated")))
