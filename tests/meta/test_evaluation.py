"""The meta benchmark on evaluation questions: picks fit on the screening table, valued on
questions that no screening or selection saw, every task of the held-out domain left out."""

from __future__ import annotations

import pytest

from domaintune.history import History, Record, task_domain, task_name, task_parts
from domaintune.meta import REGISTRY, Learner, Proposal, leave_one_domain_out

STRATEGIES = ("plain", "cloze", "chat")
SCREEN = [f"s{i}" for i in range(20)]
EVAL = [f"e{i}" for i in range(40)]


def _outcomes(rate: float, n: int) -> list[float]:
    hits = round(rate * n)
    return [1.0] * hits + [0.0] * (n - hits)


def _record(domain, view, model, template, rate, stage="screening"):
    ids = SCREEN if stage == "screening" else EVAL
    outcomes = _outcomes(rate, len(ids))
    return Record(domain=domain, fingerprint="f", view=view, base_model=model, strategy={"template": template}, metric="accuracy",
                  value=sum(outcomes) / len(outcomes), questions=len(ids), question_ids=ids, outcomes=outcomes, stage=stage)


def _history(screen, evaluation, domains=("a", "b", "c", "d"), views=("v1", "v2"), models=("m",)):
    """Every domain in every view with every model: the screening rates ``screen`` and the evaluation
    rates ``evaluation`` (template -> rate; None: no evaluation cell)."""
    records = []
    for d in domains:
        for view in views:
            for model in models:
                records += [_record(d, view, model, t, screen[t]) for t in STRATEGIES]
                records += [_record(d, view, model, t, r, "evaluation") for t, r in evaluation.items() if r is not None]
    return History(records)


def _features(history):
    return {t: {"x": float(ord(d[0])), f"task.family_{v}": 1.0, f"task.model_{m}": 1.0}
            for t, (d, v, m) in ((t, task_parts(t)) for t in history.tasks())}


def test_picks_are_valued_on_the_evaluation_questions_not_on_the_table():
    """plain wins every screening table; on the evaluation questions cloze is better. single-best's
    first pick (plain) is then valued at its evaluation score, on the table's scale."""
    history = _history({"plain": 0.9, "cloze": 0.8, "chat": 0.3}, {"plain": 0.6, "cloze": 0.8, "chat": None})
    result = leave_one_domain_out(history, _features(history), methods=["single-best", "random"], seeds=(0,), bootstrap=50)
    assert result["on"] == "evaluation" and result["tasks"] == 8 and result["domains"] == 4
    # floor: the table's worst (chat 0.3); best on evaluation questions: cloze 0.8
    expected = 1 - (0.6 - 0.3) / (0.8 - 0.3)
    assert result["methods"]["single-best"]["1"]["regret"] == pytest.approx(expected)
    assert result["methods"]["single-best"]["3"]["regret"] is None  # chat, its third pick, has no evaluation cell
    assert result["methods"]["single-best"]["3"]["missing"] == 8
    wanted = {(m["task"], m["strategy"]["template"]) for m in result["missing"]}
    assert wanted == {(task, "chat") for task in history.tasks()}
    assert result["table"]["methods"]["single-best"]["1"]["regret"] == pytest.approx(0.0)  # the table view flatters


def test_every_interval_holds_its_estimate_and_the_default_learner_is_ranked_first():
    history = _history({"plain": 0.9, "cloze": 0.8, "chat": 0.3}, {"plain": 0.6, "cloze": 0.8, "chat": 0.35})
    result = leave_one_domain_out(history, _features(history), methods=["random", "single-best", "portfolio", "nearest"],
                                  seeds=(0,), bootstrap=100)
    cells = [c for m in result["methods"].values() for c in m.values()]
    cells += [c for group in ("by_family", "by_model") for entry in result[group].values() for m in entry["methods"].values() for c in m.values()]
    assert cells and all(c["ci_low"] <= c["regret"] <= c["ci_high"] for c in cells)
    learners = {m: result["methods"][m]["1"]["regret"] for m in ("portfolio", "nearest")}
    assert result["default_learner"] == min(sorted(learners), key=lambda m: (learners[m], result["methods"][m]["3"]["regret"]))
    pairs = {(p["baseline"], p["k"]) for p in result["paired"]}
    assert pairs == {("single-best", 1), ("single-best", 3)}  # TPE not run here: no TPE line
    for p in result["paired"]:
        assert p["ci_low"] <= p["difference"] <= p["ci_high"]
        assert p["verdict"] == ("tie within noise" if p["ci_low"] <= 0 <= p["ci_high"] else p["verdict"])
    assert set(result["by_family"]) == {"v1", "v2"} and set(result["by_model"]) == {"m"}
    assert result["by_family"]["v1"]["tasks"] == 4 and result["evaluation"]["questions_per_task"]["median"] == 40


