"""The runner's device path on a CPU-only machine: explicit cpu, auto without a GPU, a missing
cuda as a clear error before any work, GPU-style batched scoring equal to the cached path, and
the bare runner (and benchmarks/gpu.py) importing none of ray, mlflow, optuna or gguf."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from domaintune.config import parse_config
from domaintune.errors import ConfigError
from domaintune.runners import LMRunner, RunnerSettings, check_device, resolve_device, resolve_dtype
from domaintune.strategy import Strategy

ROOT = Path(__file__).resolve().parents[2]
torch = pytest.importorskip("torch")
no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour of a machine without a CUDA GPU")


def test_explicit_cpu_runs_on_cpu_in_float32(tiny_model_dir, small_view):
    runner = LMRunner(RunnerSettings(model=tiny_model_dir, device="cpu", questions=4))
    runner.prepare()
    result = runner.run(small_view, Strategy.from_dict({"template": "plain"}))
    assert runner.device == "cpu" and result.questions == 4 and 0.0 <= result.metrics["accuracy"] <= 1.0
    assert resolve_dtype("cpu") == torch.float32 and resolve_dtype("cpu", "bfloat16") == torch.bfloat16


@no_gpu
def test_auto_without_a_gpu_is_cpu(tiny_model_dir, small_view):
    assert resolve_device("auto") == "cpu"
    runner = LMRunner(RunnerSettings(model=tiny_model_dir, questions=2))  # device defaults to auto
    runner.prepare()
    runner.run(small_view, Strategy.from_dict({"template": "plain"}))
    assert runner.device == "cpu"


@no_gpu
@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_a_missing_device_is_a_clear_error_in_prepare(device):
    with pytest.raises(ConfigError, match=rf"runner.device: {device} asked for.*use (device: )?auto"):
        LMRunner(RunnerSettings(device=device)).prepare()
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        check_device("tpu")


def test_cuda_without_a_reserved_gpu_is_refused_by_the_config():
    with pytest.raises(ConfigError, match=r"runner.device: cuda needs search.gpus_per_trial > 0"):
        parse_config({"domain": "jargon", "runner": {"device": "cuda"}, "space": {"n_shots": [0, 1]}}, "t.yaml")
    with pytest.raises(ConfigError, match=r"runner.device"):
        parse_config({"runner": {"device": "gpu"}}, "t.yaml")


@pytest.mark.parametrize("calibrated", [False, True])
def test_batched_scoring_matches_the_cached_path(tiny_model_dir, small_view, calibrated):
    """The GPU path (many questions per padded batch) gives the cached CPU path's answers."""
    from domaintune.models import load_model
    from domaintune.runners._prompting import PromptBuilder
    from domaintune.runners._scoring import outcomes, outcomes_batched

    model, tokenizer = load_model(tiny_model_dir)
    rows = small_view.splits["validation"][:8]
    exemplars = small_view.splits["train"][:2]
    builder = PromptBuilder(tokenizer, "instruction", small_view.title or small_view.name, exemplars, view=small_view.view_name)
    items = [builder.encode(row) for row in rows]
    calibration = builder.query_ids("N/A") if calibrated else None
    cached = outcomes(model, builder.prefix_ids, items, tokenizer.pad_token_id, calibration=calibration)
    batched = outcomes_batched(model, builder.prefix_ids, items, tokenizer.pad_token_id, batch_size=3, calibration=calibration)
    assert batched == cached


# As if the packages were not installed (the GPU machine's case): the path finder does not see them.
_BLOCK = """
import importlib.machinery, sys
_find = importlib.machinery.PathFinder.find_spec
def _hidden(name, path=None, target=None):
    return None if name.split('.')[0] in {'ray', 'mlflow', 'optuna', 'gguf'} else _find(name, path, target)
importlib.machinery.PathFinder.find_spec = staticmethod(_hidden)
"""


def test_the_bare_runner_and_the_gpu_benchmark_import_no_ray_mlflow_optuna_or_gguf(tiny_model_dir, tmp_path):
    out = tmp_path / "gpu.json"
    code = _BLOCK + (
        "import runpy; sys.argv = ['gpu.py', 'run', '--model', %r, '--device', 'cpu', '--questions', '4', '--out', %r, '--baseline', %r];"
        "runpy.run_path('benchmarks/gpu.py', run_name='__main__')"
    ) % (tiny_model_dir, str(out), str(tmp_path / "none.json"))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["resolved"] == "cpu" and len(report["rows"]) == 5
    trained = [r for r in report["rows"] if r["train_tokens_per_s"]]
    assert len(trained) == 2 and all(r["questions_per_s"] > 0 and r["tflops"] > 0 for r in report["rows"])
