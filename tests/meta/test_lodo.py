from __future__ import annotations

import json
import math

import pytest

from domaintune.errors import ConfigError
from domaintune.meta import REGISTRY, History, Learner, Proposal, _orders, _transfer, leave_one_domain_out, markdown
from domaintune.meta._orders import _replay, _tpe_order
from domaintune.meta._regret import _regret_curve
from domaintune.meta._table import TaskTable, task_tables
from domaintune.stats import max_of_random_picks, paired_gap
from domaintune.history import Record, strategy_key, task_domain


def test_regret_curve_is_one_minus_the_best_normalized_score_so_far():
    scores = {"a": 0.0, "b": 0.5, "c": 1.0}
    assert _regret_curve(["a", "b", "c"], scores, (1, 2, 3)) == {1: 1.0, 2: 0.5, 3: 0.0}
    assert _regret_curve(["c", "a", "b"], scores, (1, 3)) == {1: 0.0, 3: 0.0}


@pytest.fixture(scope="module")
def table(history, features):
    return leave_one_domain_out(history, features, seeds=(0,), ks=(1, 3), bootstrap=100)


def test_lodo_table_has_every_method_k_and_rank(table, history):
    assert table["tasks"] == len(history.tasks()) and table["domains"] == len(history.domains()) and table["seeds"] == [0]
    assert table["on"] == "table"  # no evaluation cells in this history
    assert table["cells"] == len([r for r in history if r.value is not None])
    assert {"random", "single-best", "tpe", "nearest", "portfolio", "surrogate"} <= set(table["methods"])
    for entry in table["methods"].values():
        assert 0.0 <= entry["1"]["regret"] <= 1.0 and entry["3"]["regret"] <= entry["1"]["regret"] + 1e-12
        assert 1.0 <= entry["1"]["rank"] <= len(table["methods"])
        for k in ("1", "3"):
            assert entry[k]["ci_low"] <= entry[k]["regret"] + 1e-9 and entry[k]["regret"] <= entry[k]["ci_high"] + 1e-9
            assert 0.0 <= entry[k]["ci_low"] and entry[k]["ci_high"] <= 1.0
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
        Spy.calls.append((task_domain(domain), frozenset(self.history.domains())))
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
    methods = _orders.default_methods()
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
    tpe = _orders._tpe_order
    monkeypatch.setattr(_orders, "_tpe_order", lambda scores, n, seed, warm_start=(): seen.append(r := tpe(scores, n, seed, warm_start)) or r)
    leave_one_domain_out(small, features, methods=["tpe+spy"], seeds=(0, 1), ks=(1, 3), bootstrap=0)
    assert len(seen) == len(small.domains()) * 2
    for order in seen:
        assert order[: _orders.WARM_START] == sorted(order, reverse=True)[: _orders.WARM_START]  # spy's first three


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


def test_lodo_never_lets_the_held_out_domain_into_fit(small, features, spy, monkeypatch):
    """Runs without syne-tune: every learner fit (spy, its warm-started TPE) and the single-best
    baseline see exactly the other domains."""
    single = []
    order = _orders._single_best_order
    monkeypatch.setattr(_orders, "_single_best_order", lambda train, candidates: single.append(set(train.domains())) or order(train, candidates))
    domains = set(small.domains())
    leave_one_domain_out(small, features, methods=["spy", "tpe+spy", "single-best", "random"], seeds=(0, 1), ks=(1, 3), bootstrap=0)
    # spy is fit twice per domain and seed (spy, tpe+spy share one fit per seed)
    assert len(spy.calls) == len(domains) * 2
    assert all(held_out not in fitted and fitted == domains - {held_out} for held_out, fitted in spy.calls)
    missing = [domains - s for s in single]
    assert len(single) == len(domains) * 2 and all(len(m) == 1 for m in missing)  # a leak would leave nothing missing
    assert sorted(d for m in missing for d in m) == sorted(sorted(domains) * 2)


