"""`domaintune report` as a user runs it, and what a finished sweep's run carries in MLflow:
a real replay sweep (Ray + MLflow, no model), warm-started by the meta-learner."""

from __future__ import annotations

import json
import re

from mlflow.tracking import MlflowClient

from domaintune.config import DEFAULT_LEARNER
from domaintune.history import load_history, task_domain

from tests.test_cli import domaintune


def _one_json_object(stdout: str) -> dict:
    data = json.loads(stdout)  # raises if anything but one JSON document is printed
    assert isinstance(data, dict)
    return data


def _self_contained(path) -> str:
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", text), "an external script would not load offline"
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", text)
    assert "Plotly.newPlot" in text and len(text) > 3_000_000  # plotly.js (about 4.6 MB) is inline
    return text


def test_sweep_run_carries_description_plots_dataset_model_and_story(warm_replay_sweep):
    result, uri = warm_replay_sweep["result"], warm_replay_sweep["uri"]
    client = MlflowClient(uri)
    run = client.get_run(result["parent_run_id"])
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.html", "report.json", "summary.json", "warm_start.json"} <= names
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/history.png", "plots/levels.png", "plots/trials.png"} <= plots
    note = run.data.tags["mlflow.note.content"]
    assert "gcide-law" in note and "Best strategy" in note
    assert re.search(r"validation accuracy: 0\.\d{3} \[0\.\d\d, [01]\.\d\d\] \(n=40\)", note), note
    assert "Warm-start proposals and how they ranked" in note and "report.html" in note
    # The domain is the Dataset column; the chosen strategy the Models column.
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["gcide-law:definition_to_term"]
    assert run.inputs.dataset_inputs[0].dataset.digest == result["domain_fingerprint"]
    models = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert [m.source_run_id for m in models] == [run.info.run_id]
    import mlflow.pyfunc

    mlflow.set_tracking_uri(uri)
    chosen = mlflow.pyfunc.load_model(f"models:/{models[0].model_id}").predict(None)
    assert json.loads(chosen["strategy"][0]) == result["best_strategy"]
    # The parent shows the best value in the children's metric column.
    assert run.data.metrics["accuracy"] == result["best_validation"]
    # Children are named "N · strategy", carry the domain, their levels and where they came from.
    children = client.search_runs([run.info.experiment_id], f"tags.`mlflow.parentRunId` = '{run.info.run_id}'")
    assert len(children) == len(result["trials"])
    for child in children:
        assert re.fullmatch(r"\d+ · .+", child.info.run_name), child.info.run_name
        assert child.data.tags["domaintune.origin"] in {"baseline", "proposal", "search", "configured"}
        assert child.data.tags["domaintune.levels"]
        assert child.inputs.dataset_inputs[0].dataset.name == "gcide-law:definition_to_term"
    origins = [c.data.tags["domaintune.origin"] for c in sorted(children, key=lambda c: int(c.info.run_name.split(" ")[0]))]
    # Two trials start at once (max_concurrent 2), so the baseline is one of the first two.
    assert "baseline" in origins[:2] and "proposal" in origins[:4]
    # The story the terminal and the description tell.
    story = " ".join(result["story"])
    assert re.search(r"Zero-shot baseline \(trial [12], plain 0-shot\)", story) and "First meta-learner proposal" in story


