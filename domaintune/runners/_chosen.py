"""Scoring the chosen strategy on the test split: once, after the search is over, never to choose."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from domaintune.runners._base import Runner, TrialResult

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.strategy import Strategy


def score_test(runner: Runner, domain: Domain, strategy: Strategy, steps: int, adapter_dir: str = "") -> TrialResult:
    """The test score of ``strategy`` as the search left it (trained to ``steps``).

    A trained adapter is reused when it is on this machine's disk; when the trial ran on
    another node, the strategy is retrained with the same seeds to the same step.
    """
    adapter = adapter_dir if adapter_dir and (Path(adapter_dir) / "adapter_config.json").exists() else None
    if strategy.trains and adapter is None:
        strategy = strategy.model_copy(update={"steps": steps or strategy.steps})
    return runner.run(domain, strategy, split="test", load_adapter=adapter)
