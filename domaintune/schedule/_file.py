"""Schedule files: entries of a sweep config plus when it runs (cron and/or triggers) and a budget.

Parsed with ``yaml.safe_load`` into validated models; every error names the file and the key
(``schedule.yaml: entries.0.cron: ...``), and each entry's sweep config is loaded and
validated too, so a bad entry fails before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from domaintune.errors import ConfigError
from domaintune.strategy import format_validation_error


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Triggers(_Section):
    """What makes an entry due besides its cron. Each is measured since the entry's last sweep."""

    data_changed: bool = Field(True, description="the domain has a new fingerprint (a new version) since the last sweep")
    history_grew: int | None = Field(None, ge=1, description="the history gained at least this many records")
    base_model_changed: bool = Field(False, description="runner.kind / runner.model differ from the last sweep's")
    champion_below: float | None = Field(
        None, description="the champion's score on the current version's validation data fell below this value"
    )
    champion_drop: float | None = Field(
        None, gt=0, description="the champion's score on the current version fell this much below its score when chosen"
    )


class Budget(_Section):
    """What one scheduled run may spend (overrides the sweep config's search settings)."""

    trials: int | None = Field(None, ge=1, description="trials in the sweep (search.num_samples)")
    max_concurrent: int | None = Field(None, ge=1, description="trials at once (search.max_concurrent)")
    questions: int | None = Field(None, ge=1, description="validation questions per trial (runner.questions)")


class Promotion(_Section):
    alpha: float = Field(0.05, gt=0, lt=1, description="one-sided level of the paired sign test a challenger must pass")


class Entry(_Section):
    name: str = Field(..., description="the entry's name: what MLflow records and the lock are keyed by")
    config: str = Field(..., description="the sweep config (relative to the schedule file)")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted overrides on the sweep config (as --set)")
    cron: str | None = Field(None, description="five-field cron expression (croniter), in UTC")
    triggers: Triggers = Field(default_factory=Triggers)
    budget: Budget = Field(default_factory=Budget)
    promotion: Promotion = Field(default_factory=Promotion)
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not value or any(c in value for c in "/\\ \t"):
            raise ValueError(f"{value!r} must be non-empty, without spaces or slashes")
        return value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from croniter import croniter

        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a five-field cron expression (minute hour day month weekday)")
        return value

    def overrides(self) -> dict[str, Any]:
        """The sweep config overrides this entry applies: its ``set`` then its budget."""
        out = dict(self.set)
        for key, value in (("search.num_samples", self.budget.trials), ("search.max_concurrent", self.budget.max_concurrent),
                           ("runner.questions", self.budget.questions)):
            if value is not None:
                out[key] = value
        return out


class ScheduleTracking(_Section):
    uri: str | None = Field(None, description="MLflow tracking URI; default $MLFLOW_TRACKING_URI, else ./mlflow.db")
    experiment: str = Field("domaintune-schedule", description="where each scheduled run is recorded")


class ScheduleFile(_Section):
    tracking: ScheduleTracking = Field(default_factory=ScheduleTracking)
    lock_dir: str | None = Field(None, description="where entry locks live (default: beside the user's domains)")
    feedback_history: str | None = Field(None, description="experts' feedback records (default: beside the user's domains)")
    poll_seconds: int = Field(60, ge=1, description="serve: how often due entries are looked for")
    entries: list[Entry] = Field(..., min_length=1)

    def problems(self) -> list[str]:
        """Cross-entry checks, as ``key: message`` (names twice, an entry that can never run)."""
        out, seen = [], set()
        for index, entry in enumerate(self.entries):
            if entry.name in seen:
                out.append(f"entries.{index}.name: {entry.name!r} is used twice")
            seen.add(entry.name)
            t = entry.triggers
            fires = t.data_changed or t.history_grew or t.base_model_changed or t.champion_below is not None or t.champion_drop is not None
            if entry.cron is None and not fires:
                out.append(f"entries.{index}: {entry.name!r} has no cron and no trigger, so it would never run")
        return out


class Schedule:
    """A loaded schedule file: its entries with their sweep configs resolved and validated."""

    def __init__(self, path: Path, spec: ScheduleFile):
        self.path = path
        self.spec = spec

    @property
    def entries(self) -> list[Entry]:
        return list(self.spec.entries)

    def config_path(self, entry: Entry) -> Path:
        path = Path(entry.config).expanduser()
        return path if path.is_absolute() else (self.path.parent / path)

    def sweep_config(self, entry: Entry, extra: dict[str, Any] | None = None) -> Any:
        from domaintune.config import load_config

        try:
            return load_config(self.config_path(entry), {**entry.overrides(), **(extra or {})})
        except ConfigError as error:
            raise ConfigError(f"{self.path}: entry {entry.name!r}: {error}") from None

    def entry(self, name: str) -> Entry:
        for entry in self.spec.entries:
            if entry.name == name:
                return entry
        raise ConfigError(f"{self.path}: no entry {name!r}; entries: {', '.join(e.name for e in self.spec.entries)}")


def load_schedule(path: str | Path) -> Schedule:
    """Read and validate a schedule file and every entry's sweep config."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such schedule file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        spec = ScheduleFile.model_validate(data)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, str(path))) from None
    problems = spec.problems()
    if problems:
        raise ConfigError("\n".join(f"{path}: {problem}" for problem in problems))
    schedule = Schedule(path, spec)
    for index, entry in enumerate(spec.entries):
        if not schedule.config_path(entry).exists():
            raise ConfigError(f"{path}: entries.{index}.config: no such sweep config {schedule.config_path(entry)}")
        schedule.sweep_config(entry)
    return schedule
