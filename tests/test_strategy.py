from __future__ import annotations

from pathlib import Path

import pytest

from domaintune.errors import ConfigError
from domaintune.strategy import Strategy, lever_levels, resolve_layers


def test_json_round_trip_is_exact():
    strategy = Strategy(template="chat", n_shots=3, adapter="lora", lora_rank=4, lora_layers="top:6", learning_rate=2e-3)
    assert Strategy.from_json(strategy.to_json()) == strategy


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"template": "nope"}, "template"),
        ({"n_shots": -1}, "n_shots"),
        ({"lora_rank": "eight"}, "lora_rank"),
        ({"lora_layers": "top"}, "lora_layers"),
        ({"lora_target_modules": "q_proj v_proj"}, "lora_target_modules"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_value_names_the_field(values, field):
    with pytest.raises(ConfigError, match=field):
        Strategy.from_dict(values)


def test_every_lever_has_a_level():
    assert set(lever_levels().values()) <= {"black", "grey", "white"}
    assert lever_levels()["lora_rank"] == "white" and lever_levels()["template"] == "grey"


def test_active_drops_lora_settings_when_lora_is_off():
    assert "lora_rank" not in Strategy(adapter="none").active()
    assert Strategy(adapter="lora").active()["lora_rank"] == 8


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("all", [0, 1, 2, 3, 4, 5]),
        ("top:2", [4, 5]),
        ("bottom:2", [0, 1]),
        ("middle:2", [2, 3]),
        ("every:2", [0, 2, 4]),
        ("5,1,3", [1, 3, 5]),
    ],
)
def test_layer_patterns(pattern, expected):
    assert resolve_layers(pattern, 6) == expected


@pytest.mark.parametrize("pattern", ["top:7", "9", "every:0"])
def test_layer_pattern_beyond_the_model_is_an_error(pattern):
    with pytest.raises(ConfigError, match="lora_layers"):
        resolve_layers(pattern, 6)


def test_strategies_that_differ_in_an_active_lever_never_share_a_label():
    from domaintune.meta.build import load_design

    root = Path(__file__).resolve().parents[1] / "experiments"
    for path in sorted(root.glob("meta_design*.yaml")):
        strategies = {Strategy.from_dict(s) for s in load_design(path).strategies}
        labels = {s.describe() for s in strategies}
        assert len(labels) == len({tuple(sorted(s.active().items())) for s in strategies}), path.name
    before = Strategy(retrieval="bm25", top_k=2, n_shots=3, passage_position="before_exemplars")
    assert before.describe() != before.model_copy(update={"passage_position": "before_question"}).describe()
    assert "passages before exemplars" in before.describe()
    assert Strategy(adapter="lora", warmup_steps=2).describe().endswith("warmup_steps=2")