@needs_syne
def test_lodo_never_lets_the_held_out_domain_into_fit_or_transfer_data(small, features, spy, monkeypatch):
    """Every learner fit and every Syne Tune transfer set sees exactly the other domains."""
    transfer, trains = [], []
    build, make = _transfer.transfer_evaluations, _transfer.searcher
    def spy_build(train, *a, **k):
        built = build(train, *a, **k)
        transfer.append({task_domain(t) for t in built})
        return built

    monkeypatch.setattr(_transfer, "transfer_evaluations", spy_build)
    monkeypatch.setattr(_transfer, "searcher", lambda method, train, *a, **k: trains.append(set(train.domains())) or make(method, train, *a, **k))
    domains = set(small.domains())
    leave_one_domain_out(small, features, methods=["spy", "tpe+spy", *SYNE], seeds=(0,), ks=(1, 3), bootstrap=0)
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
    assert not set(SYNE) & set(_orders.default_methods())
    with pytest.raises(ConfigError, match="syne-quantile.*syne_tune"):
        leave_one_domain_out(small, features, methods=["tpe", "syne-quantile"], seeds=(0,), ks=(1,))
    with pytest.raises(ConfigError, match="unknown meta method 'tpe\\+nope'"):
        leave_one_domain_out(small, features, methods=["tpe+nope"], seeds=(0,), ks=(1,))


def test_gap_is_in_the_metric_units_and_knows_noise():
    """Without per-question outcomes the gap falls back to 1.96 combined standard errors."""
    import numpy as np

    from domaintune.meta._regret import _gaps, _random_weights

    t = TaskTable(keys=["a", "b", "c"], values=np.array([0.80, 0.75, 0.40]), stderr=np.array([0.05] * 3), outcomes=None, sign=1.0)
    scores = t.scores()
    weights = _random_weights(3, (1, 2))
    gaps, tied = _gaps(t, scores, np.array([[2, 0, 1]]), (1, 2), weights, None)
    assert gaps == pytest.approx([0.40, 0.0]) and list(tied) == [0.0, 1.0]
    gaps, tied = _gaps(t, scores, np.array([[1, 2, 0]]), (1,), weights[:1], None)
    assert gaps[0] == pytest.approx(0.05) and tied[0] == 1.0
    # random: exact expectation over which candidate is the best of its picks
    gaps, tied = _gaps(t, scores, None, (1,), weights[:1], np.argsort(scores))
    assert gaps[0] == pytest.approx((0.40 + 0.05 + 0.0) / 3) and tied[0] == pytest.approx(2 / 3)


# the baselines, the intervals and the paired test ------------------------------------------

def _record(domain, strategy, outcomes, stderr=None):
    value = sum(outcomes) / len(outcomes)
    return Record(domain=domain, fingerprint="f", strategy={"template": strategy}, metric="accuracy", value=value,
                  stderr=stderr, questions=len(outcomes), question_ids=[f"q{i}" for i in range(len(outcomes))], outcomes=outcomes)


def test_max_of_random_picks_is_exact():
    import itertools

    n, k = 6, 3
    counts = [0] * n
    for combo in itertools.combinations(range(n), k):
        counts[max(combo)] += 1
    assert max_of_random_picks(n, k) == pytest.approx([c / math.comb(n, k) for c in counts])
    assert sum(max_of_random_picks(16, 5)) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        max_of_random_picks(3, 4)


def test_random_is_the_exact_expectation_and_single_best_the_best_mean_elsewhere(history, features):
    import itertools

    from domaintune.meta import normalized_scores

    table = leave_one_domain_out(history, features, methods=["random", "single-best"], seeds=(0, 1), ks=(1, 3), bootstrap=0)
    scores = normalized_scores(history)
    for k in (1, 3):
        exact = []
        for domain, s in scores.items():
            values = list(s.values())
            exact.append(sum(1 - max(c) for c in itertools.combinations(values, k)) / math.comb(len(values), k))
        assert table["methods"]["random"][str(k)]["regret"] == pytest.approx(sum(exact) / len(exact))
    expected = []
    for task in history.tasks():
        others = normalized_scores(history.without_domain(task_domain(task)))
        keys = sorted(scores[task])
        mean = {key: sum(o[key] for o in others.values() if key in o) / sum(key in o for o in others.values()) for key in keys}
        first = min(keys, key=lambda key: (-mean[key], key))
        expected.append(1 - scores[task][first])
    assert table["methods"]["single-best"]["1"]["regret"] == pytest.approx(sum(expected) / len(expected))
    assert table["samples"]["random"]["deterministic"] and table["samples"]["single-best"]["effective"] == len(history.domains())


