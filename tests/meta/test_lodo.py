from __future__ import annotations

import json

import pytest

from domaintune.errors import ConfigError
from domaintune.meta import REGISTRY, History, Learner, Proposal, _lodo, _transfer, leave_one_domain_out, markdown
from domaintune.meta._lodo import _regret_curve, _replay, _tpe_order


def test_regret_curve_is_one_minus_the_best_normalized_score_so_far():
    scores = {"a": 0.0, "b": 0.5, "c": 1.0}
    assert _regret_curve(["a", "b", "c"], scores, (1, 2, 3)) == {1: 1.0, 2: 0.5, 3: 0.0}
    assert _regret_curve(["c", "a", "b"], scores, (1, 3)) == {1: 0.0, 3: 0.0}


@pytest.fixture(scope="module")
def table(history, features):
    return leave_one_domain_out(history, features, seeds=(0,), ks=(1, 3))


def test_lodo_table_has_every_method_k_and_rank(table, history):
    assert table["domains"] == len(history.domains()) and table["seeds"] == [0]
    assert {"random", "tpe", "nearest", "portfolio", "surrogate"} <= set(table["methods"])
    for entry in table["methods"].values():
        assert 0.0 <= entry["1"]["regret"] <= 1.0 and entry["3"]["regret"] <= entry["1"]["regret"] + 1e-12
        assert 1.0 <= entry["1"]["rank"] <= len(table["methods"])
    ranks = [entry["1"]["rank"] for entry in table["methods"].values()]
    assert sum(ranks) == pytest.approx(sum(range(1, len(ranks) + 1)))  # ranks of each case sum to 1+..+m
    assert "regret@1" in markdown(table)


def test_lodo_table_has_warm_started_tpe_and_the_syne_baselines(table):
    assert {"tpe+nearest", "tpe+portfolio", "tpe+surrogate"} <= set(table["methods"])
    if _transfer.missing_package() is None:
        assert set(SYNE) <= set(table["methods"])


# warm-started TPE and Syne Tune's transfer-learning baselines ---------------------------------

SYNE = ("syne-zeroshot", "syne-boundingbox", "syne-quantile")
needs_syne = pytest.mark.skipif(_transfer.missing_package() is not None, reason="syne-tune (make install) is not importable")


class Spy(Learner):
    """Proposes the recorded strategies in reverse key order; records what it was fit on and asked for."""

    calls: list[tuple[str, frozenset[str]]] = []

    def propose(self, domain, n, observed=None):
        Spy.calls.append((domain, frozenset(self.history.domains())))
        keys = sorted({r.strategy_key() for r in self.history}, reverse=True)
        return [Proposal(json.loads(k), "spy") for k in keys[:n]]


@pytest.fixture
def spy(monkeypatch):
    Spy.calls = []
    monkeypatch.setitem(REGISTRY, "spy", Spy)
    return Spy


@pytest.fixture(scope="module")
def small(history):
    """Three domains: enough for leave-one-out, quick for the model-fitting baselines."""
    keep = history.domains()[:3]
    return History([r for r in history if r.domain in keep])


def test_default_methods_add_warm_started_tpe_and_the_syne_baselines_when_importable():
    methods = _lodo.default_methods()
    learners = [m for m in sorted(REGISTRY) if m != "random"]
    assert {"tpe+nearest", "tpe+portfolio", "tpe+surrogate"} <= set(methods)
    assert [m for m in methods if m.startswith("tpe+")] == [f"tpe+{m}" for m in learners]
    assert (set(SYNE) <= set(methods)) == (_transfer.missing_package() is None)


def test_warm_started_tpe_evaluates_the_warm_start_first_then_goes_on():
    scores = {f"k{i:02d}": i / 12 for i in range(13)}
    warm = ["k03", "k11", "k07"]
    order = _tpe_order(scores, 10, seed=0, warm_start=warm)
    assert order[:3] == warm and sorted(order) == sorted(scores)
    assert _tpe_order(scores, 10, seed=0) == _tpe_order(scores, 10, seed=0, warm_start=[])  # cold start as before


def test_lodo_warm_starts_tpe_with_the_learners_first_proposals(small, features, spy, monkeypatch):
    seen = []
    monkeypatch.setattr(_lodo, "_regret_curve", lambda order, scores, ks: seen.append(order) or {k: 0.0 for k in ks})
    leave_one_domain_out(small, features, methods=["tpe+spy"], seeds=(0, 1), ks=(1, 3))
    assert len(seen) == len(small.domains()) * 2
    for order in seen:
        assert order[: _lodo.WARM_START] == sorted(order, reverse=True)[: _lodo.WARM_START]  # spy's first three


