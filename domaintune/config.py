"""Sweep configs: ``experiments/*.yaml`` parsed with ``yaml.safe_load`` into validated models.

Every setting has one home here (its default and its comment); the code below the config
receives values, it never invents a second default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domaintune.errors import ConfigError
from domaintune.history import direction_sign
from domaintune.runners import RunnerSettings
from domaintune.search_spaces import SearchSpace, get_space
from domaintune.strategy import Strategy, format_validation_error


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchSettings(_Section):
    num_samples: int = Field(8, ge=1, description="trials in the sweep")
    max_concurrent: int = Field(2, ge=1, description="trials running at once")
    seed: int = Field(0, description="seeds the Optuna TPE sampler")
    n_startup_trials: int = Field(4, ge=0, description="random trials before TPE models the results")
    scheduler: Literal["asha", "fifo"] = Field("asha", description="asha stops poor trials early; fifo never does")
    grace_period: int = Field(1, ge=1, description="ASHA: reports a trial always gets")
    reduction_factor: int = Field(2, ge=2, description="ASHA: keep 1/reduction_factor at each rung")
    reuse_actors: bool = Field(True, description="reuse trial processes (saves ~3 s per trial)")
    snapshot_seconds: float | Literal["auto"] = Field(
        "auto", description="seconds between saves of Ray's experiment state (0: after every event; auto: Ray's own, "
        "at least 10 s and at most 5% of the time); MLflow is written before each save"
    )

    @field_validator("snapshot_seconds")
    @classmethod
    def _not_negative(cls, value: float | str) -> float | str:
        if value != "auto" and float(value) < 0:
            raise ValueError("must be 'auto' or seconds >= 0")
        return value
    cpus_per_trial: float = Field(1.0, gt=0, description="Ray CPUs per trial")
    gpus_per_trial: float = Field(0.0, ge=0, description="Ray GPUs per trial (0.25: four trials share a GPU)")
    worker_niceness: int = Field(
        0, ge=0, le=19, description="nice level of a local Ray's trial processes (Ray's own 15 makes a sweep crawl on a shared machine)"
    )
    points_to_evaluate: list[dict[str, Any]] = Field(
        default_factory=list, description="strategies to evaluate first (warm start), in order"
    )


# The learner `domaintune meta eval` ranks first on the shipped history's evaluation questions (lowest
# regret@1, then @3): benchmarks/results/meta_eval.json's ``default_learner``, which a test holds it to.
DEFAULT_LEARNER = "nearest"


class WarmStart(_Section):
    """Strategies a meta-learner proposes from past domains, evaluated first."""

    learner: str = Field(DEFAULT_LEARNER, description="random | nearest | portfolio | surrogate (any registered learner)")
    n: int = Field(3, ge=1, le=50, description="how many proposals to evaluate first")
    history: list[str] = Field(default_factory=list, description="history files (default: the shipped seed history)")
    experiment: str | None = Field(None, description="also learn from this MLflow experiment's trials")

    @field_validator("learner")
    @classmethod
    def _known_learner(cls, value: str) -> str:
        from domaintune.meta import REGISTRY

        if value not in REGISTRY:
            raise ValueError(f"unknown learner {value!r}; known: {', '.join(sorted(REGISTRY))}")
        return value


class TrackingSettings(_Section):
    uri: str | None = Field(None, description="MLflow tracking URI; default $MLFLOW_TRACKING_URI, else ./mlflow.db")
    experiment: str = Field("domaintune", description="MLflow experiment that holds the sweeps")


class DomainFiles(_Section):
    """A user's domain given inline by its files (JSONL, CSV, Parquet or a hub id ``owner/name:split``)."""

    name: str
    train: str
    validation: str
    test: str
    corpus: str | None = Field(None, description="knowledge passages for retrieval (column `text`)")
    licence: str = "unspecified"
    source: str = ""
    title: str = ""
    distractors: Literal["random", "similar"] = Field("random", description="glossaries: how distractors are drawn")


class Objective(_Section):
    """An extra objective: any reported metric, e.g. a cost (``cost.train_flops``)."""

    metric: str
    direction: Literal["maximize", "minimize"] = "minimize"

    @property
    def mode(self) -> str:
        return "max" if direction_sign(self.direction) > 0 else "min"


