"""What to try next and when to stop: OptunaSearch (TPE) warm-started from the plan, ASHA, the Tuner."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.history import strategy_key
from domaintune.sweep._resume import _answer
from domaintune.tracking import TrialRun

if TYPE_CHECKING:
    from domaintune.config import SweepConfig
    from domaintune.sweep._warm_start import WarmStartPlan
    from domaintune.search_spaces import SearchSpace


def _searcher(
    config: SweepConfig, space: SearchSpace, plan: WarmStartPlan, told: list[TrialRun] | None = None, metric: str | None = None
) -> Any:
    import optuna
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    from domaintune.sweep._answers import Answering

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
    # A repeat of these strategies is answered from their runs (earlier sweeps of the same settings).
    answers = {strategy_key(space.strategy(a.point).active()): {"run_id": a.run_id, "result": a.result} for a in plan.answers}
    for record in told or []:  # a resumed sweep's finished trials, when Ray kept no state to restore
        if record.config and metric in record.last and not multi:
            searcher.add_evaluated_point(record.config, float(record.last[metric]))
        if (answer := _answer(record, metric)) is not None:
            answers[strategy_key(space.strategy(record.config or {}).active())] = answer
    limited = ConcurrencyLimiter(searcher, max_concurrent=config.search.max_concurrent)
    return Answering(limited, space, answers)


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


def _tuner(
    config: SweepConfig, space: SearchSpace, searcher: Any, trainable: Any, experiment_dir: Path, callback: Any, verbose: int, num_samples: int
) -> Any:
    from ray import tune

    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=_scheduler(config, space),
            num_samples=num_samples,
            reuse_actors=config.search.reuse_actors,
        ),
        run_config=tune.RunConfig(
            name=experiment_dir.name,
            storage_path=str(experiment_dir.parent),
            callbacks=[callback],
            verbose=verbose,
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
        ),
    )
