"""Schedule files: validated like sweep configs, errors naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from domaintune.errors import ConfigError
from domaintune.schedule import load_schedule

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schedule.yaml"
    path.write_text(text.replace("CONFIG", str(EXPERIMENTS / "replay_sweep.yaml")))
    return path


def test_the_shipped_schedule_loads_with_its_sweep_configs():
    schedule = load_schedule(EXPERIMENTS / "schedule.yaml")
    names = [e.name for e in schedule.entries]
    assert names == ["law-evolving", "law-replay"]
    entry = schedule.entry("law-evolving")
    assert entry.cron == "0 3 * * 1" and entry.triggers.data_changed
    config = schedule.sweep_config(entry)
    assert config.domain == "gcide-law-evolving" and config.search.num_samples == entry.budget.trials
    assert config.runner.questions == entry.budget.questions


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("entries:\n  - name: a\n    config: CONFIG\n    cron: '61 * * * *'\n", r"schedule.yaml: entries.0.cron: .*five-field cron"),
        ("entries:\n  - name: a\n    config: CONFIG\n    crn: '0 * * * *'\n", r"schedule.yaml: entries.0.crn: unknown key"),
        ("entries:\n  - name: a\n    config: nowhere.yaml\n", r"schedule.yaml: entries.0.config: no such sweep config"),
        ("entries:\n  - name: a\n    config: CONFIG\n  - name: a\n    config: CONFIG\n", r"schedule.yaml: .*entries.1.name: 'a' is used twice"),
        ("entries:\n  - name: a\n    config: CONFIG\n    triggers: {data_changed: false}\n", r"schedule.yaml: .*no cron and no trigger"),
        ("entries:\n  - name: a\n    config: CONFIG\n    budget: {trials: 0}\n", r"schedule.yaml: entries.0.budget.trials: .*greater than or equal to 1"),
        ("entries:\n  - name: a\n    config: CONFIG\n    set: {search.num_smaples: 3}\n", r"schedule.yaml: entry 'a': .*search.num_smaples: unknown key"),
        ("entries: []\n", r"schedule.yaml: entries: .*at least 1"),
        ("- just a list\n", r"schedule.yaml: expected a mapping"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_schedule(_write(tmp_path, body))


def test_a_missing_schedule_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such schedule file"):
        load_schedule(tmp_path / "absent.yaml")
