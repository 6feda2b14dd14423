from __future__ import annotations

from pathlib import Path

import pytest

from domaintune.errors import ConfigError
from domaintune.history import SEED_HISTORY, History, Record
from domaintune.meta import winners, winners_markdown

STRATEGIES = {
    "bm25": {"retrieval": "bm25", "top_k": 2, "template": "instruction"},
    "shots": {"template": "instruction", "n_shots": 3},
    "lora": {"adapter": "lora", "steps": 16},
}
N = 200
STRONG, WEAK = [1] * 150 + [0] * 50, [1] * 100 + [0] * 100
CLOSE = [1] * 148 + [0] * 52  # 1 point behind STRONG: a tie
MIDDLE = [1] * 130 + [0] * 70  # 10 points behind STRONG, 20 questions apart: beyond noise when paired
MC = {"task.family_multiple_choice": 1.0}


def _record(domain, name, outcomes, stage="screening", view=""):
    """A cell; evaluation cells score other questions than the table's (ids ``<domain>-e<i>``)."""
    ids = [f"{domain}-{'e' if stage == 'evaluation' else 't'}{i}" for i in range(len(outcomes))]
    return Record(domain=domain, fingerprint="f", view=view, strategy=STRATEGIES[name], metric="accuracy", value=sum(outcomes) / len(outcomes),
                  questions=len(outcomes), question_ids=ids, outcomes=outcomes, stage=stage)


def _history():
    """shots is the single best (it wins a, b, c); bm25 wins d and lucky on their tables, 25 and
    10 points ahead of shots. On evaluation questions bm25 still wins d (30 points), but on lucky
    it ties shots exactly: its table lead was the winner's curse. a, b, c have no evaluation cells."""
    records = []
    for domain in ("a", "b", "c"):  # bm25 is 25 points behind shots on a and b, 1 point on c
        records += [_record(domain, "shots", STRONG), _record(domain, "bm25", WEAK if domain != "c" else CLOSE), _record(domain, "lora", WEAK)]
    records += [_record("d", "bm25", STRONG), _record("d", "shots", WEAK), _record("d", "lora", CLOSE)]
    records += [_record("lucky", "bm25", STRONG), _record("lucky", "shots", MIDDLE), _record("lucky", "lora", WEAK)]
    records += [_record("d", "bm25", [1] * 160 + [0] * 40, "evaluation"), _record("d", "shots", WEAK, "evaluation")]
    records += [_record("lucky", "bm25", MIDDLE, "evaluation"), _record("lucky", "shots", MIDDLE, "evaluation")]
    assert all(len(r.outcomes) == N for r in records)
    return History(records)


def _features(history, family=MC):
    return {task: family for task in history.tasks()}


def test_only_evaluation_questions_count_and_a_lucky_table_winner_is_not_beyond_noise():
    history = _history()
    report = winners(history, _features(history))
    assert report["single_best"]["multiple_choice"]["strategy"] == STRATEGIES["shots"] and report["single_best"]["multiple_choice"]["tasks"] == 5
    assert report["tasks"] == report["domains"] == 5 and report["cells"] == 15 and report["evaluation_cells"] == 4
    per = {r["task"]: r for r in report["per_task"]}
    lucky, d = per["lucky"], per["d"]
    assert lucky["best"]["strategy"] == STRATEGIES["bm25"] and lucky["table"]["beyond_noise"]  # 10 points on its own table
    assert lucky["beyond_noise_on"] == "evaluation" and not lucky["beyond_noise"] and lucky["gap"] == 0.0
    assert lucky["best_value"] == 0.75 and lucky["best_evaluation_value"] == 0.65  # the winner's curse, visible
    assert d["beyond_noise_on"] == "evaluation" and d["beyond_noise"] and d["gap"] == pytest.approx(0.30)
    assert d["evaluation"]["single_best_value"] == 0.5 and d["evaluation"]["questions"] == N
    assert all(per[t]["beyond_noise_on"] == "table" and per[t]["best_evaluation_value"] is None for t in "abc")
    assert report["beyond_noise"] == 1 and report["testable"] == 2 and report["beyond_noise_on_table"] == 2
    assert report["distinct_winners"] == 2 and report["distinct_winners_beyond_noise"] == 1
    text = winners_markdown(report)
    assert "**1 of 2 tasks**" in text and "2 of 5 tasks testable" in text and "selection-biased" in text and "2 of 5 tasks." in text


def test_a_task_whose_single_best_was_not_scored_on_evaluation_questions_keeps_the_table_test_uncounted():
    history = History([r for r in _history() if not (r.domain == "d" and r.stage == "evaluation" and r.strategy == STRATEGIES["shots"])])
    report = winners(history, _features(history))
    d = next(r for r in report["per_task"] if r["task"] == "d")
    assert d["beyond_noise_on"] == "table" and d["beyond_noise"] and d["gap"] == pytest.approx(0.25)  # the table's test, shown
    assert d["best_evaluation_value"] == 0.8 and d["evaluation"]["single_best_value"] is None
    assert report["testable"] == 1 and report["beyond_noise"] == 0 and report["beyond_noise_on_table"] == 2