def _four_strategy_history(evaluation):
    """Four strategies on every task's table; ``evaluation``: template -> evaluation rate (None: unscored)."""
    screen = {"plain": 0.9, "cloze": 0.8, "chat": 0.3, "instruction": 0.7}
    records = []
    for d in ("a", "b", "c", "d"):
        records += [_record(d, "v1", "m", t, r) for t, r in screen.items()]
        records += [_record(d, "v1", "m", t, r, "evaluation") for t, r in evaluation.items() if r is not None]
    return History(records)


def test_random_is_exact_where_the_evaluation_questions_score_every_strategy():
    """Every strategy scored: random's regret@k is the expectation over all k-subsets of the four,
    checked here by enumerating them."""
    from itertools import combinations

    rates = {"plain": 0.6, "cloze": 0.8, "chat": 0.35, "instruction": 0.5}
    history = _four_strategy_history(rates)
    result = leave_one_domain_out(history, _features(history), methods=["random", "single-best"], seeds=(0,), bootstrap=50)
    regret = [1 - (rate - 0.3) / (0.8 - 0.3) for rate in rates.values()]  # floor: chat's 0.3 on the table
    for k in (1, 3):
        subsets = list(combinations(regret, k))
        assert result["methods"]["random"][str(k)]["regret"] == pytest.approx(sum(min(s) for s in subsets) / len(subsets))
    assert result["evaluation"]["random"] == {"exact_tasks": 4, "drawn_tasks": 0, "draw": 3}
    assert result["missing"] == []


def test_random_is_a_seeded_draw_where_a_strategy_is_unscored_and_the_exact_stage_asks_for_the_rest():
    from domaintune.meta._evaluation import RANDOM_PICKS, evaluation_tables, random_picks, unscored_strategies
    from domaintune.meta._table import task_tables

    history = _four_strategy_history({"plain": 0.6, "cloze": 0.8, "chat": 0.35, "instruction": None})
    result = leave_one_domain_out(history, _features(history), methods=["random"], seeds=(0,), bootstrap=0)
    assert result["evaluation"]["random"] == {"exact_tasks": 0, "drawn_tasks": 4, "draw": RANDOM_PICKS}
    tables = task_tables(history.validated())
    drawn = {t: random_picks(t, tables[t]) for t in tables}
    assert all(len(keys) == RANDOM_PICKS for keys in drawn.values())
    wanted = {(m["task"], m["strategy"]["template"]) for m in result["missing"]}
    assert wanted == {(t, "instruction") for t, keys in drawn.items() if any("instruction" in k for k in keys)}
    unscored = unscored_strategies(tables, evaluation_tables(history.evaluation(), tables))
    assert [(t, "instruction" in k) for t, k in unscored] == [(t, True) for t in sorted(tables)]


class Spy(Learner):
    """Proposes in key order; records the domains it was fit on for each task it proposed for."""

    calls: list[tuple[str, frozenset[str]]] = []

    def propose(self, task, n, observed=None):
        Spy.calls.append((task, frozenset(self.history.domains())))
        return [Proposal(s, "spy") for s in sorted(self.candidates(task, observed), key=str)[:n]]


def test_every_task_of_the_held_out_domain_is_left_out(monkeypatch):
    """A domain asked in two views (or with two models) is two tasks: proposing for one must not
    learn from the other, or the benchmark would reward memorizing the domain."""
    monkeypatch.setitem(REGISTRY, "spy", Spy)
    Spy.calls = []
    history = _history({"plain": 0.9, "cloze": 0.8, "chat": 0.3}, {"plain": 0.6, "cloze": 0.8, "chat": 0.35}, models=("m", "n"))
    leave_one_domain_out(history, _features(history), methods=["spy"], seeds=(0,), bootstrap=0)
    assert len(Spy.calls) >= len(history.tasks())
    for task, fitted in Spy.calls:
        assert task_domain(task) not in fitted and fitted == set(history.domains()) - {task_domain(task)}


