"""The one module that knows Ray Tune: a sweep is Tuner + OptunaSearch (TPE) + ASHA.

The driver owns the MLflow records (through ``SweepTracker``), so a crashed or stopped
worker never leaves a run RUNNING; workers only run the bare runner and ``tune.report``.
What to evaluate first comes from ``meta.plan_warm_start``; what a sweep produced is in
``domaintune.results``; the test score of the chosen strategy comes from the runner.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError
from domaintune.results import SweepResult, TrialSummary, best_trial, pareto_front

if TYPE_CHECKING:
    from domaintune.config import SweepConfig
    from domaintune.domains import Domain
    from domaintune.meta import WarmStartPlan
    from domaintune.runners import RunnerSettings
    from domaintune.search_spaces import SearchSpace
    from domaintune.strategy import Strategy
    from domaintune.tracking import SweepTracker

OUTCOMES_FILE = "outcomes.json"  # written in a finished trial's folder: its per-question outcomes
# Environment every trial process gets: no hub lookups, quiet libraries, one BLAS thread.
WORKER_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "OMP_NUM_THREADS": "1",
}


def _trainable(params: dict[str, Any], domain: Domain, settings: RunnerSettings, fixed: dict[str, Any]) -> None:
    """One trial, inside a Ray worker: build the strategy, run it bare, forward its reports."""
    from ray import tune

    from domaintune.runners import make_runner
    from domaintune.strategy import Strategy

    strategy = Strategy.from_dict({**fixed, **params}, where="trial")
    trial_dir = Path(tune.get_context().get_trial_dir())
    adapter_dir = str(trial_dir / "adapter")

    def report(step: int, metrics: dict[str, float], cost: dict[str, float]) -> None:
        costs = {f"cost.{k}": v for k, v in cost.items()}
        tune.report({**metrics, **costs, "step": step, "adapter_dir": adapter_dir if strategy.trains else "", "trial_dir": str(trial_dir)})

    result = make_runner(settings).run(domain, strategy, report=report, adapter_dir=adapter_dir)
    if result.question_ids and result.outcomes is not None:
        # The last report's per-question outcomes: a challenger is compared with its champion on them.
        (trial_dir / OUTCOMES_FILE).write_text(json.dumps({
            "step": result.steps, "metrics": result.metrics, "question_ids": result.question_ids, "outcomes": result.outcomes,
        }))


def _tracking_callback(tracker: SweepTracker, space: SearchSpace, domain: Domain, metric: str) -> Any:
    from ray.tune import Callback

    class TrackingCallback(Callback):
        """Turns Ray trial events into MLflow child runs (driver side); keeps what the driver saw."""

        def __init__(self) -> None:
            self.order: list[str] = []
            self.strategies: dict[str, Strategy] = {}  # built once per trial, here
            self.curves: dict[str, list[tuple[int, float]]] = {}  # the metric at every report
            self.last: dict[str, dict[str, Any]] = {}
            self.status: dict[str, str] = {}
            self.errors: dict[str, str] = {}

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            strategy = space.strategy(trial.config)
            self.order.append(trial.trial_id)
            self.strategies[trial.trial_id] = strategy
            self.curves[trial.trial_id] = []
            # Only the levers that matter: a child lever is not recorded when its parent is off.
            tracker.start_trial(trial.trial_id, strategy.active(), domain, label=f"{len(self.order)} · {strategy.describe()}")

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            step = int(result.get("step", 0))
            values = {k: v for k, v in result.items() if k == metric or k == "train_loss" or k.startswith("cost.")}
            tracker.log_trial_metrics(trial.trial_id, step, values)
            if metric in result:
                self.curves[trial.trial_id].append((step, float(result[metric])))
            self.last[trial.trial_id] = result

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            early = self._stopped_early(trial.trial_id)
            tracker.end_trial(trial.trial_id, "FINISHED", tags={"domaintune.stopped_early": str(early).lower()})
            self.status[trial.trial_id] = "FINISHED"

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            error = _trial_error(trial)
            tracker.end_trial(trial.trial_id, "FAILED", error=error)
            self.status[trial.trial_id] = "FAILED"
            self.errors[trial.trial_id] = error.strip().splitlines()[-1] if error.strip() else error

        def _stopped_early(self, trial_id: str) -> bool:
            strategy = self.strategies[trial_id]
            return strategy.trains and int(self.last.get(trial_id, {}).get("step", 0)) < strategy.steps

        def summaries(self) -> list[TrialSummary]:
            """One summary per started trial, from what the driver saw; a trial never ended was KILLED."""
            out = []
            for trial_id in self.order:
                last, strategy = self.last.get(trial_id, {}), self.strategies[trial_id]
                out.append(
                    TrialSummary(
                        trial_id=trial_id,
                        strategy=strategy.model_dump(),
                        status=self.status.get(trial_id, "KILLED"),
                        metric=float(last[metric]) if metric in last else None,
                        steps=int(last.get("step", 0)),
                        cost={k[len("cost.") :]: float(v) for k, v in last.items() if k.startswith("cost.")},
                        stopped_early=self._stopped_early(trial_id),
                        error=self.errors.get(trial_id),
                        label=strategy.describe(),
                        run_id=tracker.trial_runs.get(trial_id, ""),
                        adapter_dir=str(last.get("adapter_dir", "") or ""),
                        trial_dir=str(last.get("trial_dir", "") or ""),
                    )
                )
            return out

    return TrackingCallback()


def _trial_error(trial: Any) -> str:
    """The failed trial's traceback: Ray writes it beside the trial before calling back."""
    path = trial.error_file
    if path and Path(path).exists():
        return Path(path).read_text()
    return str(trial.get_error() or "trial failed (Ray recorded no error text)")


