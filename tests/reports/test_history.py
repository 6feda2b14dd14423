"""The history report by tasks (domain|view|model): what the learner proposes for each held-out
task from the other domains' tasks, and its knowledge curve; JSON, terminal and HTML."""

from __future__ import annotations

import json

import pytest

from domaintune.config import DEFAULT_LEARNER
from domaintune.history import History, load_history, task_domain
from domaintune.reports import history_html, history_report, print_history_report

DOMAINS = 5  # of the shipped seed history: enough to hold out, quick to fit
ONE_TASK_EACH = "|definition_to_term|smollm2-135m-instruct"  # one view, one model: one task per domain


@pytest.fixture(scope="module")
def seed() -> History:
    history = load_history()
    keep = sorted(t for t in history.tasks() if t.endswith(ONE_TASK_EACH))[:DOMAINS]
    assert len(keep) == DOMAINS, "the seed history should hold SmolLM2 definition-to-term tasks"
    return History([r for r in history if r.task in keep])


@pytest.fixture(scope="module")
def report(seed):
    return history_report(seed, DEFAULT_LEARNER, n=3, curve_draws=3)


def test_rows_are_tasks_and_a_task_learns_only_from_other_domains(report, seed):
    assert report["tasks"] == seed.tasks() and len(report["tasks"]) == DOMAINS
    assert report["domains"] == seed.domains()
    assert set(report["matrix"]) == set(seed.tasks())
    assert [x["task"] for x in report["lodo"]] == seed.tasks()
    for x in report["lodo"]:
        assert x["domain"] == task_domain(x["task"]) and len(x["proposals"]) == 3
        assert all(task_domain(t) != x["domain"] for p in x["proposals"] for t in p["came_from"])
        assert 0.0 <= x["regret_at_n"] <= x["regret_at_1"] <= 1.0
    assert all(set(s["best_on"]) <= set(seed.tasks()) for s in report["strategies"])
    json.dumps(report)  # JSON-ready


def test_the_knowledge_curve_ends_where_leave_one_domain_out_is(report):
    curve = report["curve"]
    assert curve["learner"] == DEFAULT_LEARNER and curve["draws"] == 3 and curve["on"] == "table"
    assert curve["sizes"] == [1, 2, 4]  # 4 other domains' tasks for each held-out one: 1, 2 and all 4
    assert set(curve["families"]) == {"multiple_choice"}
    # with every other domain's task, the (deterministic) learner's first pick is the one held out above
    assert curve["curve"][-1]["regret"]["1"] == pytest.approx(report["mean_regret_at_1"])
    for entry in curve["curve"]:
        for k in ("1", "3"):
            assert entry["ci"][k][0] <= entry["regret"][k] <= entry["ci"][k][1]


def test_the_page_and_the_terminal_show_tasks_and_the_curve(report, capsys):
    page = history_html(report)
    assert "Knowledge curve" in page and "Tasks x strategies" in page
    assert report["lodo"][0]["task"] in page and "regret@3" in page
    print_history_report(report)
    out = capsys.readouterr().out
    assert f"{DOMAINS} tasks of {DOMAINS} domains" in out and f"Knowledge curve of {DEFAULT_LEARNER}" in out


def test_the_curve_as_a_png(report, tmp_path):
    from domaintune.reports import knowledge_curve_png

    path = tmp_path / "curve.png"
    knowledge_curve_png(report["curve"]).savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
