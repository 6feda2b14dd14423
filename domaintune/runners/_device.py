"""Where a runner computes and in which dtype: ``runner.device`` / ``runner.dtype`` resolved once.

``auto`` is the GPU the process may use, else CPU. Under Ray that is the GPU Ray gave the
trial: a trial that reserved no GPU gets ``CUDA_VISIBLE_DEVICES=""`` and sees none. The dtype
that fits: bfloat16 on a GPU that computes in it (compute capability 8.0 and up), float32
elsewhere (CPU bf16 matmuls are slower than fp32 on most CPUs; fp16 training would need loss
scaling). Imports only torch: the bare GPU benchmark must run without Ray or MLflow.
"""

from __future__ import annotations

from typing import Any

from domaintune.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "bfloat16", "float16")


def _mps_available(torch: Any) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def check_device(requested: str, where: str = "runner.device") -> None:
    """A clear error, before any work starts, when the requested device is not on this machine."""
    import torch

    if requested not in DEVICES:
        raise ConfigError(f"{where}: unknown device {requested!r}; use one of {', '.join(DEVICES)}")
    if requested == "cuda" and not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise ConfigError(
            f"{where}: cuda asked for, but torch {torch.__version__} ({build}) sees no CUDA GPU on this machine; "
            "use device: auto (a GPU when there is one, else CPU) or cpu"
        )
    if requested == "mps" and not _mps_available(torch):
        raise ConfigError(f"{where}: mps asked for, but this machine has no Apple-silicon GPU that torch can use; use auto or cpu")


def resolve_device(requested: str) -> str:
    """``auto`` becomes the GPU this process may use (cuda, else mps), else cpu."""
    import torch

    check_device(requested)
    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if _mps_available(torch) else "cpu"


def resolve_dtype(device: str, requested: str = "auto") -> Any:
    """The torch dtype for ``device``: bf16 on a recent GPU, fp32 otherwise (unless asked)."""
    import torch

    if requested not in DTYPES:
        raise ConfigError(f"runner.dtype: unknown dtype {requested!r}; use one of {', '.join(DTYPES)}")
    if requested != "auto":
        return getattr(torch, requested)
    if device == "cuda" and torch.cuda.is_bf16_supported() and torch.cuda.get_device_capability()[0] >= 8:
        return torch.bfloat16
    return torch.float32


def cap_gpu_memory(fraction: float) -> None:
    """A trial given a fraction of a GPU keeps to that share of its memory: Ray's fractional GPUs
    only count, they do not split memory, and four trials would otherwise fight for all of it."""
    import torch

    if 0 < fraction < 1 and torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(fraction)


def model_device(model: Any) -> Any:
    return next(model.parameters()).device