COST_METRICS = (
    "cost.train_seconds", "cost.eval_seconds", "cost.train_flops", "cost.eval_flops",
    "cost.trainable_params", "cost.train_tokens", "cost.prompt_tokens", "cost.peak_memory_mb",
)


class SweepConfig(_Section):
    name: str = Field("sweep", description="sweep name: the MLflow parent run and the Ray experiment")
    domain: str | DomainFiles = Field("jargon", description="a domain name, a domain folder, or {name, train, validation, test}")
    view: str | None = Field(None, description="which question the domain asks (default: its first view)")
    metric: str = Field("accuracy", description="the metric the sweep optimizes")
    direction: Literal["maximize", "minimize"] = "maximize"
    objectives: list[Objective] = Field(
        default_factory=list, description="extra objectives (e.g. a cost): a multi-objective search with a Pareto front"
    )
    space: str | dict[str, Any] = Field(
        "hybrid", description="a named space, or a mapping of levers (with `base: NAME` to start from one)"
    )
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    warm_start: WarmStart | None = Field(None, description="meta-learned proposals evaluated first")
    storage: str | None = Field(None, description="Ray results folder (default ./.domaintune/ray_results)")
    address: str | None = Field(None, description="Ray cluster address; default $RAY_ADDRESS, else a local Ray")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not value or any(c in value for c in "/\\ "):
            raise ValueError(f"{value!r} must be non-empty, without spaces or slashes")
        return value

    @model_validator(mode="after")
    def _objectives_fit(self) -> SweepConfig:
        for objective in self.objectives:
            if objective.metric not in COST_METRICS and objective.metric != "train_loss":
                raise ValueError(f"objectives: {objective.metric!r} is not reported; use one of {', '.join(COST_METRICS)}")
        if self.runner.kind == "lm" and self.runner.device == "cuda" and self.search.gpus_per_trial == 0:
            raise ValueError("runner.device: cuda needs search.gpus_per_trial > 0 (Ray hides the GPUs from a trial that reserved none)")
        if self.objectives and self.search.scheduler == "asha":
            raise ValueError("objectives: ASHA stops trials on one metric; set search.scheduler: fifo for a multi-objective sweep")
        return self

    def search_space(self, where: str = "space") -> SearchSpace:
        """The space, parsed (the sweep parses it once and passes it on)."""
        if isinstance(self.space, str):
            return get_space(self.space)
        spec = dict(self.space)
        base = spec.pop("base", None)
        space = SearchSpace.parse(spec, where=where)
        return get_space(base).merged(space) if base else space

    def warm_start_strategies(self, where: str = "search.points_to_evaluate", space: SearchSpace | None = None) -> list[Strategy]:
        fixed = (space or self.search_space()).fixed
        return [
            Strategy.from_dict({**fixed, **point}, where=f"{where}[{i}]")
            for i, point in enumerate(self.search.points_to_evaluate)
        ]

    def load_domain(self) -> Any:
        """The domain to sweep, in the configured view."""
        from domaintune.domains import import_domain, load_domain

        if isinstance(self.domain, str):
            domain = load_domain(self.domain)
        else:
            files = self.domain
            domain = import_domain(
                files.name,
                {"train": files.train, "validation": files.validation, "test": files.test},
                corpus=files.corpus,
                licence=files.licence,
                source=files.source,
                title=files.title,
                seed=self.runner.seed,
                distractors=files.distractors,
            )
        return domain.view(self.view)

    @property
    def mode(self) -> str:
        return "max" if direction_sign(self.direction) > 0 else "min"


def parse_config(data: Any, where: str) -> SweepConfig:
    """Validate a loaded mapping; every error names ``where`` and the key path."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        config = SweepConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, where)) from None
    # Parse the space and warm-start points now so a bad lever fails before any work starts.
    space = config.search_space(where=f"{where}: space")
    for strategy in config.warm_start_strategies(where=f"{where}: search.points_to_evaluate", space=space):
        space.point(strategy, where=f"{where}: search.points_to_evaluate")
    return config


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> SweepConfig:
    """Read a YAML sweep config; ``overrides`` are dotted keys (``search.num_samples``) set on top."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason}); save the config as UTF-8") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    for dotted, value in (overrides or {}).items():
        target = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value
    return parse_config(data, str(path))