def init_ray(address: str | None) -> None:
    """Join the configured cluster (``address``, else ``$RAY_ADDRESS``), else start a local Ray.

    With no address, ``address="local"`` always starts a fresh local Ray: a plain ``ray.init()``
    would try to join whatever cluster Ray's temp folder last named, even a dead one.
    """
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    env = {"env_vars": WORKER_ENV}
    if not address:
        ray.init(address="local", include_dashboard=False, runtime_env=env, log_to_driver=False)
        return
    try:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as error:
        raise ConfigError(f"address: the Ray cluster at {address!r} is unreachable ({type(error).__name__}: {error})") from None


def _searcher(config: SweepConfig, space: SearchSpace, plan: WarmStartPlan) -> Any:
    import optuna
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    multi = bool(config.objectives)
    searcher = OptunaSearch(
        space=space.to_optuna(),
        metric=[config.metric] + [o.metric for o in config.objectives] if multi else config.metric,
        mode=[config.mode] + [o.mode for o in config.objectives] if multi else config.mode,
        points_to_evaluate=plan.points or None,
        sampler=optuna.samplers.TPESampler(seed=config.search.seed, n_startup_trials=config.search.n_startup_trials),
    )
    for earlier in plan.earlier:  # this domain's own earlier results: TPE starts from them
        searcher.add_evaluated_point(earlier.point, earlier.value)
    return ConcurrencyLimiter(searcher, max_concurrent=config.search.max_concurrent)


def _scheduler(config: SweepConfig, space: SearchSpace) -> Any:
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    if config.search.scheduler != "asha":
        return FIFOScheduler()
    max_reports = max(1, math.ceil(space.max_value("steps") / config.runner.eval_every))
    return ASHAScheduler(
        time_attr="training_iteration",
        metric=config.metric,
        mode=config.mode,
        max_t=max_reports,
        grace_period=min(config.search.grace_period, max_reports),
        reduction_factor=config.search.reduction_factor,
    )


def _checked(config: SweepConfig) -> tuple[SearchSpace, Domain]:
    """The space (parsed once, here) and the domain, with the metric checked against its task."""
    from domaintune.domains import TASK_METRICS

    space = config.search_space()
    if not space.searched:
        raise ConfigError("space: every lever is fixed; give at least one lever choices or a range")
    domain = config.load_domain()
    known = TASK_METRICS[domain.task] + ("train_loss",)
    if config.metric not in known:
        raise ConfigError(f"metric: {config.metric!r} is not reported for a {domain.task} domain; use one of {', '.join(known)}")
    return space, domain


def _tuner(config: SweepConfig, space: SearchSpace, domain: Domain, plan: WarmStartPlan, name: str, callback: Any, verbose: int) -> Any:
    from ray import tune

    trainable = tune.with_resources(
        tune.with_parameters(_trainable, domain=domain, settings=config.runner, fixed=space.fixed),
        {"cpu": config.search.cpus_per_trial, "gpu": config.search.gpus_per_trial},
    )
    storage = Path(config.storage or ".domaintune/ray_results").expanduser().resolve()
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=_searcher(config, space, plan),
            scheduler=_scheduler(config, space),
            num_samples=config.search.num_samples,
            reuse_actors=config.search.reuse_actors,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(storage),
            callbacks=[callback],
            verbose=verbose,
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
        ),
    )


