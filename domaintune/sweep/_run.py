"""``run_sweep``: a sweep from its config to its result, recorded in MLflow, the chosen strategy scored on test."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError
from domaintune.sweep._driver import Driver, claim, open_parent, previous_sweep
from domaintune.sweep._liveness import Heartbeat
from domaintune.sweep._ray import init_ray, ray_session_dir
from domaintune.sweep._results import SweepResult, TrialSummary, best_trial, pareto_front, repeated_evaluations
from domaintune.sweep._resume import _replayable, _restore, _whole_state
from domaintune.sweep._search import _searcher, _tuner
from domaintune.sweep._trial import _trainable
from domaintune.sweep._warm_start import WarmStartPlan, plan_warm_start
from domaintune.tracking import Tag, TrialRun

if TYPE_CHECKING:
    from domaintune.config import SweepConfig
    from domaintune.domains import Domain
    from domaintune.search_spaces import SearchSpace
    from domaintune.sweep._recorder import TrialRecorder


def _notice(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_sweep(
    config: SweepConfig,
    address: str | None = None,
    verbose: int = 1,
    resume: bool = False,
    allow_duplicate: bool = False,
    notice: Callable[[str], None] = _notice,
) -> SweepResult:
    """Run the sweep the config describes; record it in MLflow; score the best strategy on test.

    ``resume`` continues the latest unfinished sweep of the same config (same tracking store,
    same Ray storage) under its parent run, or starts a new one when there is none. The same
    sweep already running elsewhere is refused (``SweepBusyError``) unless ``allow_duplicate``.
    """
    started = time.perf_counter()
    space, domain = _checked(config)
    driver = claim(config, address, allow_duplicate)
    try:
        sweep = _prepare(driver, space, domain, resume, notice)
    except BaseException:
        driver.release()
        raise
    driver.mark()
    heartbeat: Heartbeat | None = None
    try:
        heartbeat = Heartbeat(driver.beat).start()
        recorder, tuner = _tuner_for(sweep, address, verbose)
        fit_started = time.perf_counter()
        tuner.fit()
        driver.tracker.flush()
        timings = {"setup": fit_started - started, "fit": time.perf_counter() - fit_started}
        return _finish(sweep, recorder, started, timings)
    except KeyboardInterrupt:
        driver.tracker.close("KILLED", error="sweep interrupted (KeyboardInterrupt)")
        raise
    except BaseException as error:
        driver.tracker.close("FAILED", error=f"{type(error).__name__}: {error}")
        raise
    finally:
        driver.tracker.close("KILLED")
        if heartbeat is not None:
            heartbeat.stop()
        driver.release()


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


@dataclass
class _Sweep:
    """A sweep ready to tune: claimed, planned, its runner checked and its parent run open."""

    driver: Driver
    space: SearchSpace
    domain: Domain
    plan: WarmStartPlan
    runner: Any
    records: list[TrialRun]  # a resumed sweep's trials as MLflow holds them
    experiment_dir: Path  # Ray's experiment folder
    resumed: bool
    notice: Callable[[str], None]

    @property
    def config(self) -> SweepConfig:
        return self.driver.config


def _prepare(driver: Driver, space: SearchSpace, domain: Domain, resume: bool, notice: Callable[[str], None]) -> _Sweep:
    """The resumed sweep's records, the warm-start plan, the runner checked, then the parent run opened."""
    from domaintune.runners import make_runner

    previous, records = previous_sweep(driver, resume, notice)
    plan = plan_warm_start(driver.config, domain, space, skip_parent=previous.info.run_id if previous is not None else "")
    runner = make_runner(driver.config.runner)
    runner.prepare()
    experiment_dir = open_parent(driver, space, domain, previous)
    return _Sweep(driver, space, domain, plan, runner, records, experiment_dir, previous is not None, notice)


def _tuner_for(sweep: _Sweep, address: str | None, verbose: int) -> tuple[TrialRecorder, Any]:
    """Ray started or joined, and a Tuner: Ray's restore of a resumed sweep, else a new search."""
    from ray import tune

    from domaintune.sweep._recorder import TrialRecorder

    config, tracker, records = sweep.config, sweep.driver.tracker, sweep.records
    if (sweep.plan.points or sweep.plan.earlier or sweep.plan.answers) and not sweep.resumed:
        tracker.log_dict(sweep.plan.to_dict(), "warm_start.json")
    local = init_ray(address or config.address, config.search.worker_niceness)
    tracker.set_tags({Tag.RAY_LOCAL: str(local).lower(), Tag.RAY_SESSION: ray_session_dir()})
    recorder = TrialRecorder(tracker, sweep.space, sweep.domain, config.metric, records, sweep.notice)
    trainable = _trainable_for(sweep)
    # How often Ray saves its experiment state (its size grows with the trials: saved at every
    # step, a 1,000-trial sweep spends most of its time there). The queued MLflow writes land
    # before each save (TrialRecorder.get_state), and a resume replays from MLflow what Ray's
    # last save did not hold yet, so a longer period costs a crash no evaluation.
    os.environ["TUNE_GLOBAL_CHECKPOINT_S"] = str(config.search.snapshot_seconds)
    # Tune's own per-trial files (progress.csv, result.json, TensorBoard events: an fsync per
    # report) are read by nothing here: MLflow holds the record.
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    if sweep.resumed and _whole_state(sweep.experiment_dir, sweep.notice) and tune.Tuner.can_restore(str(sweep.experiment_dir)):
        return recorder, _restore(sweep.experiment_dir, trainable, recorder, verbose, records, sweep.space)
    # A crash before Ray saved anything: search anew, told what finished, for what is left.
    told = [r for r in records if r.status == "FINISHED"]
    num_samples = max(1, config.search.num_samples - sum(r.status in ("FINISHED", "FAILED") for r in records))
    searcher = _searcher(config, sweep.space, sweep.plan, told=told, metric=config.metric)
    return recorder, _tuner(config, sweep.space, searcher, trainable, sweep.experiment_dir, recorder, verbose, num_samples)


