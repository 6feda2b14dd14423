"""Shared fixtures: real data, a real tokenizer, a tiny random model for fast unit tests."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")


@pytest.fixture(scope="session")
def smollm2_dir() -> str:
    """The real SmolLM2-135M-Instruct, converted once into the user's cache (about 30 s the first time)."""
    from domaintune.lm import DEFAULT_MODEL, prepare_model

    return prepare_model(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, smollm2_dir: str) -> str:
    """A 4-layer randomly initialized Llama with SmolLM2's real tokenizer: same shapes of code path, 100x faster."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def jargon():
    from domaintune.domains import load_domain

    return load_domain("jargon")


@pytest.fixture
def small_domain(jargon):
    """The real Jargon glossary cut to a few rows per split (fast to score)."""
    import dataclasses

    cut = {"train": jargon.splits["train"][:64], "validation": jargon.splits["validation"][:12], "test": jargon.splits["test"][:12]}
    return dataclasses.replace(jargon, name="jargon-small", splits=cut, corpus=[], fingerprint="")


@pytest.fixture
def small_view(small_domain):
    """Its term -> definition multiple-choice rows."""
    return small_domain.view("term_to_definition")


LEVELS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "levels_history.jsonl"


@pytest.fixture(scope="session")
def history():
    """Real evaluations (benchmarks/levels.py: SmolLM2 on CPU), validation split only."""
    from domaintune.history import History

    return History.from_jsonl(LEVELS).where(split="validation")


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.fixture
def mlflow_server(tmp_path: Path):
    """A real `mlflow server` on 127.0.0.1 (SQLite store, served artifacts); yields its URI."""
    from domaintune.testing.servers import mlflow_server

    with mlflow_server(tmp_path / "server") as uri:
        yield uri


@pytest.fixture(scope="session")
def postgres_mlflow(tmp_path_factory: pytest.TempPathFactory):
    """One `mlflow server` on a real PostgreSQL (served artifacts), as production runs MLflow, for
    the whole session (about 20 s to start); yields its URI. Tests share it: take it through
    ``store`` or ``served``, which give each test experiment names of its own."""
    from domaintune.testing.servers import mlflow_server, postgres_bin, postgres_server

    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run installs it)")
    with postgres_server() as database, mlflow_server(tmp_path_factory.mktemp("mlflow-postgres"), backend=database) as uri:
        yield uri


@dataclass(frozen=True)
class Store:
    """A tracking store for one test: its URI, and the suffix that makes the test's experiment names its own."""

    uri: str
    suffix: str = ""

    def experiment(self, name: str) -> str:
        return f"{name}{self.suffix}"


def _on_postgres(request: pytest.FixtureRequest) -> Store:
    """The session's server on PostgreSQL, seen by this test alone: experiment names of its own,
    and an empty model registry (a registered model's name is its domain's, shared by all tests)."""
    from mlflow.tracking import MlflowClient

    uri = request.getfixturevalue("postgres_mlflow")
    client = MlflowClient(uri, registry_uri=uri)
    for model in client.search_registered_models(max_results=1000):
        client.delete_registered_model(model.name)
    return Store(uri, f"-{uuid.uuid4().hex[:8]}")


ON_POSTGRES = pytest.param("postgres", marks=pytest.mark.heavy)


@pytest.fixture(params=["sqlite", ON_POSTGRES])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A test's tracking store: a SQLite file of its own (the embedded default), then, in the
    heavy suite, the session's MLflow server on PostgreSQL."""
    return Store(f"sqlite:///{tmp_path / 'mlflow.db'}") if request.param == "sqlite" else _on_postgres(request)


@pytest.fixture(params=["sqlite", ON_POSTGRES])
def served(request: pytest.FixtureRequest) -> Store:
    """A tracking server: one on SQLite of the test's own, then the session's one on PostgreSQL (heavy)."""
    return Store(request.getfixturevalue("mlflow_server")) if request.param == "sqlite" else _on_postgres(request)


@pytest.fixture(scope="session")
def warm_replay_sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real replay sweep (Ray + MLflow, no model) on gcide-law, warm-started by the portfolio
    learner fitted on the seed history without gcide-law, with a zero-shot baseline first.
    Returns the store's URI, the folder, and the sweep's JSON result. About a minute."""
    import json
    import subprocess
    import sys

    from domaintune.history import SEED_HISTORY

    folder = tmp_path_factory.mktemp("warm-replay")
    others = folder / "others.jsonl"
    import gzip

    lines = [line for line in gzip.decompress(SEED_HISTORY.read_bytes()).decode().splitlines() if line.strip()]
    kept = [line for line in lines if json.loads(line)["domain"] != "gcide-law"]
    assert 0 < len(kept) < len(lines), "the seed history should hold gcide-law and other domains"
    others.write_text("".join(line + "\n" for line in kept))
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    root = Path(__file__).resolve().parent.parent
    sets = {
        "space.template": "[plain, instruction]",
        "space.scoring": "[mean, calibrated]",
        "runner.nearest": "true",
        "search.points_to_evaluate": "[{template: plain, n_shots: 0, retrieval: none, scoring: mean}]",
        "warm_start.learner": "portfolio",
        "warm_start.n": "3",
        "warm_start.history": f"[{others}]",
        "storage": str(folder / "ray"),
        "tracking.uri": uri,
    }
    args = [arg for key, value in sets.items() for arg in ("--set", f"{key}={value}")]
    done = subprocess.run(
        [sys.executable, "-m", "domaintune", "sweep", str(root / "experiments" / "replay_sweep.yaml"), "--json", *args],
        capture_output=True, text=True, cwd=folder, timeout=600, env={**os.environ, "MLFLOW_TRACKING_URI": uri},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {"uri": uri, "folder": folder, "result": json.loads(done.stdout)}
