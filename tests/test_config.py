from __future__ import annotations

from pathlib import Path

import pytest

from domaintune.config import load_config
from domaintune.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_every_shipped_experiment_parses():
    """Sweep configs parse as sweeps; `*_design*.yaml` files are meta-dataset designs; `schedule*.yaml`
    files are schedules."""
    from domaintune.meta.build import load_design
    from domaintune.schedule import load_schedule

    configs = sorted((ROOT / "experiments").glob("*.yaml"))
    assert configs
    for path in configs:
        if "_design" in path.stem:
            assert load_design(path).strategies
            continue
        if path.stem.startswith("schedule"):
            assert load_schedule(path).entries
            continue
        config = load_config(path)
        assert config.search_space().searched


def test_quickstart_is_sized_as_promised():
    config = load_config(ROOT / "experiments" / "quickstart.yaml")
    assert config.search.num_samples >= 8 and config.search.max_concurrent == 2
    assert config.search.points_to_evaluate


def test_quickstart_shows_every_setting_with_its_true_default():
    """The README promises that quickstart.yaml lists every key; a value that is not the default says
    the default in its comment (``(default 60)``), so the file never misstates one."""
    import re

    from domaintune.config import SearchSettings, SweepConfig, TrackingSettings
    from domaintune.runners import RunnerSettings

    text = (ROOT / "experiments" / "quickstart.yaml").read_text()
    lines = {}
    section = ""
    for line in text.splitlines():
        found = re.match(r"^(\s*)([a-z_]+):\s*([^#]*?)\s*(#.*)?$", line)
        if not found:
            continue
        indent, key, value, comment = found.groups()
        if not indent:
            section = key
            lines[key] = (value, comment or "")
        elif indent == "  ":
            lines[f"{section}.{key}"] = (value, comment or "")
    import yaml

    sections = {"runner": RunnerSettings, "search": SearchSettings, "tracking": TrackingSettings}
    for name, model in sections.items():
        for field, info in model.model_fields.items():
            key = f"{name}.{field}"
            assert key in lines, f"quickstart.yaml does not show {key}"
            value, comment = lines[key]
            default = info.get_default(call_default_factory=True)
            shown = yaml.safe_load(value) if value else None
            if shown is not None and not isinstance(shown, (dict, list)) and shown != default and not (isinstance(default, tuple) and list(default) == shown):
                assert f"default {default}" in comment or f"default {str(default).lower()}" in comment, (
                    f"quickstart.yaml: {key}: {shown!r} is not the default {default!r}, and its comment does not say so"
                )
    for field in SweepConfig.model_fields:
        assert field in lines or field in ("objectives", "warm_start"), f"quickstart.yaml does not show {field}"


def test_renamed_keys_say_their_new_name(tmp_path):
    with pytest.raises(ConfigError, match="runner: .*'eval_examples' was renamed to 'questions'"):
        load_config(_write(tmp_path, "runner:\n  eval_examples: 40\n"))


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
