"""Bad input, tried broadly: each gets a clear message naming the place, and a tracking store
that already holds a sweep keeps it whole (no run added, none left RUNNING).

The README's "Bad input" table lists these same cases; ``python -m tests.test_bad_input``
prints it from the messages actually raised.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow.tracking import MlflowClient

from domaintune.errors import DomaintuneError

ROOT = Path(__file__).resolve().parent.parent
BASE = yaml.safe_load((ROOT / "experiments" / "replay_sweep.yaml").read_text())

# (what, how it is given, the message expected (a regex)). `config`: keys merged into the
# replay config and parsed; `sweep`: the same, then run (fails before any trial); `yaml`:
# the config file's text (or its bytes); `domain`: a user domain's files (see _domain_case).
CASES: list[tuple[str, str, Any, str]] = [
    ("unknown top-level key", "config", {"nmae": "x"}, r"bad\.yaml: nmae: unknown key"),
    ("unknown runner key", "config", {"runner": {"questons": 4}}, r"runner\.questons"),
    ("renamed runner key", "config", {"runner": {"eval_examples": 4}}, r"'eval_examples' was renamed to 'questions'"),
    ("num_samples of 0", "config", {"search": {"num_samples": 0}}, r"search\.num_samples.*greater than or equal to 1"),
    ("num_samples not a number", "config", {"search": {"num_samples": "many"}}, r"search\.num_samples.*integer"),
    ("max_concurrent negative", "config", {"search": {"max_concurrent": -1}}, r"search\.max_concurrent"),
    ("unknown scheduler", "config", {"search": {"scheduler": "hyperband"}}, r"search\.scheduler.*'asha' or 'fifo'"),
    ("negative GPUs per trial", "config", {"search": {"gpus_per_trial": -0.5}}, r"search\.gpus_per_trial"),
    ("zero CPUs per trial", "config", {"search": {"cpus_per_trial": 0}}, r"search\.cpus_per_trial.*greater than 0"),
    ("worker niceness above 19", "config", {"search": {"worker_niceness": 25}}, r"search\.worker_niceness.*less than or equal to 19"),
    ("questions of 0", "config", {"runner": {"questions": 0}}, r"runner\.questions"),
    ("eval_every of 0", "config", {"runner": {"eval_every": 0}}, r"runner\.eval_every"),
    ("negative replay delay", "config", {"runner": {"replay_delay": -1}}, r"runner\.replay_delay"),
    ("unknown device", "config", {"runner": {"kind": "lm", "device": "tpu"}}, r"runner\.device.*'auto', 'cpu', 'cuda' or 'mps'"),
    ("cuda without a reserved GPU", "config", {"runner": {"kind": "lm", "device": "cuda"}}, r"runner\.device: cuda needs search\.gpus_per_trial > 0"),
    ("unknown dtype", "config", {"runner": {"dtype": "int4"}}, r"runner\.dtype"),
    ("sweep name with a slash", "config", {"name": "a/b"}, r"name.*without spaces or slashes"),
    ("unknown direction", "config", {"direction": "up"}, r"direction.*'maximize' or 'minimize'"),
    ("unknown objective metric", "config", {"objectives": [{"metric": "cost.beer"}], "search": {"scheduler": "fifo"}}, r"objectives: 'cost\.beer' is not reported"),
    ("objectives under ASHA", "config", {"objectives": [{"metric": "cost.eval_seconds"}]}, r"set search\.scheduler: fifo"),
    ("unknown lever", "config", {"space": {"n_shot": [0, 3]}}, r"n_shot"),
    ("lever value out of range", "config", {"space": {"n_shots": [-1, 3]}}, r"n_shots"),
    ("warm-start point outside the space", "config", {"search": {"points_to_evaluate": [{"n_shots": 5}]}}, r"search\.points_to_evaluate.*n_shots=5 lies outside the space"),
    ("unknown warm-start learner", "config", {"warm_start": {"learner": "oracle"}}, r"warm_start\.learner.*unknown learner 'oracle'"),
    ("config file is not YAML", "yaml", "name: [unclosed", r"bad\.yaml: not valid YAML"),
    ("config file is a list", "yaml", "- a\n- b\n", r"bad\.yaml: expected a mapping at the top level"),
    ("config file is not UTF-8 (Latin-1)", "yaml", "name: caf\xe9-law\n".encode("latin-1"), r"bad\.yaml: not UTF-8 text \(byte 9: .+\); save the config as UTF-8"),
    ("every lever fixed", "sweep", {"space": {"template": "instruction", "n_shots": 0, "scoring": "mean"}}, r"space: every lever is fixed"),
    ("metric the domain does not report", "sweep", {"metric": "f1"}, r"metric: 'f1' is not reported for a multiple_choice domain; use one of accuracy, train_loss"),
    ("unknown domain", "sweep", {"domain": "no-such-domain"}, r"no-such-domain"),
    ("unknown runner kind", "sweep", {"runner": {"kind": "gpt"}}, r"runner\.kind: unknown 'gpt'; known: lm, replay"),
    ("replay history file missing", "sweep", {"runner": {"history": ["/nonexistent/history.jsonl"]}}, r"/nonexistent/history\.jsonl"),
    ("model id that does not load", "sweep", {"runner": {"kind": "lm", "model": "/nonexistent/model"}}, r"runner\.model: '/nonexistent/model' is not a built-in model"),
    ("cuda on a machine without one", "sweep", {"runner": {"kind": "lm", "device": "cuda"}, "search": {"gpus_per_trial": 1}}, r"runner\.device: cuda asked for, but torch .* sees no CUDA GPU"),
    ("tracking URI a plain folder", "sweep", {"tracking": {"uri": "./mlruns"}}, r"tracking URI './mlruns': MLflow 3 refuses a plain folder"),
    ("tracking server unreachable", "sweep", {"tracking": {"uri": "http://127.0.0.1:9"}}, r"tracking server http://127\.0\.0\.1:9 is unreachable"),
    ("tracking store folder missing", "sweep", {"tracking": {"uri": "sqlite:////nonexistent/dir/mlflow.db"}}, r"folder /nonexistent/dir does not exist"),
    ("Ray address unreachable", "sweep", {"address": "127.0.0.1:9"}, r"address: the Ray cluster at '127\.0\.0\.1:9' is unreachable"),
    ("Ray address malformed", "sweep", {"address": "nonsense"}, r"address: 'nonsense' is not host:port"),
    ("storage path under a file", "sweep", {"storage": "{tmp}/a-file/ray"}, r"storage: cannot write to the Ray storage folder .*a-file/ray"),
    ("domain file missing", "domain", {"train": "/nonexistent/train.jsonl"}, r"/nonexistent/train\.jsonl"),
    ("domain file without its column", "domain", {"bad_column": True}, r"train\.jsonl: columns \['meaning', 'term'\] fit no task"),
]
# Checked by tests of their own, listed in the table all the same: (what, what it gets).
ELSEWHERE = [
    ("`domaintune ui` ended with SIGTERM or Ctrl-C (tests/test_ui.py)",
     "its `mlflow ui` server and uvicorn workers end with it (their own process group) and the port stops answering; exit 0"),
]
if shutil.which("mount") and os.geteuid() == 0:
    CASES.append(("storage on a full disk", "sweep", {"storage": "{full}/ray"}, r"storage: cannot write to the Ray storage folder .*No space left on device"))


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _fill(value: Any, **names: str) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, **names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, **names) for v in value]
    return value


@pytest.fixture
def full_disk(tmp_path):
    """A real full filesystem: a 1 MiB tmpfs filled to the last block (root only)."""
    folder = tmp_path / "full"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True).returncode != 0:
        yield None
        return
    try:
        subprocess.run(["dd", "if=/dev/zero", f"of={folder / 'fill'}", "bs=64k"], capture_output=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


@pytest.fixture
def store(tmp_path):
    """A tracking store that already holds a finished sweep, which no bad input may disturb."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment(BASE["tracking"]["experiment"])
    run = client.create_run(experiment, run_name="earlier", tags={"domaintune.kind": "sweep"})
    client.log_metric(run.info.run_id, "best_validation_accuracy", 0.8)
    client.set_terminated(run.info.run_id, "FINISHED")
    return uri, experiment, run.info.run_id


