"""A sweep's warm start: what the search evaluates first and what it is told before it starts.

Three sources, in order: the config's own ``search.points_to_evaluate``; the meta-learner's
proposals from other domains (the first n of its ranking that the sweep's space holds, evaluated
first; half as many when the history has no task of this task's family or base model, so more of
the budget goes to the search); and this domain's earlier results in the
history (any version; told to the search as evaluated points, never run again).

Apart from those, with or without a ``warm_start:`` section: the answers, the finished trials of
earlier sweeps in this sweep's own experiment on the same data (fingerprint and version), base
model and runner settings, each with its run. They are not told before the search starts (a
cold sweep stays cold); a repeat of one is answered from its run (``sweep/_answers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError
from domaintune.history import strategy_key

# how deep into the learner's ranking a warm start reads (n x this), to find n proposals that
# the sweep's space holds
PROPOSAL_DEPTH = 4

if TYPE_CHECKING:
    from domaintune.meta import Proposal
    from domaintune.config import SweepConfig
    from domaintune.domains import Domain
    from domaintune.search_spaces import SearchSpace


@dataclass
class EarlierResult:
    point: dict[str, Any]
    value: float
    version: str  # the domain version it was measured on
    source: str
    run_id: str = ""  # the trial run that holds it, when a repeat of the point can be answered from it
    result: dict[str, Any] = field(default_factory=dict)  # that run's final result, as a trial reports it


@dataclass
class WarmStartPlan:
    points: list[dict[str, Any]] = field(default_factory=list)  # evaluated first, in order
    proposals: list[tuple[dict[str, Any], Proposal]] = field(default_factory=list)  # the learner's, in the space
    earlier: list[EarlierResult] = field(default_factory=list)  # told to the search, not run
    answers: list[EarlierResult] = field(default_factory=list)  # with their runs: a repeat is answered, not run
    caveats: list[str] = field(default_factory=list)  # what the history lacks for this task: fewer proposals run

    def to_dict(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "proposals": [{"point": pt, "strategy": p.strategy, "reason": p.reason, "predicted": p.predicted} for pt, p in self.proposals],
            "earlier_results": [vars(e) for e in self.earlier],
            "answers": [{"point": a.point, "value": a.value, "run_id": a.run_id} for a in self.answers],
            "caveats": self.caveats,
        }


def plan_warm_start(config: SweepConfig, domain: Domain, space: SearchSpace, skip_parent: str = "") -> WarmStartPlan:
    """The warm start of a sweep over ``space`` on ``domain`` (in its view); the trials of
    ``skip_parent`` (the sweep being resumed) are not earlier results."""
    plan = WarmStartPlan(points=[space.point(s, "search.points_to_evaluate") for s in config.warm_start_strategies(space=space)])
    plan.answers = recorded_answers(config, domain, space, skip_parent)
    if config.warm_start is None:
        return plan
    from domaintune.tracking import load_history
    from domaintune.meta import propose

    settings = config.warm_start
    history = load_history(settings.history or None, config.tracking.uri, settings.experiment)
    # the learner's ranking, deep enough that n of it lie in this sweep's space (a proposal
    # outside it, e.g. a top_k or learning rate the space does not hold, is passed over)
    ranked = propose(domain, history, settings.learner, settings.n * PROPOSAL_DEPTH, settings=config.runner)
    wanted = settings.n
    if ranked and ranked[0].caveats:
        # the history has no task of this family or base model: trust it less, search more
        plan.caveats = list(ranked[0].caveats)
        wanted = max(1, settings.n // 2)
    taken: set[str] = set()  # two strategies can be one point of the space
    for proposal in ranked:
        if len(plan.proposals) == wanted:
            break
        try:
            point = space.point(proposal.parsed_strategy(), "warm_start")
        except ConfigError:
            continue
        if strategy_key(point) not in taken:
            taken.add(strategy_key(point))
            plan.proposals.append((point, proposal))
    if not config.objectives:  # a multi-objective search cannot be told one value
        earlier: dict[str, EarlierResult] = {}
        for record in history:
            if (record.domain, record.view, record.metric, record.split, record.status) != (
                domain.name, domain.view_name or "", config.metric, "validation", "FINISHED"
            ) or record.value is None:
                continue
            try:
                point = space.point(record.parsed_strategy(), "warm_start")
            except ConfigError:
                continue
            earlier[strategy_key(point)] = EarlierResult(point, float(record.value), record.domain_version, record.source)  # the latest wins
        plan.earlier = list(earlier.values())
    told = {strategy_key(e.point) for e in plan.earlier}
    seen = {strategy_key(p) for p in plan.points}
    for point, _ in plan.proposals:
        if strategy_key(point) not in seen | told:
            plan.points.append(point)
            seen.add(strategy_key(point))
    return plan


def recorded_answers(config: SweepConfig, domain: Domain, space: SearchSpace, skip_parent: str = "") -> list[EarlierResult]:
    """This experiment's finished trials (not stopped early, not themselves answered) of earlier
    sweeps with the same data, runner settings (so the same base model and questions) and metric,
    one per strategy (the latest), each with its run: what answers a repeat instead of running it."""
    from domaintune.strategy import Strategy
    from domaintune.sweep._resume import _replayable
    from domaintune.tracking import Kind, SweepRun, TrialRun, client, encode_param, kind_runs, metric_curve

    store = client(config.tracking.uri)
    found = store.get_experiment_by_name(config.tracking.experiment)
    if found is None:
        return []
    ids, same_data = [found.experiment_id], {"domain_fingerprint": domain.fingerprint}
    wanted = {f"runner.{key}": encode_param(value) for key, value in config.runner.result_settings().items()}
    sweeps = {
        sweep.run_id for sweep in map(SweepRun.from_run, kind_runs(store, ids, Kind.SWEEP, **same_data))
        if sweep.run_id != skip_parent and all(sweep.params.get(key) == value for key, value in wanted.items())
    }
    metrics = [config.metric] + [o.metric for o in config.objectives]
    latest: dict[str, tuple[dict[str, Any], TrialRun]] = {}
    for run in kind_runs(store, ids, Kind.TRIAL, max_results=50_000, oldest_first=True, **same_data) if sweeps else []:
        trial = TrialRun.from_run(run)
        if (run.data.tags.get("mlflow.parentRunId") not in sweeps or trial.status != "FINISHED" or trial.stopped_early
                or trial.answered_from or (trial.domain_view, trial.domain_version) != (domain.view_name or "", domain.version)
                or not all(m in trial.metrics for m in metrics)):
            continue
        strategy = Strategy.from_dict(trial.strategy)
        try:
            point = space.point(strategy, "an earlier sweep's trial")
        except ConfigError:
            continue
        if space.strategy(point).active() == strategy.active():  # the fixed levers too: the very same strategy
            latest[strategy_key(point)] = (point, trial)
    answers = []
    for point, trial in latest.values():
        trial.curve = metric_curve(store, trial.run_id, config.metric)  # the step it was scored at
        value = float(trial.metrics[config.metric])
        answers.append(EarlierResult(point, value, trial.domain_version, f"mlflow:{trial.run_id}", trial.run_id, _replayable(trial.last)))
    return answers
