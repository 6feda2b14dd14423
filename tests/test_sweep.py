"""Real local Ray, real MLflow SQLite store, real peft training (tiny model for speed)."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient

from domaintune.config import parse_config
from domaintune.domains import save_domain
from domaintune.strategy import Strategy


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
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
        assert client.list_artifacts(child.info.run_id, "")[0].path in {"strategy.json", "error.txt"}
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
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "plots")} == {"plots/progress.png", "plots/trials.png"}


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


def test_multi_objective_sweep_reports_the_pareto_front(ray_local, tmp_path, tiny_model_dir, small_domain, tracking_uri):
    from domaintune.sweep import run_sweep

    config = _config(tmp_path, tiny_model_dir, small_domain, tracking_uri, num_samples=4)
    config = parse_config(
        {
            **config.model_dump(mode="json"),
            "objectives": [{"metric": "cost.prompt_tokens", "direction": "minimize"}],
            "space": {"n_shots": [0, 1, 3], "template": ["plain", "instruction"]},
            "search": {**config.search.model_dump(), "points_to_evaluate": [{"n_shots": 0, "template": "plain"}, {"n_shots": 3, "template": "instruction"}]},
        },
        "multi-objective",
    )
    result = run_sweep(config, verbose=0)
    finished = [t for t in result.trials if t.status == "FINISHED"]
    assert result.pareto and set(result.pareto) <= {t.trial_id for t in finished}
    cheapest = min(finished, key=lambda t: t.cost["prompt_tokens"])
    assert cheapest.trial_id in result.pareto or any(
        t.cost["prompt_tokens"] == cheapest.cost["prompt_tokens"] and t.trial_id in result.pareto for t in finished
    )
    for trial in finished:  # nothing off the front beats a front trial on both objectives
        for front_id in result.pareto:
            front = next(t for t in finished if t.trial_id == front_id)
            assert not (trial.metric > front.metric and trial.cost["prompt_tokens"] < front.cost["prompt_tokens"])
    client = MlflowClient(tracking_uri)
    tagged = client.search_runs([result.experiment_id], filter_string="tags.`domaintune.pareto` = 'true'")
    assert len(tagged) == len(result.pareto)
    assert "plots/pareto.png" in {a.path for a in client.list_artifacts(result.parent_run_id, "plots")}


def test_warm_start_from_a_learner_evaluates_its_proposals_first(ray_local, tmp_path, tiny_model_dir, tracking_uri):
    """Proposals from the shipped seed history (real recorded evaluations) run first and are logged;
    the domain's own earlier result is told to the search instead of being run again."""
    import dataclasses

    from domaintune.domains import load_domain, save_domain
    from domaintune.meta import SEED_HISTORY, History, Record, load_history, propose
    from domaintune.sweep import _warm_start, run_sweep

    # A domain the seed history has never seen (not in experiments/meta_design.yaml).
    astronomy = load_domain("gcide-astronomy")
    small = dataclasses.replace(astronomy, splits={k: v[:24] for k, v in astronomy.splits.items()}, fingerprint="")
    folder = save_domain(small, tmp_path / "gcide-astronomy")
    assert "gcide-astronomy" not in load_history().domains()
    earlier = Strategy.from_dict({"template": "cloze", "scoring": "calibrated"}).active()
    own = History([Record(domain="gcide-astronomy", fingerprint="old", view="definition_to_term", strategy=earlier,
                          metric="accuracy", value=0.9, source="an earlier sweep")])
    own_file = own.to_jsonl(tmp_path / "own.jsonl")
    config = parse_config(
        {
            "name": "warm",
            "domain": str(folder),
            "view": "definition_to_term",
            "runner": {"model": tiny_model_dir, "questions": 4, "test_questions": 4},
            "space": "all",
            "search": {"num_samples": 3, "max_concurrent": 1, "scheduler": "fifo"},
            "warm_start": {"learner": "portfolio", "n": 3, "history": [str(SEED_HISTORY), str(own_file)]},
            "tracking": {"uri": tracking_uri, "experiment": "warm"},
            "storage": str(tmp_path / "ray"),
        },
        "warm start",
    )
    proposals = propose(small.view("definition_to_term"), load_history(), "portfolio", 3)
    found, told = _warm_start(config, config.load_domain(), config.search_space())
    in_space = [p for _, p in found]
    assert in_space and all(p.strategy in [q.strategy for q in proposals] for p in in_space)
    assert len(told) == 1 and told[0][1] == 0.9 and config.search_space().strategy(told[0][0]).active() == earlier
    result = run_sweep(config, verbose=0)
    ran = [Strategy.from_dict(t.strategy).active() for t in result.trials[: len(in_space)]]
    assert ran == [Strategy.from_dict(p.strategy).active() for p in in_space]
    assert earlier not in ran
    path = MlflowClient(tracking_uri).download_artifacts(result.parent_run_id, "warm_start.json", str(tmp_path))
    logged = json.loads(open(path).read())
    assert [entry["strategy"] for entry in logged["proposals"]] == [p.strategy for p in in_space]
    assert [entry["value"] for entry in logged["earlier_results"]] == [0.9]
