from __future__ import annotations

import optuna
import pytest

from domaintune.errors import ConfigError
from domaintune.search_spaces import SearchSpace, get_space, register_space
from domaintune.strategy import Strategy


def test_parse_kinds_and_optuna_distributions():
    space = SearchSpace.parse(
        {"template": ["plain", "chat"], "lora_rank": {"low": 2, "high": 16, "log": True}, "learning_rate": {"low": 1e-4, "high": 1e-2}, "n_shots": 2}
    )
    dists = space.to_optuna()
    assert isinstance(dists["template"], optuna.distributions.CategoricalDistribution)
    assert isinstance(dists["lora_rank"], optuna.distributions.IntDistribution) and dists["lora_rank"].log
    assert isinstance(dists["learning_rate"], optuna.distributions.FloatDistribution)
    assert "n_shots" not in dists and space.fixed == {"n_shots": 2}
    assert space.strategy({"template": "chat", "lora_rank": 4, "learning_rate": 1e-3}) == Strategy(
        template="chat", lora_rank=4, learning_rate=1e-3, n_shots=2
    )


def test_float_lever_with_int_bounds_stays_float():
    assert SearchSpace.parse({"lora_alpha": {"low": 8, "high": 32}}).dimensions["lora_alpha"].kind == "float"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"rank": [1, 2]}, "space.rank: unknown lever"),
        ({"lora_rank": {"low": 16, "high": 4}}, "impossible range"),
        ({"lora_rank": {"low": 0, "high": 4, "log": True}}, "log range needs low > 0"),
        ({"lora_rank": {"low": 1}}, "needs low and high"),
        ({"template": ["plain", "shouting"]}, "template"),
        ({"n_shots": {"low": 0, "high": 99}}, "n_shots"),
        ({"lora_rank": []}, "empty list"),
    ],
)
def test_bad_space_is_an_error_naming_the_lever(spec, message):
    with pytest.raises(ConfigError, match=message):
        SearchSpace.parse(spec)


def test_point_keeps_active_levers_and_fills_inactive_ones():
    space = SearchSpace.parse({"adapter": ["none", "lora"], "lora_layers": ["top:4", "top:8"], "template": ["plain", "chat"]})
    point = space.point(Strategy(template="chat"), "warm")
    assert point == {"adapter": "none", "lora_layers": "top:4", "template": "chat"}
    with pytest.raises(ConfigError, match="lora_layers='all' lies outside"):
        space.point(Strategy(adapter="lora"), "warm")


def test_registry_rejects_duplicates_and_unknown_names():
    with pytest.raises(ValueError, match="already registered"):
        register_space("hybrid", {"n_shots": [0, 1]}, "again")
    with pytest.raises(ConfigError, match="unknown search space"):
        get_space("nothing")
    assert get_space("whitebox").dimensions["adapter"].values == ("lora", "full")