def test_cross_model_fits_on_one_models_tasks_and_scores_the_others():
    history = _history({"plain": 0.9, "cloze": 0.8, "chat": 0.3}, {"plain": 0.6, "cloze": 0.8, "chat": 0.35}, models=("m", "n"))
    result = leave_one_domain_out(history, _features(history), methods=["random", "single-best", "portfolio"], seeds=(0,), bootstrap=20)
    lines = {(c["fit_on"], c["scored_on"]) for c in result["cross_model"]}
    assert lines == {("m", "m"), ("m", "n"), ("n", "m"), ("n", "n")}
    assert all(c["tasks"] == 8 and result["default_learner"] in c["methods"] for c in result["cross_model"])


def test_a_model_with_one_domain_has_no_line_fit_on_itself():
    """The second base model's first built task (the v3 build's state after Gemma's first domain):
    held out with its domain, nothing of that model is left to fit on, so that line is left out and
    the line fit on the other model scores it."""
    rates = ({"plain": 0.9, "cloze": 0.8, "chat": 0.3}, {"plain": 0.6, "cloze": 0.8, "chat": 0.35})
    history = _history(*rates, views=("v1",)) + _history(*rates, domains=("a",), views=("v1",), models=("n",))
    result = leave_one_domain_out(history, _features(history), methods=["random", "single-best", "portfolio"], seeds=(0,), bootstrap=20)
    lines = {(c["fit_on"], c["scored_on"]): c["tasks"] for c in result["cross_model"]}
    assert lines == {("m", "m"): 4, ("m", "n"): 1, ("n", "m"): 3}


def test_task_names_drop_empty_parts_and_name_the_domain_first():
    assert task_name("law", "definition_to_term", "/models/SmolLM2") == "law|definition_to_term|SmolLM2"
    assert task_name("law") == "law" and task_name("law", "", "m") == "law||m"
    assert task_domain("law|definition_to_term|m") == "law" and task_domain("law") == "law"
    assert task_parts("law||m") == ("law", "", "m") and task_parts("law") == ("law", "", "")
    assert task_parts(task_name("law", "definition_to_term", "/models/SmolLM2")) == ("law", "definition_to_term", "SmolLM2")


def test_learners_never_fit_on_evaluation_cells():
    history = _history({"plain": 0.9, "cloze": 0.8, "chat": 0.3}, {"plain": 0.6, "cloze": 0.8, "chat": 0.35})
    assert len(history.validated()) == 24 and all(r.stage == "screening" for r in history.validated())
    assert len(history.evaluation()) == 24 and all(r.stage == "evaluation" for r in history.evaluation())
    learner = REGISTRY["portfolio"](_features(history)).fit(history)
    assert all(r.stage == "screening" for r in learner.history)


def test_every_interval_holds_its_estimate_on_the_shipped_history():
    """On the real shipped history (halving rungs, per-question outcomes, evaluation cells), where a
    percentile interval alone excluded its estimate 10 times in 60 on the v2 history."""
    from domaintune.history import load_history
    from domaintune.meta import feature_table
    from domaintune.meta._table import task_tables

    shipped = load_history()
    tables = task_tables(shipped.validated())
    assert any(t.outcomes is not None and (t.questions < t.questions.max()).any() for t in tables.values())  # nested rungs
    assert shipped.evaluation()
    result = leave_one_domain_out(shipped, feature_table(shipped.validated()), methods=["random", "single-best", "portfolio", "nearest"],
                                  seeds=(0,), bootstrap=200)
    views = [result, result["table"], *result["by_family"].values(), *result["by_model"].values()]
    cells = [c for view in views for m in view["methods"].values() for c in m.values() if c.get("regret") is not None]
    assert len(cells) > 20 and all(c["ci_low"] <= c["regret"] <= c["ci_high"] for c in cells)
    pairs = [p for view in views for p in view.get("paired", []) if "ci_low" in p]
    assert all(p["ci_low"] <= p["difference"] <= p["ci_high"] for p in pairs)
