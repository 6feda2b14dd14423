"""The one module that knows Ray Tune: a sweep is Tuner + OptunaSearch (TPE) + ASHA.

The driver owns the MLflow records (through ``SweepTracker``), so a crashed or stopped
worker never leaves a run RUNNING; workers only run the bare runner and ``tune.report``.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError
from domaintune.strategy import Strategy

if TYPE_CHECKING:
    from domaintune.config import SweepConfig
    from domaintune.domains import Domain
    from domaintune.search_spaces import SearchSpace
    from domaintune.tracking import SweepTracker

# Environment every trial process gets: no hub lookups, quiet libraries, one BLAS thread.
WORKER_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "OMP_NUM_THREADS": "1",
}


@dataclass
class TrialSummary:
    trial_id: str
    strategy: dict[str, Any]
    status: str  # FINISHED | FAILED | KILLED
    metric: float | None
    steps: int
    cost: dict[str, float]
    stopped_early: bool = False
    error: str | None = None


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
    test_examples: int
    best_cost: dict[str, float]
    trials: list[TrialSummary] = field(default_factory=list)
    tracking_uri: str = ""
    experiment_id: str = ""
    parent_run_id: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # setup, fit (the trials), test
    pareto: list[str] = field(default_factory=list)  # trial ids on the Pareto front (multi-objective sweeps)
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _trainable(params: dict[str, Any], domain: Domain, settings: Any, fixed: dict[str, Any]) -> None:
    """One trial, inside a Ray worker: build the strategy, run it bare, forward its reports."""
    from ray import tune

    from domaintune.runners import LMRunner

    strategy = Strategy.from_dict({**fixed, **params}, where="trial")
    adapter_dir = str(Path(tune.get_context().get_trial_dir()) / "adapter")

    def report(step: int, metrics: dict[str, float], cost: dict[str, float]) -> None:
        costs = {f"cost.{k}": v for k, v in cost.items()}
        tune.report({**metrics, **costs, "step": step, "adapter_dir": adapter_dir if strategy.trains else ""})

    LMRunner(settings).run(domain, strategy, report=report, adapter_dir=adapter_dir)


def _tracking_callback(tracker: SweepTracker, space: SearchSpace, domain: Domain, metric: str) -> Any:
    from ray.tune import Callback

    class TrackingCallback(Callback):
        """Turns Ray trial events into MLflow child runs (driver side)."""

        def __init__(self) -> None:
            self.order: list[str] = []
            self.configs: dict[str, dict[str, Any]] = {}
            self.history: dict[str, list[tuple[int, float]]] = {}
            self.last: dict[str, dict[str, Any]] = {}
            self.status: dict[str, str] = {}
            self.errors: dict[str, str] = {}

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            strategy = space.strategy(trial.config)
            # Only the levers that matter: a child lever is not recorded when its parent is off.
            tracker.start_trial(trial.trial_id, strategy.active(), domain)
            self.order.append(trial.trial_id)
            self.configs[trial.trial_id] = dict(trial.config)
            self.history[trial.trial_id] = []

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            step = int(result.get("step", 0))
            values = {k: v for k, v in result.items() if k == metric or k == "train_loss" or k.startswith("cost.")}
            tracker.log_trial_metrics(trial.trial_id, step, values)
            if metric in result:
                self.history[trial.trial_id].append((step, float(result[metric])))
            self.last[trial.trial_id] = result

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            last = self.last.get(trial.trial_id, {})
            steps = int(last.get("step", 0))
            planned = space.strategy(trial.config)
            early = planned.trains and steps < planned.steps
            tracker.end_trial(trial.trial_id, "FINISHED", tags={"domaintune.stopped_early": str(early).lower()})
            self.status[trial.trial_id] = "FINISHED"

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            error = _trial_error(trial)
            tracker.end_trial(trial.trial_id, "FAILED", error=error)
            self.status[trial.trial_id] = "FAILED"
            self.errors[trial.trial_id] = error.strip().splitlines()[-1] if error.strip() else error

    return TrackingCallback()


def _warm_start(config: SweepConfig, domain: Domain, space: SearchSpace) -> tuple[list[tuple[dict[str, Any], Any]], list[tuple[dict[str, Any], float]]]:
    """The meta-learner's proposals that lie in the space, as search points (with the proposal),
    and the domain's own earlier results in the space (told to the search, not run again)."""
    if config.warm_start is None:
        return [], []
    from domaintune.meta import load_history, propose

    settings = config.warm_start
    history = load_history(settings.history, config.tracking.uri, settings.experiment)
    proposals = []
    for proposal in propose(domain, history, settings.learner, settings.n):
        try:
            proposals.append((space.point(Strategy.from_dict(proposal.strategy), "warm_start"), proposal))
        except ConfigError:
            continue  # a proposal outside this sweep's space is not evaluated
    earlier: dict[str, tuple[dict[str, Any], float]] = {}
    view = domain.view_name or ""
    for record in history:
        if (record.domain, record.view, record.metric, record.split, record.status) != (domain.name, view, config.metric, "validation", "FINISHED"):
            continue
        if record.value is None or config.objectives:
            continue
        try:
            point = space.point(record.parsed_strategy(), "warm_start")
        except ConfigError:
            continue
        earlier[json.dumps(point, sort_keys=True, default=str)] = (point, float(record.value))  # the latest record wins
    return proposals, list(earlier.values())


