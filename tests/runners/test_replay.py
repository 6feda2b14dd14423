"""The replay runner: recorded results back exactly, or refused, or the nearest on request."""

from __future__ import annotations

import pytest

from domaintune.errors import ConfigError
from domaintune.runners import ReplayRunner
from domaintune.strategy import Strategy


def test_replay_returns_recorded_values_exactly(history):
    from domaintune.domains import load_domain

    runner = ReplayRunner(history)
    for record in history.records[:8]:
        domain = load_domain(record.domain).view(record.view)
        reports = []
        result = runner.run(domain, Strategy.from_dict(record.strategy), report=lambda *a: reports.append(a))
        assert result.metrics == {"accuracy": record.value} and result.cost == record.cost
        assert reports == [(record.steps, {"accuracy": record.value}, record.cost)]
        assert result.outcomes == record.outcomes and result.question_ids == record.question_ids


def test_replay_refuses_or_finds_the_nearest_unrecorded_strategy(history):
    from domaintune.domains import load_domain

    record = history.records[0]
    domain = load_domain(record.domain).view(record.view)
    unseen = Strategy.from_dict({**record.strategy, "template": "qa"})
    with pytest.raises(ConfigError, match="never recorded"):
        ReplayRunner(history).run(domain, unseen)
    near = ReplayRunner(history, nearest=True).lookup(record.domain, unseen, record.view)
    assert sum(near.strategy.get(k) != unseen.active().get(k) for k in set(near.strategy) | set(unseen.active())) <= 1


def test_a_history_without_test_records_answers_the_test_split_with_nothing(history):
    from domaintune.domains import load_domain

    record = history.records[0]
    domain = load_domain(record.domain).view(record.view)
    result = ReplayRunner(history).run(domain, Strategy.from_dict(record.strategy), split="test")
    assert result.metrics == {} and result.split == "test"


def test_a_domain_the_history_never_saw_is_an_error_naming_it(history):
    from domaintune.domains import load_domain

    with pytest.raises(ConfigError, match="no validation records for domain 'gcide-astronomy'"):
        ReplayRunner(history).run(load_domain("gcide-astronomy").view("definition_to_term"), Strategy())


def test_an_empty_history_fails_prepare():
    from domaintune.history import History

    with pytest.raises(ConfigError, match="no finished evaluation"):
        ReplayRunner(History()).prepare()
