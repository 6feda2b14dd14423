"""Settings every trial of a sweep shares (the ``runner:`` section of a sweep config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domaintune.models import DEFAULT_MODEL


class RunnerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(DEFAULT_MODEL, description="built-in model name, transformers model id or local folder")
    cache_dir: str | None = Field(None, description="where converted models are cached (default: user cache dir)")
    trust_remote_code: bool = Field(False, description="let transformers run code shipped with the model")
    eval_examples: int = Field(60, ge=1, description="validation questions scored per report (a fixed, seeded sample)")
    test_examples: int = Field(0, ge=0, description="test questions scored for the chosen strategy (0 = all)")
    eval_every: int = Field(10, ge=1, description="training steps between validation reports (ASHA rungs)")
    max_length: int = Field(128, ge=16, description="training sequence length cap in tokens")
    max_new_tokens: int = Field(32, ge=1, description="QA domains: longest greedy answer in tokens")
    threads: int = Field(1, ge=1, description="torch threads per trial (1 is fastest on small CPUs)")
    seed: int = Field(0, description="seeds exemplars, data order, LoRA init and the eval sample")
