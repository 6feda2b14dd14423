"""Settings every trial of a sweep shares (the ``runner:`` section of a sweep config)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domaintune.lm import DEFAULT_MODEL

# Keys an earlier release used, and what they are called now (one word per concept).
RENAMED = {"eval_examples": "questions", "test_examples": "test_questions"}

# Settings that change no validation result (where a model is cached, threads, the test split,
# packing, which gives the same outcomes, a replay's delay): two sweeps that differ only in these
# can answer each other's strategies.
RESULT_NEUTRAL = frozenset({"cache_dir", "trust_remote_code", "test_questions", "threads", "pack_tokens", "replay_delay"})


class RunnerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field("lm", description="which runner evaluates a strategy: lm (a real model) | replay (a recorded history)")
    model: str = Field(DEFAULT_MODEL, description="built-in model name, transformers model id or local folder")
    cache_dir: str | None = Field(None, description="where converted models are cached (default: user cache dir)")
    trust_remote_code: bool = Field(False, description="let transformers run code shipped with the model")
    questions: int = Field(60, ge=1, description="validation questions scored per report (a fixed, seeded sample)")
    test_questions: int = Field(0, ge=0, description="test questions scored for the chosen strategy (0 = all)")
    skip_questions: int = Field(
        0, ge=0, description="validation questions of the seeded sample passed over before the scored ones "
        "(a meta-dataset's evaluation questions: disjoint from the ones its rungs screened on)"
    )
    eval_every: int = Field(10, ge=1, description="training steps between validation reports (ASHA rungs)")
    max_length: int = Field(128, ge=16, description="training sequence length cap in tokens")
    max_new_tokens: int = Field(32, ge=1, description="QA domains: longest greedy answer in tokens")
    threads: int = Field(1, ge=1, description="torch threads per trial (1 is fastest on small CPUs)")
    pack_tokens: int = Field(
        512, ge=0, description="multiple choice: question and option tokens scored per forward pass (0 = one question at a time; same outcomes)"
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="auto: the GPU Ray gave the trial (or this machine's), else CPU; asking for a missing one is an error"
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto: bfloat16 on a recent GPU (compute capability 8+), float32 elsewhere"
    )
    eval_batch_size: int = Field(
        16, ge=1, description="on a GPU, questions scored in one padded batch (a CPU scores one at a time on a shared prompt cache)"
    )
    seed: int = Field(0, description="seeds exemplars, data order, LoRA init and the eval sample")
    history: tuple[str, ...] = Field((), description="replay: history files to answer from (default: the shipped seed history)")
    nearest: bool = Field(False, description="replay: answer an unrecorded strategy with the nearest recorded one")
    replay_delay: float = Field(
        0.0, ge=0, le=3600, description="replay: seconds each replayed evaluation takes (to crash and resume a sweep mid-trial in tests)"
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, values: Any) -> Any:
        if isinstance(values, dict):
            for old, new in RENAMED.items():
                if old in values:
                    raise ValueError(f"{old!r} was renamed to {new!r}")
        return values

    def result_settings(self) -> dict[str, Any]:
        """The settings a validation result depends on (the questions, their seed, the model, ...), as JSON values."""
        return {key: value for key, value in self.model_dump(mode="json").items() if key not in RESULT_NEUTRAL}
