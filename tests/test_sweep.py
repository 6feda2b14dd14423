"""Real local Ray, real MLflow SQLite store. Sweep mechanics (tracking, failures, warm start,
Pareto fronts) run on the replay runner (the shipped history, no model, seconds); a few sweeps
keep the LM runner with real peft training on a tiny model, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from domaintune.config import parse_config
from domaintune.domains import save_domain
from domaintune.strategy import Strategy


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _config(tmp_path, tiny_model_dir, small_domain, tracking_uri, **search):
    folder = save_domain(small_domain, tmp_path / "domain")
    return parse_config(
        {
            "name": "unit",
            "domain": str(folder),
            "runner": {"model": tiny_model_dir, "questions": 4, "test_questions": 6, "eval_every": 2},
            "space": {
                "batch_size": 2,
                "template": ["plain", "chat"],
                "n_shots": [0, 1],
                "adapter": ["none", "lora"],
                "lora_rank": [2, 4],
                "lora_target_modules": ["q_proj,v_proj", "c_attn"],
                "lora_layers": ["all", "top:2"],
                "steps": 4,
            },
            "search": {"num_samples": 5, "max_concurrent": 2, "scheduler": "fifo", **search},
            "tracking": {"uri": tracking_uri, "experiment": "unit"},
            "storage": str(tmp_path / "ray"),
        },
        "test config",
    )


def test_sweep_records_parent_and_children_and_survives_a_failing_trial(
    ray_local, tmp_path, tiny_model_dir, small_domain, tracking_uri
):
    from domaintune.sweep import run_sweep

    warm = [
        {"template": "chat", "n_shots": 1, "adapter": "none"},
        {"adapter": "lora", "lora_target_modules": "c_attn", "lora_layers": "all", "lora_rank": 2},  # fails: no such module
        {"adapter": "lora", "lora_target_modules": "q_proj,v_proj", "lora_layers": "top:2", "lora_rank": 4},
    ]
    config = _config(tmp_path, tiny_model_dir, small_domain, tracking_uri, points_to_evaluate=warm)
    result = run_sweep(config, verbose=0)

    client = MlflowClient(tracking_uri)
    runs = client.search_runs([result.experiment_id], order_by=["attributes.start_time ASC"])
    parent = [r for r in runs if r.info.run_id == result.parent_run_id][0]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == result.parent_run_id]
    assert len(runs) == 6 and len(children) == 5
    assert "RUNNING" not in {r.info.status for r in runs}
    assert parent.info.status == "FINISHED"
    failed = [r for r in children if r.info.status == "FAILED"]
    assert len(failed) == 1 and "c_attn not found" in failed[0].data.tags["domaintune.error"]
    assert sum(r.info.status == "FINISHED" for r in children) == 4

    # The strategy is logged with the config's keys; metrics at every report; cost metrics.
    for child in children:
        # Only active levers are recorded: no LoRA rank on a trial without LoRA.
        strategy = Strategy.from_dict({k: _parse(v) for k, v in child.data.params.items()})
        assert set(child.data.params) == set(strategy.active())
        assert ("lora_rank" in child.data.params) == (child.data.params["adapter"] == "lora")
        assert client.list_artifacts(child.info.run_id, "")[0].path in {"outcomes.json", "error.txt"}
    lora_child = [r for r in children if r.data.params["adapter"] == "lora" and r.info.status == "FINISHED"][0]
    assert [m.step for m in client.get_metric_history(lora_child.info.run_id, "accuracy")] == [2, 4]
    assert lora_child.data.metrics["cost.trainable_params"] > 0

    # Warm start: the given strategies ran first. Two run at once, so which of a concurrent pair
    # starts a few milliseconds earlier is Ray's choice: compare the first three as a set.
    started = [Strategy.from_dict({k: _parse(v) for k, v in r.data.params.items()}) for r in children[:3]]
    given = [Strategy.from_dict({"steps": 4, "batch_size": 2, **w}) for w in warm]
    assert sorted(json.dumps(s.active(), sort_keys=True) for s in started) == sorted(json.dumps(s.active(), sort_keys=True) for s in given)

    # Parent: best strategy, its validation score, its test score; test used only for the best.
    assert result.best_strategy is not None and result.test_questions == 6
    assert parent.data.metrics["best_validation_accuracy"] == max(t.metric for t in result.trials if t.metric is not None)
    assert "test_accuracy" in parent.data.metrics and parent.data.metrics["trials_failed"] == 1
    assert parent.data.tags["domaintune.domain_fingerprint"] == small_domain.fingerprint
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "plots")} == {
        "plots/progress.png", "plots/trials.png", "plots/history.png", "plots/levels.png"
    }
    assert "report.html" in {a.path for a in client.list_artifacts(parent.info.run_id)}

    # Every finished trial's per-question outcomes are on its run, so the history read back pairs.
    from domaintune.tracking import read_history

    back = read_history(tracking_uri, config.tracking.experiment)
    finished = [r for r in back if r.status == "FINISHED"]
    assert len(finished) == 4 and all(r.outcomes is not None and len(r.outcomes) == len(r.question_ids) == r.questions for r in finished)
    assert all(sum(r.outcomes) / len(r.outcomes) == pytest.approx(r.value) for r in finished)


def _parse(text: str):
    """Params are logged as JSON for non-strings, so they read back with their types."""
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def test_asha_stops_weak_trials_early(ray_local, tmp_path, tiny_model_dir, small_domain, tracking_uri):
    """Training loss (continuous, and far apart across learning rates) as the metric: no ties."""
    from domaintune.sweep import run_sweep

    config = _config(tmp_path, tiny_model_dir, small_domain, tracking_uri, scheduler="asha", num_samples=8)
    config = parse_config(
        {
            **config.model_dump(mode="json"),
            "metric": "train_loss",
            "direction": "minimize",
            "space": {"adapter": "lora", "steps": 8, "batch_size": 2, "learning_rate": {"low": 1e-5, "high": 0.3, "log": True}},
        },
        "asha",
    )
    result = run_sweep(config, verbose=0)
    assert all(t.status == "FINISHED" for t in result.trials)
    assert any(t.stopped_early for t in result.trials)
    assert any(t.steps == 8 for t in result.trials)


def test_a_user_glossary_given_inline_runs_through_a_sweep(ray_local, tmp_path, tiny_model_dir, jargon, tracking_uri):
    import csv

    from domaintune.sweep import run_sweep

    rows = jargon.splits["train"][:40]
    files = {}
    for split, chunk in {"train": rows[:24], "validation": rows[24:32], "test": rows[32:40]}.items():
        path = tmp_path / f"{split}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["term", "definition"])
            writer.writerows((r["term"], r["definition"]) for r in chunk)
        files[split] = str(path)
    config = parse_config(
        {
            "name": "user-domain",
            "domain": {"name": "my-jargon", **files, "licence": "public domain", "title": "hacker jargon"},
            "view": "definition_to_term",
            "runner": {"model": tiny_model_dir, "questions": 8, "test_questions": 8, "eval_every": 2},
            "space": {"template": ["plain", "qa"], "adapter": ["none", "lora"], "steps": 2, "batch_size": 2},
            "search": {"num_samples": 2, "max_concurrent": 2, "scheduler": "fifo"},
            "tracking": {"uri": tracking_uri, "experiment": "user"},
            "storage": str(tmp_path / "ray"),
        },
        "inline user domain",
    )
    result = run_sweep(config, verbose=0)
    assert result.domain == "my-jargon" and len(result.trials) == 2
    assert all(t.status == "FINISHED" for t in result.trials) and result.test_questions == 8
    parent = MlflowClient(tracking_uri).get_run(result.parent_run_id)
    assert parent.data.tags["domaintune.domain_view"] == "definition_to_term"
    assert parent.data.tags["domaintune.domain_fingerprint"] == result.domain_fingerprint


# --- on the replay runner: the shipped history answers, so these take seconds -------------------

ROOT = Path(__file__).resolve().parents[1]


def _replay_config(tmp_path, tracking_uri, **changes):
    import yaml

    values = yaml.safe_load((ROOT / "experiments" / "replay_sweep.yaml").read_text())
    values.update(tracking={"uri": tracking_uri, "experiment": "replay"}, storage=str(tmp_path / "ray"))
    for key, value in changes.items():
        section, _, leaf = key.partition("__")
        if leaf:
            values.setdefault(section, {})[leaf] = value
        else:
            values[key] = value
    return parse_config(values, "replay test config")


def _history_best(domain: str, space) -> tuple[dict, float]:
    """The best recorded strategy of ``domain`` among those the space holds (from the seed history)."""
    from domaintune.errors import ConfigError
    from domaintune.history import load_history

    inside = []
    for record in load_history().validated().where(domain=domain, view="definition_to_term"):
        try:
            point = space.point(record.parsed_strategy(), "test")
        except ConfigError:
            continue
        if space.strategy(point).active() == record.strategy:  # the fixed levers too
            inside.append(record)
    best = max(inside, key=lambda r: r.value)
    return best.strategy, best.value


def test_replay_sweep_records_nested_runs_named_by_strategy_and_picks_the_best(ray_local, tmp_path, tracking_uri):
    from domaintune.sweep import run_sweep

    config = _replay_config(tmp_path, tracking_uri)
    result = run_sweep(config, verbose=0)
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([result.experiment_id])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == result.parent_run_id]
    assert len(runs) == 1 + config.search.num_samples and len(children) == config.search.num_samples
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert all(c.data.tags["domaintune.runner"] == "replay" for c in children)
    labels = sorted(c.info.run_name for c in children)
    assert labels[0].startswith("1 · ") and all(" · " in label for label in labels)
    # Every value is the recorded one, and the choice is the best of what was evaluated.
    from domaintune.history import load_history, strategy_key

    # the screening cells of the task swept (the latest of a strategy: its widest rung); evaluation
    # cells scored other questions and never answer a sweep
    recorded = {r.strategy_key(): r.value for r in load_history().validated().where(domain="gcide-law", view="definition_to_term")}
    for trial in result.trials:
        assert trial.metric == recorded[strategy_key(Strategy.from_dict(trial.strategy).active())]
    assert result.best_validation == max(t.metric for t in result.trials)
    assert result.test_score is None and result.test_questions == 0  # the seed history records no test split
    evaluated = {json.dumps(Strategy.from_dict(t.strategy).active(), sort_keys=True) for t in result.trials}
    assert len(evaluated) >= 3  # TPE explored the 4-point grid rather than repeating one point


def test_a_budget_that_covers_the_space_finds_the_historys_best(ray_local, tmp_path, tracking_uri):
    from domaintune.sweep import run_sweep

    grid = [{"scoring": s, "n_shots": n} for s in ("mean", "calibrated") for n in (0, 3)]
    config = _replay_config(tmp_path, tracking_uri, search__points_to_evaluate=grid, search__num_samples=4)
    result = run_sweep(config, verbose=0)
    best, value = _history_best("gcide-law", config.search_space())
    assert len({json.dumps(Strategy.from_dict(t.strategy).active(), sort_keys=True) for t in result.trials}) == 4
    assert result.best_strategy == best and result.best_validation == value


def test_an_unrecorded_strategy_fails_its_trial_and_the_sweep_goes_on(ray_local, tmp_path, tracking_uri):
    from domaintune.sweep import run_sweep

    space = {"retrieval": "none", "template": "instruction", "scoring": "calibrated", "n_shots": [0, 1, 3]}
    points = [{"n_shots": 1}, {"n_shots": 0}, {"n_shots": 3}]
    config = _replay_config(tmp_path, tracking_uri, space=space, search__points_to_evaluate=points, search__num_samples=3)
    result = run_sweep(config, verbose=0)
    statuses = {Strategy.from_dict(t.strategy).n_shots: t.status for t in result.trials}
    assert statuses == {1: "FAILED", 0: "FINISHED", 3: "FINISHED"}
    client = MlflowClient(tracking_uri)
    failed = [r for r in client.search_runs([result.experiment_id]) if r.info.status == "FAILED"]
    assert len(failed) == 1 and "never recorded" in failed[0].data.tags["domaintune.error"]
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED" and parent.data.metrics["trials_failed"] == 1
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "plots")} >= {"plots/progress.png", "plots/trials.png"}


def test_multi_objective_sweep_reports_the_pareto_front(ray_local, tmp_path, tracking_uri):
    from domaintune.sweep import run_sweep

    config = _replay_config(
        tmp_path, tracking_uri, objectives=[{"metric": "cost.prompt_tokens", "direction": "minimize"}],
        search__scheduler="fifo", search__num_samples=6,
    )
    result = run_sweep(config, verbose=0)
    finished = [t for t in result.trials if t.status == "FINISHED"]
    assert result.pareto and set(result.pareto) <= {t.trial_id for t in finished}
    cheapest = min(t.cost["prompt_tokens"] for t in finished)
    assert any(t.cost["prompt_tokens"] == cheapest for t in finished if t.trial_id in result.pareto)
    for trial in finished:  # nothing off the front beats a front trial on both objectives
        for front_id in result.pareto:
            front = next(t for t in finished if t.trial_id == front_id)
            assert not (trial.metric > front.metric and trial.cost["prompt_tokens"] < front.cost["prompt_tokens"])
    client = MlflowClient(tracking_uri)
    tagged = client.search_runs([result.experiment_id], filter_string="tags.`domaintune.pareto` = 'true'")
    assert len(tagged) == len(result.pareto)
    assert "plots/pareto.png" in {a.path for a in client.list_artifacts(result.parent_run_id, "plots")}


def test_warm_start_evaluates_the_learners_proposals_first_and_tells_earlier_results(ray_local, tmp_path, tracking_uri):
    """Proposals learned from the other 19 domains of the seed history run first and are logged;
    the domain's own earlier result is told to the search instead of being run again."""
    from domaintune.history import History, Record, load_history
    from domaintune.meta import propose
    from domaintune.sweep import plan_warm_start
    from domaintune.sweep import run_sweep

    others = History(load_history().without_domain("gcide-law").records)
    earlier = Strategy.from_dict({"template": "instruction", "scoring": "calibrated", "n_shots": 3}).active()
    own = History([Record(domain="gcide-law", domain_version="0", fingerprint="old", view="definition_to_term",
                          strategy=earlier, metric="accuracy", value=0.9, source="an earlier sweep")])
    files = [str(others.to_jsonl(tmp_path / "others.jsonl")), str(own.to_jsonl(tmp_path / "own.jsonl"))]
    config = _replay_config(
        tmp_path, tracking_uri, warm_start={"learner": "portfolio", "n": 3, "history": files},
        search__num_samples=4, search__max_concurrent=1, search__scheduler="fifo",
    )
    domain, space = config.load_domain(), config.search_space()
    plan = plan_warm_start(config, domain, space)
    # the first 3 of the learner's ranking that the space holds, distinct points, in ranking order
    from domaintune.errors import ConfigError
    from domaintune.sweep import PROPOSAL_DEPTH

    ranked = [q.strategy for q in propose(domain, others, "portfolio", 3 * PROPOSAL_DEPTH)]
    holds = set()
    for strategy in ranked:
        try:
            holds.add(json.dumps(space.point(Strategy.from_dict(strategy), "test"), sort_keys=True))
        except ConfigError:
            continue
    in_space = [p for _, p in plan.proposals]
    order = [ranked.index(p.strategy) for p in in_space]
    assert in_space and order == sorted(order) and len(in_space) == min(3, len(holds))
    assert len({json.dumps(point, sort_keys=True) for point, _ in plan.proposals}) == len(in_space)
    assert [(e.value, e.version) for e in plan.earlier] == [(0.9, "0")]
    assert space.strategy(plan.earlier[0].point).active() == earlier
    result = run_sweep(config, verbose=0)
    ran = [Strategy.from_dict(t.strategy).active() for t in result.trials]
    first = [space.strategy(point).active() for point in plan.points]
    assert ran[: len(first)] == first and earlier not in ran[: len(first)]
    path = MlflowClient(tracking_uri).download_artifacts(result.parent_run_id, "warm_start.json", str(tmp_path))
    logged = json.loads(open(path).read())
    assert [entry["strategy"] for entry in logged["proposals"]] == [p.strategy for p in in_space]
    assert [entry["value"] for entry in logged["earlier_results"]] == [0.9]