def run_sweep(config: SweepConfig, address: str | None = None, verbose: int = 1) -> SweepResult:
    """Run the sweep the config describes; record it in MLflow; score the best strategy on test."""
    from domaintune.meta import plan_warm_start
    from domaintune.runners import make_runner
    from domaintune.tracking import SweepTracker

    started = time.perf_counter()
    space, domain = _checked(config)
    plan = plan_warm_start(config, domain, space)
    # Before any run is opened: an unreachable store, a missing model or history fails with nothing half-recorded.
    tracker = SweepTracker(config.tracking.uri, config.tracking.experiment)
    runner = make_runner(config.runner)
    runner.prepare()
    tracker.start(
        config.name,
        config.model_dump(mode="json"),
        space.spec(),
        domain,
        trial_tags={
            "domaintune.metric": config.metric,
            "domaintune.direction": config.direction,
            "domaintune.base_model": config.runner.model if config.runner.kind == "lm" else f"replay:{config.runner.model}",
            "domaintune.runner": config.runner.kind,
        },
    )
    try:
        if plan.points or plan.earlier:
            tracker.log_dict(plan.to_dict(), "warm_start.json")
        init_ray(address or config.address)
        callback = _tracking_callback(tracker, space, domain, config.metric)
        tuner = _tuner(config, space, domain, plan, f"{config.name}-{tracker.parent_id}", callback, verbose)
        fit_started = time.perf_counter()
        tuner.fit()
        timings = {"setup": fit_started - started, "fit": time.perf_counter() - fit_started}
        trials = callback.summaries()
        if any(t.status == "KILLED" for t in trials):
            for trial in trials:
                if trial.status == "KILLED":
                    tracker.end_trial(trial.trial_id, "KILLED")
            tracker.close("KILLED", error="sweep interrupted")
            return _result(config, domain, tracker, trials, None, None, 0, started, interrupted=True)
        return _conclude(config, domain, runner, tracker, callback, trials, started, timings, space, plan)
    except KeyboardInterrupt:
        tracker.close("KILLED", error="sweep interrupted (KeyboardInterrupt)")
        raise
    except BaseException as error:
        tracker.close("FAILED", error=f"{type(error).__name__}: {error}")
        raise
    finally:
        tracker.close("KILLED")


def _conclude(
    config: SweepConfig, domain: Domain, runner: Any, tracker: SweepTracker, callback: Any,
    trials: list[TrialSummary], started: float, timings: dict[str, float], space: SearchSpace, plan: WarmStartPlan,
) -> SweepResult:
    """After the search: the best trial, its test score (the test split's only use), the Pareto
    front, the parent run's metrics, plots, report and description; closes the parent run."""
    from domaintune.domains import TASK_METRICS
    from domaintune.runners import score_test

    best = best_trial(trials, config.mode)
    test_metric, test_score, test_questions = config.metric, None, 0
    if best is not None:
        test_started = time.perf_counter()
        adapter_dir = str(callback.last[best.trial_id].get("adapter_dir", ""))
        outcome = score_test(runner, domain, callback.strategies[best.trial_id], best.steps, adapter_dir)
        # A training-time metric (train_loss) has no test value: the task metric stands in for it.
        test_metric = config.metric if config.metric in outcome.metrics else TASK_METRICS[domain.task][0]
        test_score, test_questions = outcome.metrics.get(test_metric), outcome.questions
        timings["test"] = time.perf_counter() - test_started
    result = _result(config, domain, tracker, trials, best, test_score, test_questions, started)
    result.timings = timings
    if config.objectives:
        result.pareto = pareto_front(trials, [(config.metric, config.mode)] + [(o.metric, o.mode) for o in config.objectives])
        for trial_id in result.pareto:
            tracker.set_trial_tag(trial_id, "domaintune.pareto", "true")
    metrics = {"trials": float(len(trials)), "trials_failed": float(sum(t.status == "FAILED" for t in trials))}
    if best is not None:
        metrics[f"best_validation_{config.metric}"] = best.metric  # type: ignore[assignment]
        if test_score is not None:
            metrics[f"test_{test_metric}"] = test_score
        metrics.update({f"best_cost.{k}": v for k, v in best.cost.items()})
    from domaintune.plots import pareto_figure, sweep_figures

    figures = sweep_figures(callback.order, callback.curves, config.metric, config.mode, {t.trial_id: t.label for t in trials})
    if config.objectives:
        figures["pareto"] = pareto_figure(trials, result.pareto, config.metric, config.objectives[0].metric)
    from domaintune.dashboard import publish_sweep
    from domaintune.reports import SweepInputs

    inputs = SweepInputs(result.to_dict(), config.model_dump(mode="json"), space.spec(), plan.to_dict(), callback.curves)
    result.story = publish_sweep(tracker, inputs, domain)["story"]
    tracker.finish(result.to_dict(), metrics, figures)
    return result


def _result(
    config: SweepConfig,
    domain: Domain,
    tracker: SweepTracker,
    trials: list[TrialSummary],
    best: TrialSummary | None,
    test_score: float | None,
    test_questions: int,
    started: float,
    interrupted: bool = False,
) -> SweepResult:
    from domaintune.strategy import Strategy

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
        test_questions=test_questions,
        best_cost=best.cost if best else {},
        trials=trials,
        tracking_uri=tracker.uri,
        experiment_id=tracker.experiment_id,
        parent_run_id=tracker.parent_id or "",
        seconds=time.perf_counter() - started,
        interrupted=interrupted,
    )
