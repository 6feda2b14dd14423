"""What a sweep produced: one summary per trial, the sweep's result, the best trial and the
Pareto front. Plain data (no Ray, no MLflow): the CLI, reports and tests read these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from domaintune.history import best_of, direction_sign


@dataclass
class TrialSummary:
    trial_id: str
    strategy: dict[str, Any]  # every lever (Strategy.model_dump())
    status: str  # FINISHED | FAILED | KILLED
    metric: float | None
    steps: int
    cost: dict[str, float]
    stopped_early: bool = False
    error: str | None = None
    label: str = ""  # the strategy in words (Strategy.describe())
    run_id: str = ""  # its MLflow child run
    adapter_dir: str = ""  # where its trained adapter was saved (on the node that ran it)
    trial_dir: str = ""  # its Ray trial folder (on the node that ran it): outcomes.json when it finished
    answered_from: str = ""  # the MLflow run whose recorded result answered it (a repeated strategy, not run again)


@dataclass
class SweepResult:
    name: str
    domain: str
    domain_fingerprint: str
    metric: str
    direction: str
    best_trial: str | None
    best_strategy: dict[str, Any] | None
    best_validation: float | None
    test_score: float | None
    test_questions: int
    best_cost: dict[str, float]
    trials: list[TrialSummary] = field(default_factory=list)
    tracking_uri: str = ""
    experiment_id: str = ""
    parent_run_id: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # setup, fit (the trials), test
    pareto: list[str] = field(default_factory=list)  # trial ids on the Pareto front (multi-objective sweeps)
    story: list[str] = field(default_factory=list)  # baseline, first proposal, where the search went (domaintune.story)
    interrupted: bool = False
    resumed: bool = False
    answered: int = 0  # trials answered from a record instead of run (sweep/_answers.py)
    repeated_evaluations: int = 0  # trials that ran a strategy an earlier trial of this sweep had scored (goal: 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def repeated_evaluations(trials: list[TrialSummary]) -> int:
    """Trials that ran (were not answered) a strategy that an earlier trial of the sweep ran and
    scored (finished, not stopped early): evaluations a record could have answered."""
    from domaintune.history import strategy_key
    from domaintune.strategy import Strategy

    scored: set[str] = set()
    repeats = 0
    for trial in trials:
        if trial.answered_from:
            continue
        key = strategy_key(Strategy.from_dict(trial.strategy).active())
        repeats += key in scored
        if trial.status == "FINISHED" and not trial.stopped_early:
            scored.add(key)
    return repeats


def objective_value(trial: TrialSummary, metric: str) -> float | None:
    """A trial's value of the searched metric or of a cost (``cost.train_flops``)."""
    if metric.startswith("cost."):
        return trial.cost.get(metric[len("cost.") :])
    return trial.metric


def best_trial(trials: list[TrialSummary], mode: str) -> TrialSummary | None:
    """The finished trial with the best metric (the first such, on ties); None if none finished."""
    scored = [t for t in trials if t.status == "FINISHED" and t.metric is not None]
    if not scored:
        return None
    return best_of(mode)(scored, key=lambda t: t.metric)  # type: ignore[arg-type, return-value]


def pareto_front(trials: list[TrialSummary], objectives: list[tuple[str, str]]) -> list[str]:
    """Ids of the finished trials that no other finished trial beats on every objective.

    Hand-written on purpose: optuna's ``_get_pareto_front_trials`` is private and works on
    FrozenTrials, and these are a dozen points (quadratic is fine).
    """
    points = []
    for trial in trials:
        values = [objective_value(trial, metric) for metric, _ in objectives]
        if trial.status == "FINISHED" and None not in values:
            # Turn every objective into "larger is better".
            points.append((trial.trial_id, [direction_sign(mode) * v for v, (_, mode) in zip(values, objectives)]))  # type: ignore[operator]
    front = []
    for trial_id, mine in points:
        dominated = any(
            all(o >= m for o, m in zip(other, mine)) and any(o > m for o, m in zip(other, mine)) for _, other in points
        )
        if not dominated:
            front.append(trial_id)
    return front
