"""No strategy evaluated twice (sweep/_answers.py): real local Ray, real MLflow SQLite store, the replay
runner. A repeat of a scored strategy is answered from its run (not run), Optuna is told its value,
and an earlier sweep of the same data, model and runner settings answers a re-sweep."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from domaintune.config import parse_config
from domaintune.strategy import Strategy
from domaintune.tracking import Tag

ROOT = Path(__file__).resolve().parents[1]
DELAY = 2.0  # seconds each replayed evaluation takes: a run trial lasts that long, an answered one does not
SPACE = {"retrieval": "none", "template": "instruction", "scoring": "calibrated", "n_shots": [0, 1, 3]}  # n_shots=1 is unrecorded


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _config(tmp_path, tracking_uri, points, **runner):
    import yaml

    values = yaml.safe_load((ROOT / "experiments" / "replay_sweep.yaml").read_text())
    values.update(tracking={"uri": tracking_uri, "experiment": "answers"}, storage=str(tmp_path / "ray"), space=SPACE)
    values["runner"].update({"replay_delay": DELAY, **runner})
    values["search"].update(points_to_evaluate=[{"n_shots": n} for n in points], num_samples=len(points), max_concurrent=2, scheduler="fifo")
    return parse_config(values, "answers test config")


def _runs(tracking_uri, result) -> dict[str, object]:
    """The sweep's child runs by trial id."""
    client = MlflowClient(tracking_uri)
    children = client.search_runs([result.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{result.parent_run_id}'")
    return {run.data.tags[Tag.TRIAL_ID]: run for run in children}


def _seconds(run) -> float:
    return (run.info.end_time - run.info.start_time) / 1000


def _shots(trial) -> int:
    return Strategy.from_dict(trial.strategy).n_shots


def _told(result, tracking_uri) -> list[tuple[dict, float | None, str]]:
    """What Optuna was told, from the searcher state Ray saved: (params, value, state) per Optuna trial."""
    experiment_dir = Path(MlflowClient(tracking_uri).get_run(result.parent_run_id).data.tags[Tag.RAY_EXPERIMENT])
    state = pickle.loads(sorted(experiment_dir.glob("searcher-state-*.pkl"))[-1].read_bytes())
    return [(t.params, t.value, t.state.name) for t in state["_ot_study"].trials]


def test_a_repeated_strategy_is_answered_from_its_run_and_told_to_optuna(ray_local, tmp_path, tracking_uri):
    """Points 0, 0, 3 (at most 2 at once): the second 0 waits for the first (running), then is
    answered from its run."""
    from domaintune.sweep import run_sweep

    result = run_sweep(_config(tmp_path, tracking_uri, [0, 0, 3]), verbose=0)
    trials, runs = result.trials, _runs(tracking_uri, result)
    assert sorted((_shots(t), t.status, bool(t.answered_from)) for t in trials) == [
        (0, "FINISHED", False), (0, "FINISHED", True), (3, "FINISHED", False)
    ]
    first = next(t for t in trials if _shots(t) == 0 and not t.answered_from)
    repeat = next(t for t in trials if t.answered_from)
    assert trials[0] is first and repeat.answered_from == first.run_id and repeat.run_id != first.run_id
    assert result.answered == 1 and result.repeated_evaluations == 0
    # Not run: the replayed evaluation takes DELAY seconds, the answer none; the same recorded metrics and cost.
    answered, ran = runs[repeat.trial_id], runs[first.trial_id]
    assert _seconds(ran) >= DELAY and _seconds(answered) < DELAY
    assert answered.info.status == "FINISHED" and answered.data.tags[Tag.ANSWERED_FROM] == ran.info.run_id
    assert [t for t in trials if Tag.ANSWERED_FROM in runs[t.trial_id].data.tags] == [repeat]
    assert answered.data.metrics == ran.data.metrics and repeat.metric == first.metric and repeat.cost == first.cost
    assert json.loads(answered.data.tags[Tag.TRIAL_CONFIG]) == {"n_shots": 0}
    # Optuna was told the answer like any result: two COMPLETE trials of n_shots=0 with the recorded value.
    told = _told(result, tracking_uri)
    assert [(p, v, s) for p, v, s in told if p == {"n_shots": 0}] == [({"n_shots": 0}, first.metric, "COMPLETE")] * 2
    assert len(told) == 3 and all(s == "COMPLETE" for _, _, s in told)
    # The sweep's JSON result and its parent run say it.
    assert [t["answered_from"] for t in result.to_dict()["trials"] if t["answered_from"]] == [first.run_id]
    assert MlflowClient(tracking_uri).get_run(result.parent_run_id).data.metrics["trials_answered"] == 1


def test_an_earlier_sweep_of_the_same_settings_answers_a_re_sweep(ray_local, tmp_path, tracking_uri):
    """A re-sweep in the same experiment runs nothing already scored there; other runner settings
    (another question seed) are another measurement, so they answer nothing. A failed trial answers
    nothing: n_shots=1 is unrecorded, fails, and its repeat runs (and fails) again."""
    from domaintune.sweep import plan_warm_start, run_sweep

    config = _config(tmp_path, tracking_uri, [0, 3, 1, 1])
    earlier = run_sweep(config, verbose=0)
    assert [(_shots(t), t.status, bool(t.answered_from)) for t in earlier.trials][2:] == [(1, "FAILED", False)] * 2
    assert earlier.answered == 0 and earlier.repeated_evaluations == 0
    again = run_sweep(_config(tmp_path, tracking_uri, [3, 0], replay_delay=0.5), verbose=0)  # the delay changes no result
    by_shots = {_shots(t): t.run_id for t in earlier.trials if t.status == "FINISHED"}
    assert sorted((_shots(t), t.answered_from) for t in again.trials) == [(0, by_shots[0]), (3, by_shots[3])]  # both start at once
    assert again.answered == 2 and again.repeated_evaluations == 0
    runs = _runs(tracking_uri, again)
    assert all(_seconds(run) < DELAY and run.data.tags[Tag.ANSWERED_FROM] in by_shots.values() for run in runs.values())
    assert again.best_validation == earlier.best_validation
    # The same points under another question seed: nothing to answer them with.
    other = _config(tmp_path, tracking_uri, [0, 3, 1, 1], seed=7)
    plan = plan_warm_start(other, other.load_domain(), other.search_space())
    assert plan.answers == [] and plan.earlier == []
    same = plan_warm_start(config, config.load_domain(), config.search_space())
    assert sorted(a.run_id for a in same.answers) == sorted(by_shots.values())  # answered runs are not sources
    assert same.earlier == []  # without warm_start the search is not told them before it starts: a cold sweep stays cold
