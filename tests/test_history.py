from __future__ import annotations

import json

import pytest

from domaintune.errors import ConfigError
from domaintune.meta import History, ReplayRunner
from domaintune.strategy import Strategy


def test_history_round_trips_through_jsonl_and_parquet(history, tmp_path):
    assert len(history) >= 10
    assert History.from_jsonl(history.to_jsonl(tmp_path / "h.jsonl")).records == history.records
    assert History.from_parquet(history.to_parquet(tmp_path / "h.parquet")).records == history.records


def test_malformed_record_names_file_and_row(history, tmp_path):
    lines = [r.model_dump_json() for r in history.records[:3]]
    broken = json.loads(lines[1])
    broken["strategy"]["template"] = "shouting"
    lines[1] = json.dumps(broken)
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"bad.jsonl: row 2: strategy: template"):
        History.from_jsonl(tmp_path / "bad.jsonl")
    (tmp_path / "bad2.jsonl").write_text(lines[0] + "\n{not json\n")
    with pytest.raises(ConfigError, match=r"bad2.jsonl: row 2: not valid JSON"):
        History.from_jsonl(tmp_path / "bad2.jsonl")


def test_history_round_trips_through_mlflow(history, tmp_path, small_domain):
    from domaintune.tracking import SweepTracker

    uri = f"sqlite:///{tmp_path / 'h.db'}"
    tracker = SweepTracker(uri, "domaintune")
    tracker.start("h", {"name": "h"}, {}, small_domain.view("term_to_definition"), trial_tags={"domaintune.metric": "accuracy", "domaintune.direction": "maximize", "domaintune.base_model": "m"})
    sent = history.records[:4]
    for i, record in enumerate(sent):
        tracker.start_trial(str(i), record.strategy, small_domain.view("term_to_definition"))
        tracker.log_trial_metrics(str(i), record.steps, {"accuracy": record.value, **{f"cost.{k}": v for k, v in record.cost.items()}})
        tracker.end_trial(str(i), "FINISHED")
    tracker.close()
    back = History.from_mlflow(uri)
    assert len(back) == 4
    by_strategy = {r.strategy_key(): r for r in back}
    for record in sent:
        got = by_strategy[record.strategy_key()]
        assert got.value == record.value and got.cost == record.cost and got.steps == record.steps
        assert got.domain == "jargon-small" and got.view == "term_to_definition" and got.base_model == "m"


def test_replay_returns_recorded_values_exactly(history):
    from domaintune.domains import load_domain

    runner = ReplayRunner(history)
    for record in history.records[:8]:
        domain = load_domain(record.domain).view(record.view)
        reports = []
        result = runner.run(domain, Strategy.from_dict(record.strategy), report=lambda *a: reports.append(a))
        assert result.metrics == {"accuracy": record.value} and result.cost == record.cost
        assert reports == [(record.steps, {"accuracy": record.value}, record.cost)]


def test_replay_refuses_or_finds_the_nearest_unrecorded_strategy(history):
    from domaintune.domains import load_domain

    record = history.records[0]
    domain = load_domain(record.domain).view(record.view)
    unseen = Strategy.from_dict({**record.strategy, "template": "qa"})
    with pytest.raises(ConfigError, match="never recorded"):
        ReplayRunner(history).run(domain, unseen)
    near = ReplayRunner(history, nearest=True).lookup(record.domain, unseen, record.view)
    assert sum(near.strategy.get(k) != unseen.active().get(k) for k in set(near.strategy) | set(unseen.active())) <= 1
