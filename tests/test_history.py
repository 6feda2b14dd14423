from __future__ import annotations

import json

import pytest

from domaintune.errors import ConfigError
from domaintune.history import SEED_HISTORY, History, load_history
from domaintune.tracking import read_history


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


def test_history_round_trips_through_mlflow(history, store, small_domain):
    from domaintune.tracking import SweepTracker

    uri, experiment = store.uri, store.experiment("domaintune")
    tracker = SweepTracker(uri, experiment)
    tracker.start("h", {"name": "h"}, {}, small_domain.view("term_to_definition"), trial_tags={"domaintune.metric": "accuracy", "domaintune.direction": "maximize", "domaintune.base_model": "m"})
    sent = history.records[:4]
    for i, record in enumerate(sent):
        tracker.start_trial(str(i), record.strategy, small_domain.view("term_to_definition"))
        tracker.log_trial_metrics(str(i), record.steps, {"accuracy": record.value, **{f"cost.{k}": v for k, v in record.cost.items()}})
        if i < 3:  # the fourth trial ran where its outcomes were not kept
            tracker.log_trial_outcomes(str(i), {"step": record.steps, "question_ids": [f"q{j}" for j in range(5)], "outcomes": [1, 0, i % 2, 1, 0]})
        tracker.end_trial(str(i), "FINISHED")
    tracker.close()
    back = read_history(uri, experiment)
    assert len(back) == 4
    by_strategy = {r.strategy_key(): r for r in back}
    for record in sent:
        got = by_strategy[record.strategy_key()]
        assert got.value == record.value and got.cost == record.cost and got.steps == record.steps
        assert got.domain == "jargon-small" and got.view == "term_to_definition" and got.base_model == "m"
    # per-question outcomes come back with their ids, so records from MLflow compare paired
    kept = [by_strategy[r.strategy_key()] for r in sent[:3]]
    assert [g.outcomes for g in kept] == [[1, 0, i % 2, 1, 0] for i in range(3)] and all(g.question_ids == [f"q{j}" for j in range(5)] for g in kept)
    assert all(g.questions == 5 for g in kept) and by_strategy[sent[3].strategy_key()].outcomes is None


def test_a_missing_or_unreadable_history_is_an_error_saying_where_it_looked(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere.jsonl does not exist \(looked at /"):
        load_history([str(tmp_path / "nowhere.jsonl")])
    (tmp_path / "latin1.jsonl").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ConfigError, match="latin1.jsonl: cannot read it"):
        load_history([str(tmp_path / "latin1.jsonl")])
    with pytest.raises(ConfigError, match=r"\.jsonl, \.jsonl\.gz or \.parquet"):
        (tmp_path / "h.csv").write_text("x")
        load_history([str(tmp_path / "h.csv")])


def test_the_seed_history_keeps_per_question_outcomes_and_ids():
    seed = History.load(SEED_HISTORY)
    assert len(seed.tasks()) >= 20 and len(seed.validated()) >= 20 * 49 and seed.evaluation()
    for record in seed:
        assert record.questions == len(record.outcomes) == len(record.question_ids)
        assert sum(record.outcomes) / record.questions == pytest.approx(record.value)
    # Within a task, screening cells score prefixes of one question sample (the rungs nest) and
    # evaluation cells all score the same questions, none of which a screening cell scored.
    for task in seed.tasks():
        screening = [r.question_ids for r in seed.of_task(task) if r.stage == "screening"]
        longest = max(screening, key=len)
        assert all(ids == longest[: len(ids)] for ids in screening)
        evaluation = {tuple(r.question_ids) for r in seed.of_task(task) if r.stage == "evaluation"}
        assert len(evaluation) <= 1 and not set(longest) & {q for ids in evaluation for q in ids}


def test_replayed_trials_do_not_come_back_as_history(store, small_domain):
    from domaintune.tracking import SweepTracker

    uri, experiment = store.uri, store.experiment("domaintune")
    view = small_domain.view("term_to_definition")
    for runner in ("lm", "replay"):
        tracker = SweepTracker(uri, experiment)
        tracker.start(runner, {}, {}, view, trial_tags={"domaintune.metric": "accuracy", "domaintune.runner": runner})
        tracker.start_trial("t", {"template": "plain"}, view)
        tracker.log_trial_metrics("t", 0, {"accuracy": 0.5})
        tracker.end_trial("t", "FINISHED")
        tracker.close()
    assert len(read_history(uri, experiment)) == 1  # the lm trial; the replay trial is the history read back
