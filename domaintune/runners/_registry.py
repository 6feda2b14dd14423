"""The runner registry: the one door to evaluating a strategy.

A runner kind is registered once by name (``lm``, ``replay``; a duplicate name is refused, as
peft's ``register_*`` does); ``make_runner(settings)`` builds the runner that
``settings.kind`` names. The sweep's trials, the test score after a search, the meta-dataset
build, the zero-shot probe feature and the benchmarks all get their runner here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from domaintune.errors import ConfigError

if TYPE_CHECKING:
    from domaintune.runners._base import Runner
    from domaintune.runners._settings import RunnerSettings

RunnerFactory = Callable[["RunnerSettings"], "Runner"]
RUNNERS: dict[str, RunnerFactory] = {}
DESCRIPTIONS: dict[str, str] = {}
_BUILT: dict[str, Runner] = {}  # one runner per process and settings: a worker reuses its loaded model or history


def register_runner(name: str, factory: RunnerFactory, description: str = "") -> None:
    """Make ``runner.kind: NAME`` build runners with ``factory(settings)``."""
    if name in RUNNERS:
        raise ConfigError(f"runner {name!r} is already registered")
    RUNNERS[name] = factory
    DESCRIPTIONS[name] = description


def make_runner(settings: RunnerSettings) -> Runner:
    """The runner ``settings.kind`` names, built once per process for the same settings."""
    if settings.kind not in RUNNERS:
        raise ConfigError(f"runner.kind: unknown {settings.kind!r}; known: {', '.join(sorted(RUNNERS))}")
    key = settings.model_dump_json()
    if key not in _BUILT:
        _BUILT[key] = RUNNERS[settings.kind](settings)
    return _BUILT[key]


def _lm(settings: RunnerSettings) -> Runner:
    from domaintune.runners._lm import LMRunner

    return LMRunner(settings)


def _replay(settings: RunnerSettings) -> Runner:
    from domaintune.history import load_history
    from domaintune.runners._replay import ReplayRunner

    return ReplayRunner(load_history(list(settings.history) or None), nearest=settings.nearest, delay=settings.replay_delay,
                        model=settings.model)


register_runner("lm", _lm, "a real causal LM: prompts, retrieval, training, scoring")
register_runner("replay", _replay, "answers from a recorded history (a simulated backend): sweeps in seconds, no model")
