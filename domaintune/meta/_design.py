"""A meta-dataset's design, validated: which strategies on which domains, how many validation
questions per cell, and the successive-halving rungs (``experiments/meta_design*.yaml``)."""

from __future__ import annotations

import functools
import math
import os
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domaintune.errors import ConfigError
from domaintune.history import strategy_key, task_name
from domaintune.lm import DEFAULT_MODEL
from domaintune.strategy import Strategy, format_validation_error


class Rung(BaseModel):
    """One fidelity of successive halving: questions per cell, and how many strategies per domain
    reach it (``keep``: a share of the previous rung's, best first, or a count when >= 1)."""

    model_config = ConfigDict(extra="forbid")

    questions: int = Field(ge=1)
    keep: float = Field(1.0, gt=0)

    def survivors(self, n: int) -> int:
        return max(1, min(n, int(self.keep) if self.keep >= 1 else math.ceil(self.keep * n)))


class TaskGroup(BaseModel):
    """Domains asked in one view by one base model, with one strategy list (a design's row block)."""

    model_config = ConfigDict(extra="forbid")

    domains: list[str] = Field(min_length=1)
    view: str = "definition_to_term"  # glossaries' view; a domain of another task kind is asked in its own
    model: str = DEFAULT_MODEL
    strategies: str = ""  # a name in the design's strategy_sets; "" = the design's strategies
    runner: dict[str, Any] = Field(default_factory=dict)  # over the design's runner settings (e.g. max_new_tokens)


class Evaluation(BaseModel):
    """Questions no rung screened on: the validation questions after the last rung's, where every
    strategy a method picks is scored to compare the methods (the test split stays for reporting)."""

    model_config = ConfigDict(extra="forbid")

    questions: int = Field(ge=1)  # at most this many per cell
    min_questions: int = Field(60, ge=1)  # a task with fewer left gets no evaluation cells


@dataclass(frozen=True)
class Task:
    """One row of the table: a domain, the view it is asked in, the base model, its strategy list."""

    domain: str
    view: str
    model: str
    strategies: tuple[dict[str, Any], ...] = dataclass_field(compare=False)
    label: str = dataclass_field(default="", compare=False)
    runner: tuple[tuple[str, Any], ...] = dataclass_field(default=(), compare=False)  # the group's runner settings

    @property
    def key(self) -> str:
        return task_key(self.domain, self.view, self.model)


def task_key(domain: str, view: str, model: str) -> str:
    """``domain|view|model`` (``history.task_name``), the model by its name."""
    return task_name(domain, view, model)


def row_task(row: dict[str, Any]) -> str:
    """The task a cell belongs to (cells built before tasks: its domain, view and model)."""
    return row.get("task") or task_key(row["domain"], row["view"], row.get("model") or DEFAULT_MODEL)


def cell_value(row: dict[str, Any]) -> float:
    """A cell's score on its task's metric (accuracy, or token F1 for free text)."""
    return float(row["value"] if "value" in row else row["accuracy"])


class Design(BaseModel):
    """Which strategies on which domains, how many validation questions per cell; with ``halving``,
    every strategy is screened on every domain at the first rung's questions and only the best of
    each rung is refined at the next (successive halving on the table itself)."""

    model_config = ConfigDict(extra="forbid")

    view: str = "definition_to_term"  # glossaries' view; a domain of another task kind is asked in its own
    questions: int = Field(40, ge=1)
    seed: int = 0
    runner: dict[str, Any] = Field(default_factory=dict)
    domains: list[str] = Field(default_factory=list)  # with ``groups``, the groups name theirs
    strategies: list[dict[str, Any]] = Field(min_length=1)
    halving: list[Rung] = Field(default_factory=list)
    groups: list[TaskGroup] = Field(default_factory=list)  # none: every domain in ``view`` by the runner's model
    strategy_sets: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    evaluation: Evaluation | None = None

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
        return _checked_strategies(values, "strategies")

    @field_validator("strategy_sets")
    @classmethod
    def _valid_sets(cls, sets: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        return {name: _checked_strategies(values, f"strategy_sets.{name}") for name, values in sets.items()}

    @model_validator(mode="after")
    def _known_sets(self) -> Design:
        if not self.domains and not self.groups:
            raise ValueError("domains: give the domains (or groups of domains, each with its view and model)")
        for number, group in enumerate(self.groups):
            if group.strategies and group.strategies not in self.strategy_sets:
                raise ValueError(f"groups[{number}].strategies: unknown set {group.strategies!r}; known: {', '.join(self.strategy_sets) or 'none'}")
        return self

    def tasks(self) -> list[Task]:
        """The table's rows in build order: each group's domains, or (no groups) every domain in ``view``."""
        if not self.groups:
            model = str(self.runner.get("model") or DEFAULT_MODEL)
            return [Task(d, asked_view(d, self.view), model, tuple(self.strategies), d) for d in self.domains]
        return [
            Task(d, asked_view(d, g.view), g.model, tuple(self.strategy_sets[g.strategies] if g.strategies else self.strategies),
                 f"{d} ({asked_view(d, g.view)}, {g.model})", tuple(sorted(g.runner.items())))
            for g in self.groups for d in g.domains
        ]

    def task(self, which: Task | str) -> Task:
        """A task, by itself, its key (``domain|view|model``) or the first task of a domain name."""
        if isinstance(which, Task):
            return which
        found = next((t for t in self.tasks() if which in (t.key, t.domain)), None)
        if found is None:
            raise ConfigError(f"task or domain {which!r} is not in the design")
        return found

    def cells(self) -> Iterator[tuple[str, int]]:  # noqa: D102 - the legacy single-view order
        """(domain, strategy index), domain by domain: a finished prefix is a complete table."""
        for domain in self.domains:
            for index in range(len(self.strategies)):
                yield domain, index


def _checked_strategies(values: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    active = [Strategy.from_dict(v, where=f"{where}[{i}]").active() for i, v in enumerate(values)]
    keys = [strategy_key(a) for a in active]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise ValueError(f"the same strategy appears twice: {sorted(duplicates)[0]}")
    return active


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


@functools.lru_cache(maxsize=None)
def asked_view(domain_name: str, view: str) -> str:
    """The view a design's ``view`` asks a domain in (``asked``); the name itself for a domain
    that cannot be loaded (its cells fail and say why)."""
    from domaintune.domains import load_domain
    from domaintune.errors import DomainError

    try:
        return asked(load_domain(domain_name), view).view_name
    except DomainError:
        return view


def asked(domain: Any, view: str) -> Any:
    """The domain as a design asks it: a design's view is the one its glossaries are asked in;
    a domain of another task kind (multiple choice, qa) is asked in its own."""
    return domain.view(view if view in domain.views or domain.task == "glossary" else domain.views[0])


def halving_plan(design: Design, rows: list[dict[str, Any]], which: Task | str, rung: int) -> list[int]:
    """Strategy indices of a task (or a domain's first task) to evaluate at ``rung``: all at rung 0,
    then the best ``keep`` of those recorded at the rung before (by score, ties by index)."""
    task = design.task(which)
    if rung == 0:
        return list(range(len(task.strategies)))
    before = design.halving[rung - 1].questions
    previous = {r["index"]: r for r in rows if row_task(r) == task.key and r.get("rung") == rung - 1 and r["fidelity"]["questions"] >= min(before, r["questions"])}
    ranked = sorted(previous, key=lambda i: (-cell_value(previous[i]), i))
    return ranked[: design.halving[rung].survivors(len(ranked))]
