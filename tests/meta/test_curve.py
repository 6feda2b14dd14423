"""The knowledge curve: regret against the number of training tasks, on a synthetic history
where only tasks of the held-out task's own family teach the right strategy."""

from __future__ import annotations

import pytest

from domaintune.errors import ConfigError
from domaintune.history import History, Record, task_domain
from domaintune.meta import REGISTRY, NearestDomains, knowledge_curve

RIGHT_FOR = {  # family -> strategy -> validation accuracy: each family's best is the other's worst
    "a": {"plain": 0.9, "instruction": 0.5, "cloze": 0.3},
    "b": {"plain": 0.3, "instruction": 0.5, "cloze": 0.9},
}
PER_FAMILY = 4  # domains of each family, one task each


def _record(domain: str, template: str, value: float, view: str = "multiple_choice") -> Record:
    return Record(domain=domain, fingerprint=f"fp-{domain}", view=view, strategy={"template": template, "n_shots": 0},
                  metric="accuracy", value=value, base_model="smollm2-135m-instruct")


@pytest.fixture(scope="module")
def synthetic() -> tuple[History, dict[str, dict[str, float]]]:
    records = [_record(f"{family}{i}", template, value)
               for family, values in RIGHT_FOR.items() for i in range(PER_FAMILY) for template, value in values.items()]
    history = History(records)
    # the family is all that tells the tasks apart (a feature equal for all adds no distance)
    features = {r.task: {**{f"task.family_{f}": float(r.domain[0] == f) for f in RIGHT_FOR}, "data.size": 5.0} for r in history}
    return history, features


@pytest.fixture(scope="module")
def curve(synthetic):
    history, features = synthetic
    return knowledge_curve(history, features, "nearest", draws=5)


def test_more_training_tasks_lower_the_regret(curve):
    # 7 tasks of other domains for each held-out task: 1, 2, 4 and all 7
    assert curve["sizes"] == [1, 2, 4, 7] and curve["tasks"] == 2 * PER_FAMILY
    first, last = curve["curve"][0], curve["curve"][-1]
    # one task drawn is of the other family 4 times in 7: its best is this family's worst
    assert first["regret"]["1"] > 0.3
    # with every task, the 3 nearest are of the task's own family, whose best is the task's
    assert last["regret"]["1"] == pytest.approx(0.0) and last["regret"]["3"] == pytest.approx(0.0)
    assert last["regret"]["1"] < first["regret"]["1"]
    # three strategies per task: after three proposals every task has found its best, whatever was learned
    assert all(e["regret"]["3"] == pytest.approx(0.0) for e in curve["curve"])
    assert first["tasks"] == 2 * PER_FAMILY and first["draws"] == 5 and first["cases"] == 10 * PER_FAMILY


def test_every_interval_holds_its_estimate_and_each_family_has_a_curve(curve):
    assert set(curve["families"]) == set(RIGHT_FOR)
    entries = curve["curve"] + [e for family in curve["families"].values() for e in family]
    assert len(entries) == 3 * len(curve["sizes"])
    for entry in entries:
        for k in ("1", "3"):
            low, high = entry["ci"][k]
            assert 0.0 <= low <= entry["regret"][k] <= high <= 1.0
            assert entry["regret"]["3"] <= entry["regret"]["1"]
    assert all(e["tasks"] == PER_FAMILY for family in curve["families"].values() for e in family)
    assert curve["on"] == "table" and "screen" in curve["note"]


def test_the_same_seed_gives_the_same_curve_and_another_draws_other_tasks(synthetic, curve):
    history, features = synthetic
    again = knowledge_curve(history, features, "nearest", draws=5)
    assert {**again, "seconds": 0} == {**curve, "seconds": 0}
    other = knowledge_curve(history, features, "nearest", draws=5, seed=1)
    assert other["curve"][0]["regret"] != curve["curve"][0]["regret"]


class Spy(NearestDomains):
    """Nearest domains that records, for each proposal, the task and the tasks it was fitted on."""

    seen: list[tuple[str, frozenset[str]]] = []

    def propose(self, task, n, observed=None):
        Spy.seen.append((task, frozenset(self.history.tasks())))
        return super().propose(task, n, observed)


def test_no_task_of_the_held_out_domain_is_learned_from(synthetic, monkeypatch):
    history, features = synthetic
    # a second task of domain a0 (another view): it must never teach a0's first task, nor be taught by it
    extra = History([_record("a0", t, v, view="definition_to_term") for t, v in RIGHT_FOR["a"].items()])
    features = {**features, "a0|definition_to_term|smollm2-135m-instruct": features["a0|multiple_choice|smollm2-135m-instruct"]}
    monkeypatch.setitem(REGISTRY, "spy", Spy)
    Spy.seen = []
    result = knowledge_curve(history + extra, features, "spy", sizes=[1, 3, 100], draws=2)
    assert result["sizes"] == [1, 3, 8]  # capped at the most tasks a held-out task has (8: all but a0's)
    assert {task for task, _ in Spy.seen} == set((history + extra).tasks())
    for task, fitted in Spy.seen:
        assert fitted and all(task_domain(t) != task_domain(task) for t in fitted)
        assert len(fitted) in (1, 3, 7, 8)
    assert result["curve"][-1]["capped"] == 2  # a0's two tasks have only 7 to learn from; they use all 7


def test_bad_arguments_are_named(synthetic):
    history, features = synthetic
    with pytest.raises(ConfigError, match="unknown learner 'nope'"):
        knowledge_curve(history, features, "nope")
    with pytest.raises(ConfigError, match="sizes"):
        knowledge_curve(history, features, "nearest", sizes=[0, 2])
    with pytest.raises(ConfigError, match="draws"):
        knowledge_curve(history, features, "nearest", draws=0)
    one_domain = History([r for r in history if r.domain == "a1"])
    with pytest.raises(ConfigError, match="another domain"):
        knowledge_curve(one_domain, features, "nearest")


def test_the_default_learner_gives_a_curve(synthetic):
    from domaintune.config import DEFAULT_LEARNER

    history, features = synthetic
    result = knowledge_curve(history, features, DEFAULT_LEARNER, sizes=[1, 7], draws=2)
    assert result["learner"] == DEFAULT_LEARNER and [e["size"] for e in result["curve"]] == [1, 7]
    assert all(0.0 <= e["regret"]["1"] <= 1.0 for e in result["curve"])