def _trial_error(trial: Any) -> str:
    """The failed trial's traceback: Ray writes it beside the trial before calling back."""
    path = trial.error_file
    if path and Path(path).exists():
        return Path(path).read_text()
    return str(trial.get_error() or "trial failed (Ray recorded no error text)")


def _init_ray(address: str | None) -> None:
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, runtime_env={"env_vars": WORKER_ENV}, log_to_driver=False)
    else:
        ray.init(include_dashboard=False, runtime_env={"env_vars": WORKER_ENV}, log_to_driver=False)


def run_sweep(config: SweepConfig, address: str | None = None, verbose: int = 1) -> SweepResult:
    """Run the sweep the config describes; record it in MLflow; score the best strategy on test."""
    import optuna
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    from domaintune.domains import TASK_METRICS
    from domaintune.models import prepare_model
    from domaintune.tracking import SweepTracker

    started = time.perf_counter()
    space = config.search_space()
    if not space.searched:
        raise ConfigError("space: every lever is fixed; give at least one lever choices or a range")
    domain = config.load_domain()
    known = TASK_METRICS[domain.task] + ("train_loss",)
    if config.metric not in known:
        raise ConfigError(f"metric: {config.metric!r} is not reported for a {domain.task} domain; use one of {', '.join(known)}")
    warm = [space.point(s, "search.points_to_evaluate") for s in config.warm_start_strategies()]
    proposals, earlier = _warm_start(config, domain, space)
    warm += [point for point, _ in proposals if point not in warm and point not in [p for p, _ in earlier]]
    # Before any run is opened: an unreachable store or a missing model fails with nothing half-recorded.
    tracker = SweepTracker(config.tracking.uri, config.tracking.experiment)
    prepare_model(config.runner.model, config.runner.cache_dir)

    tracker.start(
        config.name,
        config.model_dump(mode="json"),
        space.spec(),
        domain,
        trial_tags={
            "domaintune.metric": config.metric,
            "domaintune.direction": config.direction,
            "domaintune.base_model": config.runner.model,
        },
    )
    callback = None
    try:
        if proposals or earlier:
            tracker.log_artifact_text(
                json.dumps(
                    {
                        "proposals": [{"strategy": p.strategy, "reason": p.reason, "predicted": p.predicted} for _, p in proposals],
                        "earlier_results": [{"point": point, "value": value} for point, value in earlier],
                    },
                    indent=2,
                    default=str,
                ),
                "warm_start.json",
            )
        _init_ray(address or config.address)
        sampler = optuna.samplers.TPESampler(seed=config.search.seed, n_startup_trials=config.search.n_startup_trials)
        objective_names = [config.metric] + [o.metric for o in config.objectives]
        modes = [config.mode] + [o.mode for o in config.objectives]
        searcher = OptunaSearch(
            space=space.to_optuna(),
            metric=objective_names if config.objectives else config.metric,
            mode=modes if config.objectives else config.mode,
            points_to_evaluate=warm or None,
            sampler=sampler,
        )
        for point, value in earlier:  # this domain's own earlier results: TPE starts from them
            searcher.add_evaluated_point(point, value)
        max_reports = max(1, math.ceil(space.max_value("steps") / config.runner.eval_every))
        scheduler = (
            ASHAScheduler(
                time_attr="training_iteration",
                metric=config.metric,
                mode=config.mode,
                max_t=max_reports,
                grace_period=min(config.search.grace_period, max_reports),
                reduction_factor=config.search.reduction_factor,
            )
            if config.search.scheduler == "asha"
            else FIFOScheduler()
        )
        callback = _tracking_callback(tracker, space, domain, config.metric)
        trainable = tune.with_resources(
            tune.with_parameters(_trainable, domain=domain, settings=config.runner, fixed=space.fixed),
            {"cpu": config.search.cpus_per_trial, "gpu": config.search.gpus_per_trial},
        )
        storage = Path(config.storage or ".domaintune/ray_results").expanduser().resolve()
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=ConcurrencyLimiter(searcher, max_concurrent=config.search.max_concurrent),
                scheduler=scheduler,
                num_samples=config.search.num_samples,
                reuse_actors=config.search.reuse_actors,
            ),
            run_config=tune.RunConfig(
                name=f"{config.name}-{tracker.parent_id}",
                storage_path=str(storage),
                callbacks=[callback],
                verbose=verbose,
                failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            ),
        )
        fit_started = time.perf_counter()
        tuner.fit()
        timings = {"setup": fit_started - started, "fit": time.perf_counter() - fit_started}
        trials = _summaries(callback, space, config.metric)
        interrupted = any(t.status == "KILLED" for t in trials)
        if interrupted:
            for trial in trials:
                if trial.status == "KILLED":
                    tracker.end_trial(trial.trial_id, "KILLED")
            tracker.close("KILLED", error="sweep interrupted")
            return _result(config, domain, tracker, trials, None, None, 0, started, interrupted=True)
        best = _best(trials, config.mode)
        test_metric, test_score, test_examples = config.metric, None, 0
        if best is not None:
            adapter_dir = str(callback.last[best.trial_id].get("adapter_dir", ""))
            test_started = time.perf_counter()
            test_metric, test_score, test_examples = _score_test(config, domain, best, adapter_dir)
            timings["test"] = time.perf_counter() - test_started
        result = _result(config, domain, tracker, trials, best, test_score, test_examples, started)
        result.timings = timings
        if config.objectives:
            result.pareto = pareto_front(trials, [(config.metric, config.mode)] + [(o.metric, o.mode) for o in config.objectives])
            for trial_id in result.pareto:
                tracker.set_trial_tag(trial_id, "domaintune.pareto", "true")
        metrics = {"trials": float(len(trials)), "trials_failed": float(sum(t.status == "FAILED" for t in trials))}
        if best is not None:
            metrics[f"best_validation_{config.metric}"] = best.metric  # type: ignore[assignment]
            metrics[f"test_{test_metric}"] = test_score  # type: ignore[assignment]
            metrics.update({f"best_cost.{k}": v for k, v in best.cost.items()})
        from domaintune.plots import sweep_figures

        figures = sweep_figures(callback.order, callback.history, config.metric, config.mode)
        if config.objectives:
            from domaintune.plots import pareto_figure

            figures["pareto"] = pareto_figure(trials, result.pareto, config.metric, config.objectives[0].metric)
        tracker.finish(result.to_dict(), metrics, figures)
        return result
    except KeyboardInterrupt:
        tracker.close("KILLED", error="sweep interrupted (KeyboardInterrupt)")
        raise
    except BaseException as error:
        tracker.close("FAILED", error=f"{type(error).__name__}: {error}")
        raise
    finally:
        tracker.close("KILLED")


