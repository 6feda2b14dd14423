"""Proposals for a new domain from the shipped history: the task's family and base model are
features, and when the history has neither, the proposals say so."""

from __future__ import annotations

import pytest

from domaintune.domains import load_domain
from domaintune.errors import ConfigError
from domaintune.history import load_history
from domaintune.meta import propose
from domaintune.runners import RunnerSettings


@pytest.fixture(scope="module")
def shipped():
    return load_history()


def test_a_task_the_history_covers_has_no_caveats(shipped):
    proposals = propose(load_domain("gcide-astronomy").view("definition_to_term"), shipped, "nearest", 3)
    assert len(proposals) == 3 and all(p.caveats == [] for p in proposals)
    assert all("nearest tasks" in p.reason for p in proposals)


def test_an_absent_family_and_an_absent_model_are_named(shipped):
    """The shipped history less every free-text task, and less every Gemma task: proposals for
    what it no longer covers say so."""
    from domaintune.history import History

    no_free_text = History([r for r in shipped if r.view != "free_text"])
    proposals = propose(load_domain("foldoc-topic").view("free_text"), no_free_text, "portfolio", 3)
    assert proposals and all(any("free_text family" in c for c in p.caveats) for p in proposals)
    no_gemma = History([r for r in shipped if r.base_model != "gemma3-270m"])
    gemma = RunnerSettings(model="gemma3-270m")
    proposals = propose(load_domain("gcide-astronomy").view("definition_to_term"), no_gemma, "portfolio", 3, settings=gemma)
    assert proposals and all(any("base model gemma3-270m" in c for c in p.caveats) for p in proposals)


def test_a_covered_family_and_model_have_no_caveat(shipped):
    """What the shipped history covers (here the free-text family) gets no caveat. The domain's own
    tasks are left out, as for a new domain: with every strategy of its table observed, a learner may
    have nothing left to propose."""
    assert "free_text" in {r.view for r in shipped}
    proposals = propose(load_domain("foldoc-topic").view("free_text"), shipped.without_domain("foldoc-topic"), "portfolio", 3)
    assert proposals and not any(c for p in proposals for c in p.caveats if "family" in c or "base model" in c)


def test_the_domain_itself_is_never_learned_from(shipped):
    """Proposing for a domain of the history learns from the other domains only: its own results
    (those of the same task: view and base model) are observed (not proposed again), and their
    values change nothing."""
    from domaintune.history import History, task_name

    law = load_domain("gcide-law").view("definition_to_term")
    task = task_name("gcide-law", "definition_to_term", RunnerSettings().model)
    own = [r for r in shipped.validated() if r.task == task][:3]
    assert own, "gcide-law is in the shipped history"
    rest = shipped.without_domain("gcide-law")
    honest = propose(law, rest + History(own), "portfolio", 3)
    flipped = propose(law, rest + History([r.model_copy(update={"value": 1 - r.value}) for r in own]), "portfolio", 3)
    assert honest and [p.strategy for p in honest] == [p.strategy for p in flipped]
    from domaintune.history import strategy_key

    assert not {r.strategy_key() for r in own} & {strategy_key(p.strategy) for p in honest}


def test_no_other_domain_to_learn_from_is_a_clear_error(shipped):
    only_law = shipped.where(domain="gcide-law")
    with pytest.raises(ConfigError, match="no history for other domains"):
        propose(load_domain("gcide-law").view("definition_to_term"), only_law, "portfolio", 3)