def test_paired_compares_the_best_learner_with_single_best_on_the_same_draws(history, features):
    table = leave_one_domain_out(history, features, methods=["random", "single-best", "tpe", "portfolio", "nearest"],
                                 seeds=(0,), ks=(1, 3, 10), bootstrap=200)
    pairs = {(p["baseline"], p["k"]): p for p in table["paired"]}
    assert set(pairs) == {("single-best", 1), ("single-best", 3), ("tpe", 10)}
    for (baseline, k), pair in pairs.items():
        learners = {m: table["methods"][m][str(k)]["regret"] for m in ("portfolio", "nearest")}
        assert pair["learner"] == min(learners, key=lambda m: (learners[m], m))
        assert pair["difference"] == pytest.approx(learners[pair["learner"]] - table["methods"][baseline][str(k)]["regret"])
        assert pair["ci_low"] <= pair["difference"] + 1e-9 <= pair["ci_high"] + 2e-9
        expected = (f"{pair['learner']} better" if pair["ci_high"] < 0 else f"{baseline} better" if pair["ci_low"] > 0
                    else "tie within noise")
        assert pair["verdict"] == expected  # the verdict follows the interval: 0 inside it is a tie
    has_outcomes = any(r.outcomes for r in history)  # levels_history.jsonl predates per-question outcomes
    assert table["bootstrap"]["over"] == (["domains", "questions"] if has_outcomes else ["domains"])
    assert table["bootstrap"]["replicates"] == 200
    text = markdown(table)
    assert "single-best" in text and "Paired comparisons" in text and "Effective sample: " in text


def test_first_pick_within_noise_uses_the_paired_test_of_the_export():
    """Two strategies 5 points apart on 200 questions, disagreeing on only 10 of them: an unpaired
    test calls that a tie, the paired one (the export's) does not."""
    n = 200
    best = [1] * 110 + [0] * 90
    other = [1] * 100 + [0] * 100  # the same questions right, 10 fewer
    low = [0] * n
    records = []
    for domain in ("a", "b", "c"):
        records += [_record(domain, "plain", best if domain == "a" else other), _record(domain, "cloze", other if domain == "a" else best),
                    _record(domain, "qa", low)]
    mean, se = paired_gap(best, other)
    assert mean > 1.96 * se  # paired: beyond noise
    table = leave_one_domain_out(History(records), {d: {"x": 1.0} for d in "abc"}, methods=["single-best"], seeds=(0,), ks=(1,), bootstrap=20)
    assert table["bootstrap"]["over"] == ["domains", "questions"] and table["bootstrap"]["tasks_with_outcomes"] == 3
    # single-best for a: cloze (best on b and c), which is 5 points behind a's best: never within noise
    assert table["methods"]["single-best"]["1"]["within_noise"] == pytest.approx(2 / 3)


def test_interval_is_bias_corrected_and_holds_the_estimate():
    import numpy as np

    from domaintune.stats import bootstrap_interval as interval

    rng = np.random.default_rng(0)
    reps = rng.normal(0.0, 1.0, 4000)
    low, high = interval(reps, 0.0)
    assert low == pytest.approx(-1.96, abs=0.15) and high == pytest.approx(1.96, abs=0.15)
    shifted_low, shifted_high = interval(reps + 0.5, 0.0)  # replicates biased upwards by 0.5
    assert shifted_low < -0.3 and shifted_high < 1.96 and shifted_low <= 0.0 <= shifted_high


def test_successive_halving_cells_are_compared_on_the_questions_they_share():
    """A strategy screened out on the first 40 questions (which happen to be easy) must not outrank
    the refined ones: its value is its paired gap to the best refined cell on those 40."""
    import numpy as np

    refined = [1] * 36 + [0] * 4 + [1] * 200 + [0] * 160  # 90% on the first 40, 59% on all 400
    runner_up = [1] * 30 + [0] * 10 + [1] * 190 + [0] * 170  # 75% then 55%
    screened = [1] * 32 + [0] * 8  # 80% on the first 40: raw, it would beat both
    records = [_record("a", "plain", refined), _record("a", "cloze", runner_up), _record("a", "qa", screened)]
    table = task_tables(History(records))["a"]
    values = dict(zip(table.keys, table.values))
    plain, cloze, qa = (strategy_key({"template": t}) for t in ("plain", "cloze", "qa"))
    assert values[plain] == pytest.approx(0.59) and values[cloze] == pytest.approx(0.55)
    assert values[qa] == pytest.approx(0.59 + 0.80 - 0.90)  # 10 points behind the best on the shared 40
    best, other = table.paired(table.keys.index(plain), table.keys.index(qa))
    assert len(best) == len(other) == 40
    again = table.resampled(np.random.default_rng(0))
    assert np.isfinite(again).all() and again[table.keys.index(qa)] < again[table.keys.index(plain)] + 0.2


def test_cells_on_different_questions_are_not_paired():
    shifted = _record("a", "qa", [1, 0, 1, 0]).model_copy(update={"question_ids": ["x0", "x1", "x2", "x3"]})
    table = task_tables(History([_record("a", "plain", [1, 1, 0, 0]), shifted]))["a"]
    assert table.outcomes is None