def _summaries(callback: Any, space: SearchSpace, metric: str) -> list[TrialSummary]:
    """One summary per started trial, from what the driver saw; a trial never ended was KILLED."""
    trials = []
    for trial_id in callback.order:
        last = callback.last.get(trial_id, {})
        planned = space.strategy(callback.configs[trial_id])
        steps = int(last.get("step", 0))
        trials.append(
            TrialSummary(
                trial_id=trial_id,
                strategy=planned.model_dump(),
                status=callback.status.get(trial_id, "KILLED"),
                metric=float(last[metric]) if metric in last else None,
                steps=steps,
                cost={k[len("cost.") :]: float(v) for k, v in last.items() if k.startswith("cost.")},
                stopped_early=planned.trains and steps < planned.steps,
                error=callback.errors.get(trial_id),
            )
        )
    return trials


def _value(trial: TrialSummary, metric: str) -> float | None:
    if metric.startswith("cost."):
        return trial.cost.get(metric[len("cost.") :])
    return trial.metric


def pareto_front(trials: list[TrialSummary], objectives: list[tuple[str, str]]) -> list[str]:
    """Ids of the finished trials no other finished trial beats on every objective."""
    points = []
    for trial in trials:
        values = [_value(trial, metric) for metric, _ in objectives]
        if trial.status == "FINISHED" and None not in values:
            # Turn every objective into "larger is better".
            points.append((trial.trial_id, [v if mode == "max" else -v for v, (_, mode) in zip(values, objectives)]))
    front = []
    for trial_id, mine in points:
        dominated = any(
            all(o >= m for o, m in zip(other, mine)) and any(o > m for o, m in zip(other, mine)) for _, other in points
        )
        if not dominated:
            front.append(trial_id)
    return front