def test_levels_are_counted_per_task_on_the_table():
    history = _history()
    report = winners(history, _features(history))
    assert report["levels"]["white"] == {"wins": [], "tied": ["d"]}  # lora is 1 point behind bm25 on d
    assert report["levels"]["black"] == {"wins": ["d", "lucky"], "tied": ["c"]}


def test_each_family_is_compared_with_its_own_single_best():
    """Free-text tasks are offered fewer strategies than multiple-choice ones: bm25 is the free-text
    single best, so a free-text task bm25 wins is level with its single best, not beyond shots."""
    history = _history()
    free = [_record(q, name, outcomes) for q in ("q1", "q2") for name, outcomes in (("bm25", STRONG), ("shots", WEAK))]
    features = {**_features(history), "q1": {"task.family_free_text": 1.0}, "q2": {"task.family_free_text": 1.0}}
    report = winners(history + History(free), features)
    assert report["single_best"]["free_text"]["strategy"] == STRATEGIES["bm25"] and report["single_best"]["free_text"]["tasks"] == 2
    assert report["single_best"]["multiple_choice"]["strategy"] == STRATEGIES["shots"]
    q1 = next(r for r in report["per_task"] if r["task"] == "q1")
    assert q1["family"] == "free_text" and q1["gap"] == 0.0 and not q1["beyond_noise"] and q1["single_best_value"] == 0.75
    alone = History([_record("a", "shots", [1, 0]), _record("b", "bm25", [1, 1])])
    with pytest.raises(ConfigError, match="no strategy is recorded on every task of the multiple_choice family"):
        winners(alone, _features(alone))


def test_a_family_comes_from_the_installed_domain_and_a_missing_one_is_named():
    seed = History.load(SEED_HISTORY)
    report = winners(seed)  # no features: each task's domain is loaded in its view
    assert {"multiple_choice", "classification"} <= set(report["single_best"]) and report["tasks"] == len(seed.tasks()) >= 20
    assert 0 <= report["beyond_noise"] <= report["testable"] <= len({r.task for r in seed.evaluation()})
    assert all(r["beyond_noise_on"] in ("table", "evaluation") for r in report["per_task"]) and report["beyond_noise_on_table"] >= 0
    assert f"**{report['beyond_noise']} of {report['testable']} tasks**" in winners_markdown(report)
    with pytest.raises(ConfigError, match=r"task a: .*install the domain or pass the tasks' features"):
        winners(_history())


def test_a_domain_asked_in_two_views_is_two_tasks():
    """Term -> definition and definition -> term are different tasks: their cells are never merged by strategy."""
    history = _history()
    other = [r.model_copy(update={"view": "term_to_definition", "outcomes": [1 - o for o in r.outcomes], "value": 1 - r.value})
             for r in history if r.domain == "d" and r.stage == "screening"]
    both = history + History(other)
    report = winners(both, _features(both))
    per = {r["task"]: r for r in report["per_task"]}
    assert report["tasks"] == 6 and report["domains"] == 5 and per["d|term_to_definition"]["view"] == "term_to_definition"
    assert per["d|term_to_definition"]["best"]["strategy"] == STRATEGIES["shots"] and per["d"]["best"]["strategy"] == STRATEGIES["bm25"]
    assert per["d|term_to_definition"]["beyond_noise_on"] == "table"  # d's evaluation cells are the other view's


V3 = Path(__file__).resolve().parents[2] / "experiments" / "results" / "meta_dataset_v3.jsonl"


@pytest.mark.skipif(not V3.is_file(), reason="the v3 meta-dataset is not in this checkout")
def test_on_the_real_v3_history_the_counted_test_scores_questions_that_chose_nothing():
    from domaintune.meta.build import load_design, read_cells, to_history

    history = to_history(load_design(V3.parents[1] / "meta_design_v3.yaml"), read_cells(V3), "v3")
    report = winners(history)
    evaluated = [r for r in report["per_task"] if r["beyond_noise_on"] == "evaluation"]
    assert report["testable"] == len(evaluated) >= 1 and 0 <= report["beyond_noise"] <= report["testable"]
    for row in evaluated:
        table_ids = {q for r in history.validated().of_task(row["task"]) for q in r.question_ids}
        evaluation_ids = {q for r in history.evaluation().of_task(row["task"]) for q in r.question_ids}
        assert evaluation_ids and not table_ids & evaluation_ids, row["task"]
        assert row["evaluation"]["questions"] == len(evaluation_ids)
