"""A meta-dataset's design, validated: which strategies on which domains, how many validation
questions per cell, and the successive-halving rungs (``experiments/meta_design*.yaml``)."""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domaintune.errors import ConfigError
from domaintune.history import strategy_key
from domaintune.strategy import Strategy, format_validation_error


class Rung(BaseModel):
    """One fidelity of successive halving: questions per cell, and how many strategies per domain
    reach it (``keep``: a share of the previous rung's, best first, or a count when >= 1)."""

    model_config = ConfigDict(extra="forbid")

    questions: int = Field(ge=1)
    keep: float = Field(1.0, gt=0)

    def survivors(self, n: int) -> int:
        return max(1, min(n, int(self.keep) if self.keep >= 1 else math.ceil(self.keep * n)))


class Design(BaseModel):
    """Which strategies on which domains, how many validation questions per cell; with ``halving``,
    every strategy is screened on every domain at the first rung's questions and only the best of
    each rung is refined at the next (successive halving on the table itself)."""

    model_config = ConfigDict(extra="forbid")

    view: str = "definition_to_term"  # glossaries' view; a domain of another task kind is asked in its own
    questions: int = Field(40, ge=1)
    seed: int = 0
    runner: dict[str, Any] = Field(default_factory=dict)
    domains: list[str] = Field(min_length=1)
    strategies: list[dict[str, Any]] = Field(min_length=1)
    halving: list[Rung] = Field(default_factory=list)

    @field_validator("halving")
    @classmethod
    def _growing(cls, rungs: list[Rung]) -> list[Rung]:
        for before, after in zip(rungs, rungs[1:]):
            if after.questions <= before.questions:
                raise ValueError(f"halving: each rung needs more questions than the one before ({before.questions} then {after.questions})")
        return rungs

    @field_validator("strategies")
    @classmethod
    def _valid_strategies(cls, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
        active = [Strategy.from_dict(v, where=f"strategies[{i}]").active() for i, v in enumerate(values)]
        keys = [strategy_key(a) for a in active]
        duplicates = {k for k in keys if keys.count(k) > 1}
        if duplicates:
            raise ValueError(f"the same strategy appears twice: {sorted(duplicates)[0]}")
        return active

    def cells(self) -> Iterator[tuple[str, int]]:
        """(domain, strategy index), domain by domain: a finished prefix is a complete table."""
        for domain in self.domains:
            for index in range(len(self.strategies)):
                yield domain, index


def load_design(path: str | Path) -> Design:
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the design: {error}") from None
    try:
        return Design.model_validate(values)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, str(path))) from None


def environment() -> dict[str, Any]:
    """Machine and package versions, recorded with the data."""
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for name in ("domaintune", "torch", "transformers", "peft", "bm25s", "sentence-transformers"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")), cpu)
    return {
        "machine": platform.machine(),
        "processor": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "packages": packages,
    }


def asked(domain: Any, view: str) -> Any:
    """The domain as a design asks it: a design's view is the one its glossaries are asked in;
    a domain of another task kind (multiple choice, qa) is asked in its own."""
    return domain.view(view if view in domain.views or domain.task == "glossary" else domain.views[0])


def halving_plan(design: Design, rows: list[dict[str, Any]], domain: str, rung: int) -> list[int]:
    """Strategy indices of ``domain`` to evaluate at ``rung``: all at rung 0, then the best
    ``keep`` of those recorded at the rung before (by accuracy, ties by index)."""
    if rung == 0:
        return list(range(len(design.strategies)))
    before = design.halving[rung - 1].questions
    previous = {r["index"]: r for r in rows if r["domain"] == domain and r.get("rung") == rung - 1 and r["fidelity"]["questions"] >= min(before, r["questions"])}
    ranked = sorted(previous, key=lambda i: (-previous[i]["accuracy"], i))
    return ranked[: design.halving[rung].survivors(len(ranked))]