def test_replay_gives_every_candidate_once_proposed_ones_first():
    scores = {"a": 0.1, "b": 1.0, "c": 0.4, "d": 0.0}
    asked = iter(["c", "c", "a", None])
    told = []
    order = _replay(lambda: next(asked), lambda key, value: told.append((key, value)), scores, n=3, seed=0)
    assert order[:2] == ["c", "a"] and sorted(order) == sorted(scores)
    assert told == [("c", 0.4), ("c", 0.4), ("a", 0.1)]


@needs_syne
@pytest.mark.parametrize("method", SYNE)
def test_syne_baselines_ask_only_for_candidate_keys(small, method):
    held_out = small.domains()[0]
    candidates = sorted({r.strategy_key() for r in small.where(domain=held_out)})[:8]
    ask, tell = _transfer.searcher(method, small.without_domain(held_out), candidates, seed=0)
    for _ in range(12):
        key = ask()
        if key is None:
            break
        assert key in candidates
        tell(key, 0.5)


@needs_syne
def test_zeroshot_follows_the_other_domains_and_minds_the_direction(small):
    """Maximized scores: zero-shot's first pick is the strategy best on average elsewhere."""
    held_out = small.domains()[0]
    train = small.without_domain(held_out)
    candidates = sorted({r.strategy_key() for r in small.where(domain=held_out)})
    from domaintune.meta import normalized_scores

    scores = normalized_scores(train)
    mean = {k: sum(s[k] for s in scores.values()) / len(scores) for k in candidates}
    ask, _ = _transfer.searcher("syne-zeroshot", train, candidates, seed=0)
    assert mean[ask()] == max(mean.values())


@needs_syne
def test_lodo_never_lets_the_held_out_domain_into_fit_or_transfer_data(small, features, spy, monkeypatch):
    """Every learner fit and every Syne Tune transfer set sees exactly the other domains."""
    transfer, trains = [], []
    build, make = _transfer.transfer_evaluations, _transfer.searcher
    monkeypatch.setattr(_transfer, "transfer_evaluations", lambda train, *a, **k: transfer.append(set(r := build(train, *a, **k))) or r)
    monkeypatch.setattr(_transfer, "searcher", lambda method, train, *a, **k: trains.append(set(train.domains())) or make(method, train, *a, **k))
    domains = set(small.domains())
    leave_one_domain_out(small, features, methods=["spy", "tpe+spy", *SYNE], seeds=(0,), ks=(1, 3))
    assert spy.calls and all(held_out not in fitted and fitted == domains - {held_out} for held_out, fitted in spy.calls)
    assert len(trains) == len(transfer) == len(SYNE) * len(domains)
    for seen in (trains, transfer):
        missing = [domains - s for s in seen]
        assert all(len(m) == 1 for m in missing)  # a leak would leave nothing missing
        assert sorted(d for m in missing for d in m) == sorted(sorted(domains) * len(SYNE))


def test_syne_baselines_are_skipped_by_default_and_named_when_missing(small, features, monkeypatch):
    import sys

    for name in [m for m in sys.modules if m == "syne_tune" or m.startswith("syne_tune.")] or ["syne_tune"]:
        monkeypatch.setitem(sys.modules, name, None)  # import of syne_tune fails as if not installed
    assert _transfer.missing_package() == "syne_tune"
    assert not set(SYNE) & set(_lodo.default_methods())
    with pytest.raises(ConfigError, match="syne-quantile.*syne_tune"):
        leave_one_domain_out(small, features, methods=["tpe", "syne-quantile"], seeds=(0,), ks=(1,))
    with pytest.raises(ConfigError, match="unknown meta method 'tpe\\+nope'"):
        leave_one_domain_out(small, features, methods=["tpe+nope"], seeds=(0,), ks=(1,))


def test_gap_is_in_the_metric_units_and_knows_noise():
    from domaintune.meta._lodo import _gap

    raw = {"a": (0.80, 0.05), "b": (0.75, 0.05), "c": (0.40, 0.05)}
    scores = {"a": 1.0, "b": 0.875, "c": 0.0}
    assert _gap(["c", "a"], scores, raw) == (0.0, True)
    gap, within = _gap(["b"], scores, raw)
    assert gap == pytest.approx(0.05) and within
    gap, within = _gap(["c"], scores, raw)
    assert gap == pytest.approx(0.40) and not within