def _config_data(payload: dict, tmp_path: Path, uri: str, full: Path | None) -> dict:
    data = _merge(BASE, {"tracking": {"uri": uri}, "storage": str(tmp_path / "ray")})
    (tmp_path / "a-file").write_text("not a folder")
    return _merge(data, _fill(payload, tmp=str(tmp_path), full=str(full)))


def _domain_case(payload: dict, tmp_path: Path) -> None:
    from domaintune.domains import import_domain

    files = {}
    for split in ("train", "validation", "test"):
        path = tmp_path / f"{split}.jsonl"
        column = "meaning" if payload.get("bad_column") else "definition"
        path.write_text("".join(f'{{"term": "t{split}{i}", "{column}": "d{i}"}}\n' for i in range(8)))
        files[split] = str(path)
    files.update({k: v for k, v in payload.items() if k in files})
    import_domain("bad-domain", files)


def raise_for(kind: str, payload: Any, tmp_path: Path, uri: str, full: Path | None = None) -> None:
    from domaintune.config import load_config, parse_config
    from domaintune.sweep import run_sweep

    if kind == "yaml":
        path = tmp_path / "bad.yaml"
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        else:
            path.write_text(payload)
        load_config(path)
    elif kind == "domain":
        _domain_case(payload, tmp_path)
    else:
        config = parse_config(_config_data(payload, tmp_path, uri, full), "bad.yaml")
        if kind == "sweep":
            run_sweep(config, verbose=0)
    raise AssertionError("no error raised")


