"""A search space: for each lever, a fixed value, a list of choices, or a numeric range.

Spaces are written as plain mappings (in a sweep config or the library of named spaces):

    template: [plain, instruction]      # choices
    lora_rank: {low: 4, high: 32, log: true}   # int range (both bounds ints)
    learning_rate: {low: 1.0e-4, high: 3.0e-3, log: true}  # float range
    n_shots: 0                          # fixed

Every value is checked against the strategy's own validation, so an impossible range fails
when the config is read, naming the lever, not halfway through a sweep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from domaintune.errors import ConfigError
from domaintune.strategy import Strategy

_RANGE_KEYS = {"low", "high", "log", "step"}


@dataclass(frozen=True)
class Dimension:
    lever: str
    kind: str  # "fixed" | "choice" | "int" | "float"
    values: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None

    def spec(self) -> Any:
        """The plain mapping form this dimension was written in."""
        if self.kind == "fixed":
            return self.values[0]
        if self.kind == "choice":
            return list(self.values)
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out

    def to_optuna(self) -> Any:
        import optuna.distributions as d

        if self.kind == "choice":
            return d.CategoricalDistribution(list(self.values))
        if self.kind == "int":
            return d.IntDistribution(int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return d.FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def contains(self, value: Any) -> bool:
        if self.kind in ("fixed", "choice"):
            return value in self.values
        return self.low <= value <= self.high


def _check_value(lever: str, value: Any, where: str) -> None:
    Strategy.from_dict({lever: value}, where=where)


def parse_dimension(lever: str, spec: Any, where: str) -> Dimension:
    """Validate one lever's spec; errors name ``where`` (file and key path) and the lever."""
    if lever not in Strategy.model_fields:
        raise ConfigError(
            f"{where}.{lever}: unknown lever; known levers: {', '.join(Strategy.model_fields)}"
        )
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{where}.{lever}: an empty list of choices")
        for value in spec:
            _check_value(lever, value, where)
        return Dimension(lever, "choice", tuple(spec))
    if isinstance(spec, dict):
        unknown = set(spec) - _RANGE_KEYS
        if unknown or not {"low", "high"} <= set(spec):
            raise ConfigError(
                f"{where}.{lever}: a range needs low and high (and optionally log, step); "
                f"got keys {sorted(spec)}"
            )
        low, high = spec["low"], spec["high"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
            raise ConfigError(f"{where}.{lever}: low and high must be numbers, got {low!r} and {high!r}")
        if low > high:
            raise ConfigError(f"{where}.{lever}: impossible range, low {low} is above high {high}")
        log = bool(spec.get("log", False))
        if log and low <= 0:
            raise ConfigError(f"{where}.{lever}: a log range needs low > 0, got {low}")
        _check_value(lever, low, where)
        _check_value(lever, high, where)
        kind = "int" if isinstance(low, int) and isinstance(high, int) else "float"
        if kind == "int" and Strategy.model_fields[lever].annotation is float:
            kind = "float"
        return Dimension(lever, kind, low=low, high=high, log=log, step=spec.get("step"))
    _check_value(lever, spec, where)
    return Dimension(lever, "fixed", (spec,))


@dataclass(frozen=True)
class SearchSpace:
    """Named dimensions over strategy levers; levers not named keep the strategy's defaults."""

    dimensions: dict[str, Dimension] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: dict[str, Any], where: str = "space") -> SearchSpace:
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a mapping of lever to values, got {type(spec).__name__}")
        return cls({lever: parse_dimension(lever, value, where) for lever, value in spec.items()})

    def merged(self, overrides: SearchSpace) -> SearchSpace:
        return SearchSpace({**self.dimensions, **overrides.dimensions})

    @property
    def searched(self) -> dict[str, Dimension]:
        return {k: d for k, d in self.dimensions.items() if d.kind != "fixed"}

    @property
    def fixed(self) -> dict[str, Any]:
        return {k: d.values[0] for k, d in self.dimensions.items() if d.kind == "fixed"}

    def to_optuna(self) -> dict[str, Any]:
        return {lever: dim.to_optuna() for lever, dim in self.searched.items()}

    def spec(self) -> dict[str, Any]:
        return {lever: dim.spec() for lever, dim in self.dimensions.items()}

    def to_json(self) -> str:
        return json.dumps(self.spec(), indent=2)

    def strategy(self, sampled: dict[str, Any]) -> Strategy:
        """The strategy for one point: sampled levers plus the fixed ones."""
        return Strategy.from_dict({**self.fixed, **sampled}, where="trial")

    def point(self, strategy: Strategy, where: str) -> dict[str, Any]:
        """Project a strategy onto the searched levers (for warm starts).

        Its active levers must lie in the space; inactive ones (LoRA settings of a strategy
        without LoRA) take a value from the space, since the search needs one for every lever.
        """
        values = strategy.model_dump()
        active = strategy.active()
        for lever, dim in self.dimensions.items():
            if dim.contains(values[lever]):
                continue
            if lever in active:
                raise ConfigError(f"{where}: {lever}={values[lever]!r} lies outside the space ({dim.spec()!r})")
            values[lever] = dim.values[0] if dim.kind in ("fixed", "choice") else dim.low
        return {lever: values[lever] for lever in self.searched}

    def max_value(self, lever: str) -> Any:
        """The largest value a lever can take in this space (its default when not in the space)."""
        dim = self.dimensions.get(lever)
        if dim is None:
            return Strategy.model_fields[lever].default
        return max(dim.values) if dim.kind in ("fixed", "choice") else dim.high
