"""``run_sweep``: a sweep from its config to its result, recorded in MLflow, the chosen strategy scored on test."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError
from domaintune.sweep._recovery import TrialRecord
from domaintune.sweep._results import SweepResult, TrialSummary, best_trial, pareto_front

if TYPE_CHECKING:
    from domaintune.config import SweepConfig
    from domaintune.domains import Domain
    from domaintune.sweep._warm_start import WarmStartPlan
    from domaintune.search_spaces import SearchSpace
    from domaintune.strategy import Strategy
    from domaintune.tracking import SweepTracker

from domaintune.sweep._ray import init_ray, probe_address, ray_session_dir
from domaintune.sweep._resume import _check_storage, _replayable, _restore, _whole_state
from domaintune.sweep._search import _searcher, _tuner
from domaintune.sweep._trial import _tracking_callback, _trainable


def _notice(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


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
    from ray import tune

    from domaintune.sweep._liveness import TAG_HEARTBEAT, TAG_RAY_LOCAL, TAG_SESSION, Heartbeat, SweepBusyError, SweepLock, run_driver_alive, this_driver
    from domaintune.sweep._warm_start import plan_warm_start
    from domaintune.sweep._recovery import (
        TAG_EXPERIMENT_DIR, TAG_KEY, TAG_RESUMED, close_dead_sweep, find_unfinished, live_duplicates, recorded_trials, sweep_key,
    )
    from domaintune.runners import make_runner
    from domaintune.tracking import SweepTracker

    started = time.perf_counter()
    space, domain = _checked(config)
    # Before any run is opened: an unreachable store, a missing model or history, a busy sweep
    # or an unwritable storage folder fails with nothing half-recorded.
    tracker = SweepTracker(config.tracking.uri, config.tracking.experiment)
    key = sweep_key(config)
    storage = Path(config.storage or ".domaintune/ray_results").expanduser().resolve()
    _check_storage(storage)
    ray_address = address or config.address or os.environ.get("RAY_ADDRESS")
    if ray_address and ray_address != "local":
        probe_address(ray_address)  # before any run is opened (init_ray probes again when it joins)
    driver = this_driver()
    label = f"{config.name!r} (config {key})"
    lock = None if allow_duplicate else SweepLock(storage / ".locks", f"{config.name}-{key}", label)
    holder = {**driver.tags(), "host": driver.host, "pid": driver.pid, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "parent_run_id": ""}
    if lock is not None:
        lock.acquire(holder)
    heartbeat: Heartbeat | None = None
    try:
        previous = find_unfinished(tracker.client, tracker.experiment_id, key) if resume else None
        if lock is not None:
            # The file lock covers this storage folder; a driver of the same sweep on another host
            # (another storage folder, the same tracking store) shows by its fresh heartbeat.
            others = [r for r in live_duplicates(tracker.client, tracker.experiment_id, key) if r.data.tags.get("domaintune.driver.pid") != str(driver.pid)]
            if others:
                tags = others[0].data.tags
                raise SweepBusyError(lock.busy_message({
                    "host": tags.get("domaintune.driver.host"), "pid": tags.get("domaintune.driver.pid"),
                    "parent_run_id": others[0].info.run_id, "heartbeat": tags.get(TAG_HEARTBEAT), "started": "-",
                }))
        if resume and previous is None:
            notice(f"resume: no unfinished sweep {label} in {tracker.uri} (experiment {config.tracking.experiment!r}); starting a new one")
        records: list[TrialRecord] = []
        if previous is not None:
            if run_driver_alive(previous.data.tags) is True:
                raise SweepBusyError(f"resume: sweep {label} (MLflow run {previous.info.run_id}) is still running "
                                     f"(pid {previous.data.tags.get('domaintune.driver.pid')} on {previous.data.tags.get('domaintune.driver.host')})")
            closed = close_dead_sweep(tracker.client, previous, "domaintune sweep --resume", close_parent=False)
            records = recorded_trials(tracker.client, tracker.experiment_id, previous.info.run_id, config.metric)
            finished = sum(r.status == "FINISHED" for r in records)
            notice(
                f"resume: sweep {label}, MLflow run {previous.info.run_id}: {finished} finished trial(s) kept, "
                f"{len(closed['closed'])} run(s) the crash left RUNNING marked KILLED"
                + (f", {len(closed['ray_pids_killed'])} leftover Ray process(es) of the dead driver killed" if closed["ray_pids_killed"] else "")
            )
        plan = plan_warm_start(config, domain, space)
        runner = make_runner(config.runner)
        runner.prepare()
        trial_tags = {
            "domaintune.metric": config.metric,
            "domaintune.direction": config.direction,
            "domaintune.base_model": config.runner.model if config.runner.kind == "lm" else f"replay:{config.runner.model}",
            "domaintune.runner": config.runner.kind,
        }
        if previous is not None:
            tracker.attach(previous.info.run_id, trial_tags)
            resumed = int(previous.data.tags.get(TAG_RESUMED, "0")) + 1
            experiment_dir = Path(previous.data.tags.get(TAG_EXPERIMENT_DIR) or storage / f"{config.name}-{previous.info.run_id}")
            tracker.set_tags({**driver.tags(), TAG_RESUMED: str(resumed), TAG_HEARTBEAT: f"{time.time():.0f}"})
        else:
            tracker.start(
                config.name, config.model_dump(mode="json"), space.spec(), domain, trial_tags=trial_tags,
                tags={TAG_KEY: key, **driver.tags(), TAG_HEARTBEAT: f"{time.time():.0f}"},
            )
            experiment_dir = storage / f"{config.name}-{tracker.parent_id}"
            tracker.set_tags({TAG_EXPERIMENT_DIR: str(experiment_dir)})
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    if lock is not None:
        lock.write({**holder, "parent_run_id": tracker.parent_id})

    def beat() -> None:
        tracker.set_tags({TAG_HEARTBEAT: f"{time.time():.0f}"})
        if lock is not None:
            lock.write({**holder, "parent_run_id": tracker.parent_id})

    try:
        heartbeat = Heartbeat(beat).start()
        if (plan.points or plan.earlier) and previous is None:
            tracker.log_dict(plan.to_dict(), "warm_start.json")
        local = init_ray(address or config.address, config.search.worker_niceness)
        tracker.set_tags({TAG_RAY_LOCAL: str(local).lower(), TAG_SESSION: ray_session_dir()})
        done = {r.trial_id: _replayable(r.last) for r in records if r.status == "FINISHED"}
        callback = _tracking_callback(tracker, space, domain, config.metric, records, notice)
        trainable = tune.with_resources(
            tune.with_parameters(
                _trainable, domain=domain, settings=config.runner, fixed=space.fixed, done=done, gpu_fraction=config.search.gpus_per_trial
            ),
            {"cpu": config.search.cpus_per_trial, "gpu": config.search.gpus_per_trial},
        )
        # Save Ray's experiment state at every step (its default waits 10 s or more): a crash then
        # loses at most the trials of the last step, never one MLflow already holds as finished.
        os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "0")
        if previous is not None and _whole_state(experiment_dir, notice) and tune.Tuner.can_restore(str(experiment_dir)):
            tuner = _restore(experiment_dir, trainable, callback, verbose, records, space)
        else:
            # A crash before Ray saved anything: search anew, told what finished, for what is left.
            told = [r for r in records if r.status == "FINISHED"]
            num_samples = max(1, config.search.num_samples - sum(r.status in ("FINISHED", "FAILED") for r in records))
            searcher = _searcher(config, space, plan, told=told, metric=config.metric)
            tuner = _tuner(config, space, searcher, trainable, experiment_dir, callback, verbose, num_samples)
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
        if heartbeat is not None:
            heartbeat.stop()
        if lock is not None:
            lock.release()


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
        if callback.strategies[best.trial_id].trains:
            # Reused from this disk, or retrained here because the trial ran on another node.
            reused = bool(adapter_dir) and (Path(adapter_dir) / "adapter_config.json").exists()
            tracker.set_tags({"domaintune.test_adapter": "reused" if reused else "retrained"})
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
    from domaintune.reports import pareto_figure, sweep_figures

    figures = sweep_figures(callback.order, callback.curves, config.metric, config.mode, {t.trial_id: t.label for t in trials})
    if config.objectives:
        figures["pareto"] = pareto_figure(trials, result.pareto, config.metric, config.objectives[0].metric)
    from domaintune.sweep._publish import publish_sweep
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
