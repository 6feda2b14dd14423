"""The contract every learner keeps, on real recorded evaluations."""

from __future__ import annotations

import json

import pytest

from domaintune.history import Record, task_domain
from domaintune.meta import REGISTRY, History
from domaintune.strategy import Strategy


@pytest.fixture(params=sorted(REGISTRY))
def learner_class(request):
    return REGISTRY[request.param]


def _other_domains(history, task):
    return history.without_domain(task_domain(task))


def test_proposals_are_distinct_valid_recorded_strategies_with_reasons(learner_class, history, features):
    held_out = history.tasks()[0]
    learner = learner_class(features).fit(_other_domains(history, held_out))
    proposals = learner.propose(held_out, 5)
    keys = [json.dumps(p.strategy, sort_keys=True) for p in proposals]
    recorded = {r.strategy_key() for r in _other_domains(history, held_out)}
    assert 1 <= len(proposals) <= 5 and len(set(keys)) == len(keys)
    assert set(keys) <= recorded
    for proposal in proposals:
        Strategy.from_dict(proposal.strategy)
        assert proposal.reason


def test_observed_strategies_are_not_proposed_again(learner_class, history, features):
    held_out = history.tasks()[0]
    learner = learner_class(features).fit(_other_domains(history, held_out))
    first = learner.propose(held_out, 3)
    observed = [r for r in history.of_task(held_out) if r.strategy in [p.strategy for p in first]]
    again = learner.propose(held_out, 3, observed=observed)
    assert not {json.dumps(p.strategy, sort_keys=True) for p in again} & {r.strategy_key() for r in observed}


def test_same_input_same_proposals(learner_class, history, features):
    held_out = history.tasks()[-1]
    a = learner_class(features).fit(_other_domains(history, held_out)).propose(held_out, 4)
    b = learner_class(features).fit(_other_domains(history, held_out)).propose(held_out, 4)
    assert [p.strategy for p in a] == [p.strategy for p in b]


def _poisoned(history, held_out):
    """The history with the held-out task's scores turned upside down (its worst strategy now its
    best), and as many strategies again recorded on it alone, all scoring 1.0: a learner that reads
    the held-out records, whether their values or only which strategies they hold, proposes otherwise."""
    own = [r for r in history if r.task == held_out]
    flipped = [r.model_copy(update={"value": 1.0 - r.value}) if r.task == held_out else r for r in history]
    extra = [Record(domain=r.domain, fingerprint=r.fingerprint, view=r.view, base_model=r.base_model, metric=r.metric,
                    strategy={"template": "cloze", "n_shots": 7 + i}, value=1.0) for i, r in enumerate(own)]
    return History(flipped + extra)


def _leaky(learner_class):
    """The same learner with its guard removed: it reads the target domain's own records from its history."""
    return type(f"Leaky{learner_class.__name__}", (learner_class,), {"past": lambda self, task: self.history})


def test_a_learner_fit_on_the_held_out_domain_ignores_its_records(learner_class, history, features):
    """Fit on a history that *includes* the poisoned held-out domain: the learner must exclude it
    itself, so its proposals are those of a fit on the other domains only."""
    held_out = history.tasks()[0]
    clean = learner_class(features).fit(_other_domains(history, held_out)).propose(held_out, 4)
    dirty_learner = learner_class(features).fit(_poisoned(history, held_out))
    assert held_out in dirty_learner.history.tasks()  # the poison really is in what it was fit on
    dirty = dirty_learner.propose(held_out, 4)
    assert [p.strategy for p in clean] == [p.strategy for p in dirty]
    assert [p.predicted_cost for p in clean] == pytest.approx([p.predicted_cost for p in dirty])


@pytest.mark.parametrize("name", sorted(REGISTRY))  # random too: a leaky one draws from the held-out strategies
def test_the_poisoning_check_catches_a_learner_that_leaks(name, history, features):
    """The check above can fail: with the guard removed, the poisoned records change the proposals."""
    held_out = history.tasks()[0]
    leaky = _leaky(REGISTRY[name])
    clean = leaky(features).fit(_other_domains(history, held_out)).propose(held_out, 4)
    dirty = leaky(features).fit(_poisoned(history, held_out)).propose(held_out, 4)
    assert [p.strategy for p in clean] != [p.strategy for p in dirty]


def test_registry_rejects_a_duplicate_name():
    from domaintune.meta import register_learner

    with pytest.raises(ValueError, match="already registered"):
        register_learner("random")(REGISTRY["random"])


def test_every_proposal_carries_a_predicted_cost(learner_class, history, features):
    held_out = history.tasks()[0]
    proposals = learner_class(features).fit(_other_domains(history, held_out)).propose(held_out, 3)
    assert all(p.predicted_cost is not None and p.predicted_cost > 0 for p in proposals)


def test_nearest_follows_the_domains_own_results():
    """Meta-features cannot tell two families apart; the observed results can."""
    from domaintune.meta import NearestDomains, Record

    a, b, c, d = ({"template": t} for t in ("plain", "cloze", "qa", "chat"))
    family = {"x": [0.9, 0.1, 0.8, 0.2], "y": [0.1, 0.9, 0.2, 0.8]}  # scores of a, b, c, d
    records = [
        Record(domain=f"{name}{i}", fingerprint="f", strategy=s, metric="accuracy", value=v)
        for name, values in family.items() for i in range(3) for s, v in zip((a, b, c, d), values)
    ]
    features = {r.domain: {"size": 1.0} for r in records} | {"new": {"size": 1.0}}
    learner = NearestDomains(features, k=3).fit(History(records))
    # the new domain likes b over a, like family y: c (family x's runner-up) must not come first
    observed = [Record(domain="new", fingerprint="f", strategy=a, metric="accuracy", value=0.3),
                Record(domain="new", fingerprint="f", strategy=b, metric="accuracy", value=0.7)]
    proposals = learner.propose("new", 2, observed=observed)
    assert proposals[0].strategy == d
    assert all(name.startswith("y") for name in proposals[0].reason.split(": ")[1].split(", "))


def test_nothing_left_to_propose_gives_an_empty_list(learner_class, history, features):
    held_out = history.tasks()[0]
    own = history.of_task(held_out).records
    learner = learner_class(features).fit(_other_domains(history, held_out))
    assert learner.propose(held_out, 3, observed=[*own, *_other_domains(history, held_out).records]) == []
