"""The contract every learner keeps, on real recorded evaluations."""

from __future__ import annotations

import json

import pytest

from domaintune.meta import REGISTRY, History
from domaintune.strategy import Strategy


@pytest.fixture(params=sorted(REGISTRY))
def learner_class(request):
    return REGISTRY[request.param]


def test_proposals_are_distinct_valid_recorded_strategies_with_reasons(learner_class, history, features):
    held_out = history.domains()[0]
    learner = learner_class(features).fit(history.without_domain(held_out))
    proposals = learner.propose(held_out, 5)
    keys = [json.dumps(p.strategy, sort_keys=True) for p in proposals]
    recorded = {r.strategy_key() for r in history.without_domain(held_out)}
    assert 1 <= len(proposals) <= 5 and len(set(keys)) == len(keys)
    assert set(keys) <= recorded
    for proposal in proposals:
        Strategy.from_dict(proposal.strategy)
        assert proposal.reason


def test_observed_strategies_are_not_proposed_again(learner_class, history, features):
    held_out = history.domains()[0]
    learner = learner_class(features).fit(history.without_domain(held_out))
    first = learner.propose(held_out, 3)
    observed = [r for r in history.where(domain=held_out) if r.strategy in [p.strategy for p in first]]
    again = learner.propose(held_out, 3, observed=observed)
    assert not {json.dumps(p.strategy, sort_keys=True) for p in again} & {r.strategy_key() for r in observed}


def test_same_input_same_proposals(learner_class, history, features):
    held_out = history.domains()[-1]
    a = learner_class(features).fit(history.without_domain(held_out)).propose(held_out, 4)
    b = learner_class(features).fit(history.without_domain(held_out)).propose(held_out, 4)
    assert [p.strategy for p in a] == [p.strategy for p in b]


def test_leave_one_domain_out_never_lets_the_held_out_domain_in(learner_class, history, features):
    """Poison the held-out domain's records: proposals for it must not change."""
    held_out = history.domains()[0]
    poisoned = History(
        [r.model_copy(update={"value": 1.0 - r.value}) if r.domain == held_out else r for r in history]
    )
    clean = learner_class(features).fit(history.without_domain(held_out))
    dirty = learner_class(features).fit(poisoned.without_domain(held_out))
    assert held_out not in clean.history.domains()
    assert [p.strategy for p in clean.propose(held_out, 4)] == [p.strategy for p in dirty.propose(held_out, 4)]


def test_registry_rejects_a_duplicate_name():
    from domaintune.meta import register_learner

    with pytest.raises(ValueError, match="already registered"):
        register_learner("random")(REGISTRY["random"])


def test_every_proposal_carries_a_predicted_cost(learner_class, history, features):
    held_out = history.domains()[0]
    proposals = learner_class(features).fit(history.without_domain(held_out)).propose(held_out, 3)
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
    held_out = history.domains()[0]
    own = [r for r in history if r.domain == held_out]
    learner = learner_class(features).fit(history.without_domain(held_out))
    assert learner.propose(held_out, 3, observed=[*own, *history.without_domain(held_out).records]) == []