def _trainable_for(sweep: _Sweep) -> Any:
    """The trainable with this sweep's domain, runner and resources; a resumed sweep's finished trials replay."""
    from ray import tune

    config = sweep.config
    done = {r.trial_id: _replayable(r.last) for r in sweep.records if r.status == "FINISHED"}
    return tune.with_resources(
        tune.with_parameters(
            _trainable, domain=sweep.domain, settings=config.runner, fixed=sweep.space.fixed, done=done, gpu_fraction=config.search.gpus_per_trial
        ),
        {"cpu": config.search.cpus_per_trial, "gpu": config.search.gpus_per_trial},
    )


def _finish(sweep: _Sweep, recorder: TrialRecorder, started: float, timings: dict[str, float]) -> SweepResult:
    """After the search: an interrupted sweep is closed KILLED; a whole one gets its best trial, its
    test score, the Pareto front, and is published (the parent run's metrics, figures, report)."""
    config, tracker = sweep.config, sweep.driver.tracker
    trials = recorder.summaries()
    if any(t.status == "KILLED" for t in trials):
        for trial in trials:
            if trial.status == "KILLED":
                tracker.end_trial(trial.trial_id, "KILLED")
        tracker.close("KILLED", error="sweep interrupted")
        return _result(sweep, trials, None, None, 0, started, interrupted=True)
    best = best_trial(trials, config.mode)
    test_metric, test_score, test_questions = _score_test(sweep, recorder, best, timings)
    result = _result(sweep, trials, best, test_score, test_questions, started)
    result.timings = timings
    if config.objectives:
        result.pareto = pareto_front(trials, [(config.metric, config.mode)] + [(o.metric, o.mode) for o in config.objectives])
        for trial_id in result.pareto:
            tracker.set_trial_tag(trial_id, Tag.PARETO, "true")
    metrics = {
        "trials": float(len(trials)), "trials_failed": float(sum(t.status == "FAILED" for t in trials)),
        "trials_answered": float(result.answered), "repeated_evaluations": float(result.repeated_evaluations),
    }
    if best is not None:
        metrics[f"best_validation_{config.metric}"] = best.metric  # type: ignore[assignment]
        if test_score is not None:
            metrics[f"test_{test_metric}"] = test_score
        metrics.update({f"best_cost.{k}": v for k, v in best.cost.items()})
    _publish(sweep, recorder, result, metrics)
    return result


def _score_test(sweep: _Sweep, recorder: TrialRecorder, best: TrialSummary | None, timings: dict[str, float]) -> tuple[str, float | None, int]:
    """The best strategy's test metric, score and questions (the test split's only use)."""
    from domaintune.domains import TASK_METRICS
    from domaintune.runners import score_test

    config = sweep.config
    if best is None:
        return config.metric, None, 0
    test_started = time.perf_counter()
    strategy = recorder.strategies[best.trial_id]
    adapter_dir = str(recorder.last[best.trial_id].get("adapter_dir", ""))
    outcome = score_test(sweep.runner, sweep.domain, strategy, best.steps, adapter_dir)
    # A training-time metric (train_loss) has no test value: the task metric stands in for it.
    test_metric = config.metric if config.metric in outcome.metrics else TASK_METRICS[sweep.domain.task][0]
    timings["test"] = time.perf_counter() - test_started
    if strategy.trains:
        # Reused from this disk, or retrained here because the trial ran on another node.
        reused = bool(adapter_dir) and (Path(adapter_dir) / "adapter_config.json").exists()
        sweep.driver.tracker.set_tags({Tag.TEST_ADAPTER: "reused" if reused else "retrained"})
    return test_metric, outcome.metrics.get(test_metric), outcome.questions


def _publish(sweep: _Sweep, recorder: TrialRecorder, result: SweepResult, metrics: dict[str, float]) -> None:
    """The parent run's figures, story, report and description, then its metrics and summary; closes it."""
    from domaintune.reports import SweepInputs, pareto_png, sweep_pngs
    from domaintune.sweep._publish import publish_sweep

    config, tracker = sweep.config, sweep.driver.tracker
    figures = sweep_pngs(recorder.order, recorder.curves, config.metric, config.mode, {t.trial_id: t.label for t in result.trials})
    if config.objectives:
        figures["pareto"] = pareto_png(result.trials, result.pareto, config.metric, config.objectives[0].metric)
    inputs = SweepInputs(result.to_dict(), config.model_dump(mode="json"), sweep.space.spec(), sweep.plan.to_dict(), recorder.curves)
    result.story = publish_sweep(tracker, inputs, sweep.domain)["story"]
    tracker.finish(result.to_dict(), metrics, figures)


def _result(
    sweep: _Sweep,
    trials: list[TrialSummary],
    best: TrialSummary | None,
    test_score: float | None,
    test_questions: int,
    started: float,
    interrupted: bool = False,
) -> SweepResult:
    from domaintune.strategy import Strategy

    config, tracker = sweep.config, sweep.driver.tracker
    return SweepResult(
        name=config.name,
        domain=sweep.domain.name,
        domain_fingerprint=sweep.domain.fingerprint,
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
        answered=sum(bool(t.answered_from) for t in trials),
        repeated_evaluations=repeated_evaluations(trials),
    )