@pytest.mark.parametrize(("what", "kind", "payload", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_message_and_loses_nothing(what, kind, payload, message, tmp_path, store, monkeypatch, request):
    uri, experiment, earlier = store
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    full_disk = request.getfixturevalue("full_disk") if "{full}" in str(payload) else None
    if "{full}" in str(payload) and full_disk is None:
        pytest.skip("cannot mount a tmpfs here")
    with pytest.raises(DomaintuneError, match=message):
        raise_for(kind, payload, tmp_path, uri, full_disk)
    runs = MlflowClient(uri).search_runs([experiment])
    assert [(r.info.run_id, r.info.status, r.data.metrics) for r in runs] == [(earlier, "FINISHED", {"best_validation_accuracy": 0.8})]


def test_a_bad_set_override_on_the_command_line_exits_2_naming_it():
    from typer.testing import CliRunner

    from domaintune.cli import app

    result = CliRunner().invoke(app, ["sweep", "experiments/replay_sweep.yaml", "--set", "search.num_samples"])
    assert result.exit_code == 2 and "--set 'search.num_samples': expected KEY=VALUE" in result.output
    result = CliRunner().invoke(app, ["sweep", "experiments/replay_sweep.yaml", "--set", "search.num_samples=0"])
    assert result.exit_code == 2 and "search.num_samples" in result.output


def markdown(tmp_root: Path) -> str:
    """The README table, from the messages actually raised."""
    rows = ["| # | bad input | what it gets |", "|---|---|---|"]
    for number, (what, kind, payload, _) in enumerate(CASES, start=1):
        folder = tmp_root / f"case{number}"
        folder.mkdir(parents=True)
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        if "{full}" in str(payload):  # needs the root-only tmpfs of the test
            rows.append(f"| {number} | {what} (a filled 1 MiB tmpfs) | storage: cannot write to the Ray storage folder …/ray: No space left on device |")
            continue
        try:
            raise_for(kind, payload, folder, uri, None)
            text = "(no error)"
        except DomaintuneError as error:
            text = str(error).replace(str(folder), "…").replace("|", "\\|").replace("\n", " ")
        except AssertionError as error:
            text = str(error)
        if isinstance(payload, bytes):
            shown = repr(payload)[2:-1]
        else:
            shown = payload if isinstance(payload, str) else yaml.safe_dump(payload, default_flow_style=True).strip()
        shown = shown.replace("\n", "\\n")
        rows.append(f"| {number} | {what}: `{shown}` | {text[:300]} |")
    for number, (what, text) in enumerate(ELSEWHERE, start=len(CASES) + 1):
        rows.append(f"| {number} | {what} | {text} |")
    return "\n".join(rows)


if __name__ == "__main__":
    import tempfile

    print(markdown(Path(tempfile.mkdtemp(prefix="bad-input-"))))