def test_report_of_a_sweep_as_json_html_and_terminal(warm_replay_sweep, tmp_path):
    result, uri = warm_replay_sweep["result"], warm_replay_sweep["uri"]
    env = {"MLFLOW_TRACKING_URI": uri}
    done = domaintune("report", result["parent_run_id"], "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = _one_json_object(done.stdout)
    assert report["kind"] == "sweep" and report["domain"] == "gcide-law"
    assert report["best"]["validation"] == result["best_validation"]
    assert report["best"]["validation_ci95"][0] < report["best"]["validation"] < report["best"]["validation_ci95"][1]
    assert "baseline" in [t["origin"] for t in report["trials"]][:2]
    assert sum(t["origin"] == "proposal" for t in report["trials"]) >= 1
    assert min(t["rank"] for t in report["trials"] if t["rank"]) == 1
    assert set(report["lever_importance"]) <= {"retrieval", "n_shots", "template", "scoring"}

    out = tmp_path / "sweep.html"
    done = domaintune("report", result["parent_run_id"], "--html", str(out), env=env)
    assert done.returncode == 0, done.stderr
    text = _self_contained(out)
    for heading in ("Optimization history", "Levers", "Lever importance", "Levels side by side", "Cost against quality"):
        assert heading in text
    assert re.search(r'"name":"[12] \\u00b7 plain 0-shot"', text)  # legends name strategies (JSON-escaped "N · ..."), not trial ids

    done = domaintune("report", result["parent_run_id"], env=env)
    assert done.returncode == 0 and "Zero-shot baseline" in done.stdout and "proposal" in done.stdout


def test_report_of_a_domain_and_of_the_history(warm_replay_sweep, tmp_path):
    uri = warm_replay_sweep["uri"]
    env = {"MLFLOW_TRACKING_URI": uri}
    done = domaintune("report", "--domain", "gcide-law", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = _one_json_object(done.stdout)
    assert report["kind"] == "domain"
    assert [s["sweep_run_id"] for s in report["sweeps"]] == [warm_replay_sweep["result"]["parent_run_id"]]
    shipped = sum(r.domain == "gcide-law" for r in load_history())
    assert shipped > 0 and report["history"]["records"] == shipped and report["champion"] == [] and report["feedback"] == []
    out = tmp_path / "domain.html"
    assert domaintune("report", "--domain", "gcide-law", "--html", str(out), env=env).returncode == 0
    assert "Best validation score of each sweep" in _self_contained(out)

    done = domaintune("report", "--history", "--json", env=env)
    assert done.returncode == 0, done.stderr
    history = _one_json_object(done.stdout)
    seed = load_history().validated(finished=True)  # the shipped seed history, by tasks (domain|view|model)
    assert history["kind"] == "history" and history["tasks"] == seed.tasks() and history["domains"] == seed.domains()
    assert [x["task"] for x in history["lodo"]] == seed.tasks()
    first = history["lodo"][0]
    assert first["proposals"] and all(task_domain(t) != first["domain"] for p in first["proposals"] for t in p["came_from"])
    assert 0.0 <= history["mean_regret_at_n"] <= history["mean_regret_at_1"] <= 1.0
    curve = history["curve"]  # the default learner's knowledge curve, up to all of the other domains' tasks
    pools = {len(seed.without_domain(task_domain(t)).tasks()) for t in seed.tasks()}
    assert curve["learner"] == DEFAULT_LEARNER and curve["sizes"][-1] == min(pools)
    if len(pools) == 1:  # every task learns from all the others at the last size: the table above
        assert abs(curve["curve"][-1]["regret"]["1"] - history["mean_regret_at_1"]) < 1e-9
    out = tmp_path / "history.html"
    assert domaintune("report", "--history", "--html", str(out), env=env).returncode == 0
    page = _self_contained(out)
    assert "Leave one domain out" in page and "Knowledge curve" in page


def test_report_errors_are_clean(warm_replay_sweep):
    env = {"MLFLOW_TRACKING_URI": warm_replay_sweep["uri"]}
    done = domaintune("report", env=env)
    assert done.returncode == 2 and "exactly one of" in done.stderr
    done = domaintune("report", "0123456789abcdef", env=env)
    assert done.returncode == 2 and "no run '0123456789abcdef'" in done.stderr
    child = warm_replay_sweep["result"]["trials"][0]["run_id"]
    done = domaintune("report", child, env=env)
    assert done.returncode == 2 and "is not a domaintune sweep" in done.stderr


def test_report_pages_escape_what_they_show():
    """Pages come from autoescaped templates: a name or label is text, never markup."""
    from domaintune.reports import domain_html

    empty = {"records": 0, "views": [], "versions": [], "best": None}
    report = {"kind": "domain", "domain": "<script>alert(1)</script>", "tracking_uri": "x", "sweeps": [], "history": empty, "champion": [], "feedback": []}
    text = domain_html(report)
    assert text.startswith("<!DOCTYPE html>") and "<script>alert(1)</script>" not in text
    assert "<h1>Domain &lt;script&gt;alert(1)&lt;/script&gt;</h1>" in text and "No sweep of this domain in the tracking store." in text