def _best(trials: list[TrialSummary], mode: str) -> TrialSummary | None:
    scored = [t for t in trials if t.status == "FINISHED" and t.metric is not None]
    if not scored:
        return None
    pick = max if mode == "max" else min
    return pick(scored, key=lambda t: t.metric)  # type: ignore[arg-type, return-value]


def _score_test(config: SweepConfig, domain: Domain, best: TrialSummary, adapter_dir: str) -> tuple[str, float, int]:
    """The test split is touched once, for the chosen strategy, after the search is over."""
    from domaintune.runners import LMRunner
    from domaintune.runners._lm import scored_rows

    strategy = Strategy.from_dict(best.strategy)
    adapter = adapter_dir if adapter_dir and (Path(adapter_dir) / "adapter_config.json").exists() else None
    if strategy.trains and adapter is None:
        # The adapter stayed on a remote worker: retrain with the same seeds to the same step.
        strategy = strategy.model_copy(update={"steps": best.steps or strategy.steps})
    outcome = LMRunner(config.runner).run(domain, strategy, split="test", load_adapter=adapter)
    n = len(scored_rows(domain, "test", config.runner.test_examples, config.runner.seed))
    # A training-time metric (train_loss) has no test value: the task metric stands in for it.
    from domaintune.domains import TASK_METRICS

    name = config.metric if config.metric in outcome.metrics else TASK_METRICS[domain.task][0]
    return name, outcome.metrics[name], n


def _result(
    config: SweepConfig,
    domain: Domain,
    tracker: SweepTracker,
    trials: list[TrialSummary],
    best: TrialSummary | None,
    test_score: float | None,
    test_examples: int,
    started: float,
    interrupted: bool = False,
) -> SweepResult:
    return SweepResult(
        name=config.name,
        domain=domain.name,
        domain_fingerprint=domain.fingerprint,
        metric=config.metric,
        direction=config.direction,
        best_trial=best.trial_id if best else None,
        best_strategy=Strategy.from_dict(best.strategy).active() if best else None,
        best_validation=best.metric if best else None,
        test_score=test_score,
        test_examples=test_examples,
        best_cost=best.cost if best else {},
        trials=trials,
        tracking_uri=tracker.uri,
        experiment_id=tracker.experiment_id,
        parent_run_id=tracker.parent_id or "",
        seconds=time.perf_counter() - started,
        interrupted=interrupted,
    )
