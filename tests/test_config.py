from __future__ import annotations

from pathlib import Path

import pytest

from domaintune.config import load_config
from domaintune.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_every_shipped_experiment_parses():
    """Sweep configs parse as sweeps; `*_design.yaml` files are meta-dataset designs."""
    from domaintune.meta.build import load_design

    configs = sorted((ROOT / "experiments").glob("*.yaml"))
    assert configs
    for path in configs:
        if path.stem.endswith("_design"):
            assert load_design(path).strategies
            continue
        config = load_config(path)
        assert config.search_space().searched


def test_quickstart_is_sized_as_promised():
    config = load_config(ROOT / "experiments" / "quickstart.yaml")
    assert config.search.num_samples >= 8 and config.search.max_concurrent == 2
    assert config.search.points_to_evaluate


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("domian: jargon\n", r"bad.yaml: domian: unknown key"),
        ("search:\n  num_sample: 3\n", r"bad.yaml: search.num_sample: unknown key"),
        ("search:\n  num_samples: many\n", r"bad.yaml: search.num_samples: .*integer.*'many'"),
        ("runner:\n  questions: 0\n", r"bad.yaml: runner.questions: .*greater than or equal to 1"),
        ("space:\n  lora_rank: {low: 16, high: 2}\n", r"bad.yaml: space.lora_rank: impossible range"),
        ("space:\n  lora_rnak: [2, 4]\n", r"bad.yaml: space.lora_rnak: unknown lever"),
        ("space: nospace\n", r"unknown search space 'nospace'"),
        ("direction: up\n", r"bad.yaml: direction: .*'maximize' or 'minimize'"),
        ("search:\n  points_to_evaluate: [{n_shots: 99}]\n", r"points_to_evaluate\[0\]: n_shots"),
        ("- a list\n", r"bad.yaml: expected a mapping"),
        ("name: [unclosed\n", r"bad.yaml: not valid YAML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text))


def test_overrides_are_dotted_keys_and_validated(tmp_path):
    path = ROOT / "experiments" / "quickstart.yaml"
    assert load_config(path, {"search.num_samples": 3}).search.num_samples == 3
    with pytest.raises(ConfigError, match="search.nope: unknown key"):
        load_config(path, {"search.nope": 1})


def test_objectives_need_a_reported_metric_and_no_asha(tmp_path):
    with pytest.raises(ConfigError, match="'cost.dollars' is not reported"):
        load_config(_write(tmp_path, "objectives: [{metric: cost.dollars}]\nsearch: {scheduler: fifo}\n"))
    with pytest.raises(ConfigError, match="scheduler: fifo for a multi-objective"):
        load_config(_write(tmp_path, "objectives: [{metric: cost.train_flops}]\n"))
    config = load_config(_write(tmp_path, "objectives: [{metric: cost.train_flops}]\nsearch: {scheduler: fifo}\n"))
    assert config.objectives[0].mode == "min"
