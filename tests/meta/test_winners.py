from __future__ import annotations

import pytest

from domaintune.errors import ConfigError
from domaintune.history import History, Record
from domaintune.meta import winners, winners_markdown

STRATEGIES = {
    "bm25": {"retrieval": "bm25", "top_k": 2, "template": "instruction"},
    "shots": {"template": "instruction", "n_shots": 3},
    "lora": {"adapter": "lora", "steps": 16},
}


def _record(domain, name, outcomes):
    return Record(domain=domain, fingerprint="f", strategy=STRATEGIES[name], metric="accuracy", value=sum(outcomes) / len(outcomes),
                  questions=len(outcomes), question_ids=[f"{domain}{i}" for i in range(len(outcomes))], outcomes=outcomes)


def _history():
    n = 200
    strong, weak = [1] * 150 + [0] * 50, [1] * 100 + [0] * 100
    close = [1] * 148 + [0] * 52  # 1 point behind strong: a tie
    records = []
    for domain in ("a", "b", "c"):  # shots wins; bm25 is 25 points behind on a and b, 1 point on c
        records += [_record(domain, "shots", strong), _record(domain, "bm25", weak if domain != "c" else close), _record(domain, "lora", weak)]
    records += [_record("d", "bm25", strong), _record("d", "shots", weak), _record("d", "lora", close)]
    assert all(len(r.outcomes) == n for r in records)
    return History(records)


def test_winners_counts_domains_beyond_noise_of_the_single_best_and_levels():
    report = winners(_history())
    assert report["single_best"]["strategy"] == STRATEGIES["shots"] and report["domains"] == 4
    per = {r["domain"]: r for r in report["per_domain"]}
    assert per["d"]["best"]["strategy"] == STRATEGIES["bm25"] and per["d"]["beyond_noise"]  # 25 points, paired
    assert not any(per[d]["beyond_noise"] for d in "abc")  # the single best wins there
    assert per["d"]["gap"] == pytest.approx(0.25) and per["a"]["gap"] == 0.0
    assert report["beyond_noise"] == 1 and report["distinct_winners"] == 2 and report["distinct_winners_beyond_noise"] == 1
    assert report["levels"]["white"] == {"wins": [], "tied": ["d"]}  # lora is 1 point behind bm25 on d
    assert report["levels"]["black"] == {"wins": ["d"], "tied": ["c"]}
    assert "**1 of 4**" in winners_markdown(report)


def test_winners_needs_a_strategy_on_every_domain():
    history = History([_record("a", "shots", [1, 0]), _record("b", "bm25", [1, 1])])
    with pytest.raises(ConfigError, match="no strategy is recorded on every domain"):
        winners(history)


def test_a_domain_recorded_in_two_views_is_an_error_until_one_is_chosen():
    """Term -> definition and definition -> term are different tasks: merging their cells by
    strategy would compare one view's score with the other's, so the table refuses, naming them."""
    from domaintune.meta import leave_one_domain_out

    history = _history()
    other_view = [r.model_copy(update={"view": "term_to_definition", "value": 1 - r.value}) for r in history if r.domain == "d"]
    mixed = History(list(history) + other_view)
    assert mixed.views_by_domain()["d"] == ["", "term_to_definition"]
    for door in (winners, lambda h: leave_one_domain_out(h, {}, methods=["single-best"], bootstrap=0)):
        with pytest.raises(ConfigError, match=r"d: \(none\), term_to_definition.*--view"):
            door(mixed)
    assert winners(mixed.in_view(""))["per_domain"] == winners(history)["per_domain"]
    chosen = mixed.in_view("term_to_definition")
    assert {r.view for r in chosen if r.domain == "d"} == {"term_to_definition"} and len(chosen.where(domain="a")) == 3
