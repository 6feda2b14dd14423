"""The loop on real Ray + a real MLflow store (a SQLite file, then a server on PostgreSQL),
answered by the replay runner from histories written here: a domain is released in a new
version, run-due checks the champion, sweeps, and promotes the challenger only when it wins the
paired test; feedback makes the next version; rollback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.domains import EVOLVING, load_domain, release_domain
from domaintune.history import SEED_HISTORY, History, Record
from domaintune.schedule import list_entries, run_due
from domaintune.strategy import Strategy

IDS = [f"q{i:02d}" for i in range(40)]
GRID = [{"n_shots": n, "scoring": s} for n in (0, 3) for s in ("mean", "calibrated")]
# Which of the 40 questions each strategy answers right, per domain version (replayed answers).
RIGHT = {
    "1": {(0, "mean"): range(16), (0, "calibrated"): range(20), (3, "mean"): range(18), (3, "calibrated"): range(24)},
    "2": {(0, "mean"): range(16), (0, "calibrated"): range(36), (3, "mean"): range(18), (3, "calibrated"): range(20)},
    "3": {(0, "mean"): range(10), (0, "calibrated"): range(24), (3, "mean"): [*range(23), *range(24, 28)], (3, "calibrated"): range(20)},
}


def _strategy(point: dict) -> dict:
    return Strategy.from_dict({"retrieval": "none", "template": "instruction", "adapter": "none", **point}).active()


def _history(path: Path, versions: list[str]) -> str:
    records = []
    for version in versions:
        for (shots, scoring), right in RIGHT[version].items():
            outcomes = [float(i in set(right)) for i in range(40)]
            records.append(Record(
                domain=EVOLVING, domain_version=version, fingerprint=f"v{version}", view="definition_to_term",
                strategy=_strategy({"n_shots": shots, "scoring": scoring}), metric="accuracy", value=sum(outcomes) / 40,
                questions=40, question_ids=IDS, outcomes=outcomes, source="test",
            ))
    History(records).to_jsonl(path)
    return str(path)


@pytest.fixture
def loop(tmp_path, monkeypatch, store):
    import ray

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    monkeypatch.setenv("DOMAINTUNE_DOMAINS", str(tmp_path / "domains"))
    histories = {v: _history(tmp_path / f"h{v}.jsonl", [str(i) for i in range(1, int(v) + 1)]) for v in RIGHT}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({
        "name": "evo-replay", "domain": EVOLVING, "view": "definition_to_term",
        "runner": {"kind": "replay"},
        "space": {"retrieval": "none", "template": "instruction", "adapter": "none", "n_shots": [0, 3], "scoring": ["mean", "calibrated"]},
        "search": {"num_samples": 4, "max_concurrent": 2, "scheduler": "fifo", "points_to_evaluate": GRID},
        "warm_start": {"learner": "random", "n": 1},
        "tracking": {"experiment": store.experiment("evo-sweeps")},
        "storage": str(tmp_path / "ray"),
    }))

    def schedule(version: str) -> Path:
        """The schedule as it stands when the domain is at ``version``: the replay runner answers
        from that version's history; the warm start knows the earlier versions' results."""
        earlier = histories[str(int(version) - 1)] if version != "1" else None
        path = tmp_path / "schedule.yaml"
        path.write_text(yaml.safe_dump({
            "tracking": {"experiment": store.experiment("evo-schedule")},
            "lock_dir": str(tmp_path / "locks"),
            "feedback_history": str(tmp_path / "feedback.jsonl"),
            "entries": [{
                "name": "evo", "config": "sweep.yaml", "triggers": {"data_changed": True},
                "set": {"runner.history": [histories[version]], "warm_start.history": [str(SEED_HISTORY), *([earlier] if earlier else [])]},
            }],
        }))
        return path

    yield schedule, tmp_path
    ray.shutdown()


def _version_tags(client: MlflowClient, version: str) -> dict:
    return client.get_model_version(EVOLVING, version).tags


@pytest.mark.heavy
def test_new_versions_are_checked_swept_and_promoted_only_on_a_paired_win(loop, store):
    schedule, tmp_path = loop
    client = MlflowClient(store.uri, registry_uri=store.uri)
    cli = CliRunner()

    # v1, a fresh store: due (first sweep); the winner becomes the first champion.
    listed = json.loads(cli.invoke(app, ["schedule", "list", str(schedule("1")), "--json"]).stdout)
    assert listed[0]["entry"] == "evo" and listed[0]["due"] and listed[0]["next_run"]
    assert listed[0]["pending_triggers"][0].startswith("data_changed: first sweep")
    first = run_due(schedule("1"))
    assert [(r["entry"], r["action"], r["promoted"]) for r in first] == [("evo", "sweep", True)]
    assert first[0]["sweep_run_id"] and first[0]["reason"].startswith("data_changed")
    assert first[0]["strategy"] == _strategy({"n_shots": 3, "scoring": "calibrated"})
    assert first[0]["challenger_outcomes"] == "from the trial"
    assert str(client.get_model_version_by_alias(EVOLVING, "champion").version) == "1"
    # At once again: nothing is due, from the library and from the CLI.
    assert run_due(schedule("1")) == []
    again = cli.invoke(app, ["schedule", "run-due", str(schedule("1")), "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout) == []

    # v2 is released: run-due checks the champion on it, sweeps, and the challenger wins clearly.
    assert release_domain(EVOLVING).version == "2"
    status = list_entries(schedule("2"))[0]
    assert status["champion_check_due"] and status["pending_triggers"][0].startswith("data_changed: v1")
    second = run_due(schedule("2"))[0]
    assert second["check"]["value"] == pytest.approx(0.5) and second["check"]["domain_version"] == "2"
    assert second["promoted"] and second["version"] == "2" and second["previous_champion"] == "1"
    test = second["paired_test"]
    assert (test["questions"], test["challenger_wins"], test["champion_wins"]) == (40, 16, 0)
    assert test["p_value"] == pytest.approx(2**-16)
    assert str(client.get_model_version_by_alias(EVOLVING, "champion").version) == "2"
    assert "promoted" in _version_tags(client, "2")["domaintune.reason"]
    assert json.loads(_version_tags(client, "1")[f"domaintune.check.{load_domain(EVOLVING).fingerprint}"])["value"] == pytest.approx(0.5)
    # The sweep was told the domain's earlier (v1) results.
    plan = client.download_artifacts(second["sweep_run_id"], "warm_start.json", str(tmp_path))
    earlier = json.loads(Path(plan).read_text())["earlier_results"]
    assert len(earlier) == 4 and {e["version"] for e in earlier} == {"1"}

    # Feedback on the champion: history records + a new domain version (v3) ...
    v2 = load_domain(EVOLVING).view("definition_to_term")
    asked = v2.splits["validation"][0]
    feedback = tmp_path / "judgments.jsonl"
    feedback.write_text("\n".join(json.dumps(row) for row in [
        {"question": asked["question"], "judgment": "correct", "corrected": "lex mercatoria", "answer": asked["options"][0], "expert": "a-lawyer"},
        {"question": v2.splits["validation"][1]["question"], "judgment": "accept", "expert": "a-lawyer"},
        {"question": "A right of way over another's land that ends when its purpose ends.", "judgment": "correct", "corrected": "easement of necessity"},
    ]) + "\n")
    out = cli.invoke(app, ["feedback", EVOLVING, "--file", str(feedback), "--history", str(tmp_path / "feedback.jsonl"), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["new_version"]["version"] == "3"
    [record] = History.load(tmp_path / "feedback.jsonl").records
    assert (record.domain, record.domain_version, record.view, record.metric) == (EVOLVING, "2", "definition_to_term", "accuracy")
    assert record.strategy == _strategy({"n_shots": 0, "scoring": "calibrated"}) and record.outcomes == [0.0, 1.0, 0.0]
    assert record.questions == 3 and record.value == pytest.approx(1 / 3) and record.source.startswith("feedback:judgments.jsonl")
    v3 = load_domain(EVOLVING)
    assert v3.version == "3" and v3.versions[-1] == {"version": "2", "fingerprint": v2.fingerprint}
    assert [r["term"] for r in v3.splits["validation"] if r["definition"] == asked["question"]] == ["lex mercatoria"]
    added = [r for r in v3.splits["train"] if r["term"] == "easement of necessity"]
    assert len(added) == 1 and added[0]["options"][added[0]["answer"]] == added[0]["definition"]
    assert len(v3.splits["train"]) == len(v2.splits["train"]) + 1
    import mlflow

    traces = mlflow.search_traces(experiment_ids=[client.get_experiment_by_name("domaintune-feedback").experiment_id], return_type="list")
    judged = sorted(a.value for trace in traces for a in trace.info.assessments if a.name == "expert_judgment")
    assert judged == ["accept", "correct", "correct"]
    # ... and run-due checks, sweeps, and refuses a challenger that only edges the champion (4 to 1).
    third = run_due(schedule("3"))[0]
    assert third["check"]["domain_version"] == "3" and third["check"]["value"] == pytest.approx(0.6)
    assert not third["promoted"] and third["version"] == "3"
    assert (third["paired_test"]["challenger_wins"], third["paired_test"]["champion_wins"]) == (4, 1)
    assert third["paired_test"]["p_value"] == pytest.approx(6 / 32)
    assert str(client.get_model_version_by_alias(EVOLVING, "champion").version) == "2"
    tags = _version_tags(client, "3")
    assert tags["domaintune.decision"] == "refused" and "p = 0.1875" in tags["domaintune.reason"]
    assert run_due(schedule("3")) == []

    # What ran is in MLflow: entry, action, reason, sweep run id, outcome.
    runs = client.search_runs([client.get_experiment_by_name(store.experiment("evo-schedule")).experiment_id], order_by=["attributes.start_time ASC"])
    seen = [(r.data.tags["domaintune.action"], r.data.tags["domaintune.outcome"]) for r in runs]
    assert seen == [("sweep", "promoted"), ("check", "checked"), ("sweep", "promoted"), ("check", "checked"), ("sweep", "refused")]
    assert all(r.data.tags["domaintune.entry"] == "evo" for r in runs)
    assert runs[-1].data.tags["domaintune.sweep_run_id"] == third["sweep_run_id"]

    # champion show / rollback.
    shown = json.loads(cli.invoke(app, ["champion", "show", EVOLVING, "--json"]).stdout)
    assert shown["champion"] == "2" and [v["decision"] for v in shown["versions"]] == ["refused", "promoted", "promoted"]
    rolled = cli.invoke(app, ["champion", "rollback", EVOLVING, "--json"])
    assert rolled.exit_code == 0 and json.loads(rolled.stdout)["champion"] == "1"
    assert str(client.get_model_version_by_alias(EVOLVING, "champion").version) == "1"
    refused = cli.invoke(app, ["champion", "rollback", EVOLVING])
    assert refused.exit_code == 2 and "nothing to roll back" in refused.stderr
