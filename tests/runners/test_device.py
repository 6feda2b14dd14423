"""The runner's device path on a CPU-only machine: explicit cpu, auto without a GPU, a missing
cuda as a clear error before any work, GPU-style batched scoring equal to the cached path, and
the bare runner importing none of ray, mlflow, optuna or gguf (tests/test_scripts.py runs
benchmarks/gpu.py with them hidden)."""

from __future__ import annotations

import pytest

from domaintune.config import parse_config
from domaintune.errors import ConfigError
from domaintune.runners import LMRunner, RunnerSettings, check_device, resolve_device, resolve_dtype
from domaintune.strategy import Strategy

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
    from domaintune.lm import load_model
    from domaintune.runners import PromptBuilder, outcomes, outcomes_batched

    model, tokenizer = load_model(tiny_model_dir)
    rows = small_view.splits["validation"][:8]
    exemplars = small_view.splits["train"][:2]
    builder = PromptBuilder(tokenizer, "instruction", small_view.title or small_view.name, exemplars, view=small_view.view_name)
    items = [builder.encode(row) for row in rows]
    calibration = builder.query_ids("N/A") if calibrated else None
    cached = outcomes(model, builder.prefix_ids, items, tokenizer.pad_token_id, calibration=calibration)
    batched = outcomes_batched(model, builder.prefix_ids, items, tokenizer.pad_token_id, batch_size=3, calibration=calibration)
    assert batched == cached