def test_a_metric_the_domain_does_not_report_fails_before_any_run(tmp_path, tracking_uri):
    from domaintune.errors import ConfigError
    from domaintune.sweep import run_sweep

    with pytest.raises(ConfigError, match="metric: 'f1' is not reported for a multiple_choice domain"):
        run_sweep(_replay_config(tmp_path, tracking_uri, metric="f1"), verbose=0)
    assert not (tmp_path / "mlflow.db").exists() or not MlflowClient(tracking_uri).search_experiments(filter_string="name = 'replay'")


def test_a_warm_start_for_a_model_the_history_lacks_leaves_more_to_the_search(tmp_path, tracking_uri):
    """The shipped history has no task scored with the config's base model: the plan says so and
    runs half the proposals (the search gets the rest of the budget)."""
    from domaintune.history import load_history
    from domaintune.sweep import plan_warm_start

    assert "tiny-unknown-model" not in {r.base_model for r in load_history()}
    known = _replay_config(tmp_path, tracking_uri, warm_start={"learner": "portfolio", "n": 4}, domain="gcide-astronomy", space="all")
    unknown = _replay_config(tmp_path, tracking_uri, warm_start={"learner": "portfolio", "n": 4}, domain="gcide-astronomy", space="all",
                             runner__model="tiny-unknown-model")
    plan, lacking = (plan_warm_start(c, c.load_domain(), c.search_space()) for c in (known, unknown))
    assert plan.caveats == [] and len(plan.proposals) > 2
    assert any("base model tiny-unknown-model" in c for c in lacking.caveats) and 1 <= len(lacking.proposals) <= 2
    assert lacking.to_dict()["caveats"] == lacking.caveats
