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
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError
from domaintune.recovery import TAG_ADAPTER, TAG_TRIAL_CONFIG, TrialRecord
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


def _trainable(
    params: dict[str, Any],
    domain: Domain,
    settings: RunnerSettings,
    fixed: dict[str, Any],
    done: dict[str, dict[str, Any]] | None = None,
    gpu_fraction: float = 0.0,
) -> None:
    """One trial, inside a Ray worker: build the strategy, run it bare, forward its reports.

    A resumed sweep passes ``done``: the final results of trials MLflow already holds as
    FINISHED. Such a trial is not run again; its recorded result is reported back at once, so
    the scheduler and the search see it and the driver records nothing twice.
    """
    import ray
    from ray import tune

    from domaintune.runners import make_runner
    from domaintune.strategy import Strategy

    context = tune.get_context()
    where = {"node_id": ray.get_runtime_context().get_node_id(), "worker_nice": os.getpriority(os.PRIO_PROCESS, 0)}
    if done and context.get_trial_id() in done:
        tune.report({**done[context.get_trial_id()], **where, "replayed_from_mlflow": 1})
        return
    if 0 < gpu_fraction < 1:
        from domaintune.runners import cap_gpu_memory

        cap_gpu_memory(gpu_fraction)
    strategy = Strategy.from_dict({**fixed, **params}, where="trial")
    trial_dir = Path(context.get_trial_dir())
    adapter_dir = str(trial_dir / "adapter")
    runner = make_runner(settings)

    def report(step: int, metrics: dict[str, float], cost: dict[str, float]) -> None:
        costs = {f"cost.{k}": v for k, v in cost.items()}
        extra = {"device": str(getattr(runner, "device", "cpu")), "trial_dir": str(trial_dir)}
        tune.report({**metrics, **costs, **where, **extra, "step": step, "adapter_dir": adapter_dir if strategy.trains else ""})

    result = runner.run(domain, strategy, report=report, adapter_dir=adapter_dir)
    if result.question_ids and result.outcomes is not None:
        # The last report's per-question outcomes: a challenger is compared with its champion on them.
        (trial_dir / OUTCOMES_FILE).write_text(json.dumps({
            "step": result.steps, "metrics": result.metrics, "question_ids": result.question_ids, "outcomes": result.outcomes,
        }))


def _tracking_callback(
    tracker: SweepTracker,
    space: SearchSpace,
    domain: Domain,
    metric: str,
    records: list[TrialRecord] | None = None,
    notice: Callable[[str], None] | None = None,
) -> Any:
    from ray.tune import Callback

    from domaintune.strategy import Strategy

    class TrackingCallback(Callback):
        """Turns Ray trial events into MLflow child runs (driver side); keeps what the driver saw.

        A resumed sweep starts from ``records`` (MLflow's view of the sweep so far): its finished
        and failed trials count as seen, and their events (a finished trial replayed) are not
        recorded twice.
        """

        def __init__(self) -> None:
            self.order: list[str] = []
            self.strategies: dict[str, Strategy] = {}  # built once per trial, here
            self.curves: dict[str, list[tuple[int, float]]] = {}  # the metric at every report
            self.last: dict[str, dict[str, Any]] = {}
            self.status: dict[str, str] = {}
            self.errors: dict[str, str] = {}
            self.done: set[str] = set()  # trials already closed in MLflow before this driver
            self.nodes: dict[str, str] = {}
            self._warned_nice = False
            # Set by a restore: called once with Ray's restored trials before the first step.
            self.on_restored: Callable[[list], None] | None = None
            for record in records or []:
                if record.status not in ("FINISHED", "FAILED"):
                    continue  # a killed attempt: Ray runs the trial again and it is recorded anew
                self.order.append(record.trial_id)
                self.strategies[record.trial_id] = space.strategy(record.config) if record.config else Strategy.from_dict(record.strategy)
                self.curves[record.trial_id] = list(record.curve)
                self.last[record.trial_id] = dict(record.last)
                self.status[record.trial_id] = record.status
                if record.error:
                    self.errors[record.trial_id] = record.error
                self.done.add(record.trial_id)
                tracker.trial_runs[record.trial_id] = record.run_id

        def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
            if self.on_restored is not None:
                hook, self.on_restored = self.on_restored, None
                hook(trials)

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            if trial.trial_id in self.done:
                return
            strategy = space.strategy(trial.config)
            if trial.trial_id not in self.order:
                self.order.append(trial.trial_id)
            self.strategies[trial.trial_id] = strategy
            self.curves[trial.trial_id] = []
            self.last.pop(trial.trial_id, None)
            number = self.order.index(trial.trial_id) + 1
            # Only the levers that matter: a child lever is not recorded when its parent is off.
            tracker.start_trial(
                trial.trial_id,
                strategy.active(),
                domain,
                label=f"{number} · {strategy.describe()}",
                tags={TAG_TRIAL_CONFIG: json.dumps(trial.config, sort_keys=True, default=str)},
            )

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            if trial.trial_id in self.done:
                return
            if trial.trial_id not in self.nodes and result.get("node_id"):
                self.nodes[trial.trial_id] = str(result["node_id"])
                tags = {"domaintune.node_id": str(result["node_id"]), "domaintune.node_ip": str(result.get("node_ip", "")),
                        "domaintune.hostname": str(result.get("hostname", "")), "domaintune.worker_nice": str(result.get("worker_nice", "")),
                        "domaintune.device": str(result.get("device", ""))}
                for key, value in tags.items():
                    if value:
                        tracker.set_trial_tag(trial.trial_id, key, value)
                self._check_nice(result.get("worker_nice"))
            step = int(result.get("step", 0))
            values = {k: v for k, v in result.items() if k == metric or k == "train_loss" or k.startswith("cost.")}
            tracker.log_trial_metrics(trial.trial_id, step, values)
            if metric in result:
                self.curves[trial.trial_id].append((step, float(result[metric])))
            self.last[trial.trial_id] = result

        def _check_nice(self, worker_nice: Any) -> None:
            if self._warned_nice or worker_nice is None or notice is None:
                return
            own = os.getpriority(os.PRIO_PROCESS, 0)
            if int(worker_nice) > own:
                self._warned_nice = True
                notice(
                    f"note: trials run at nice {worker_nice} (this driver at {own}): on a shared machine they yield to every "
                    "other process and the sweep can crawl. Ray sets it (worker_niceness, default 15): a local Ray here "
                    "takes search.worker_niceness; start a cluster's nodes with RAY_worker_niceness=0 in their environment."
                )

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            if trial.trial_id in self.done:
                return
            early = self._stopped_early(trial.trial_id)
            tags = {"domaintune.stopped_early": str(early).lower()}
            adapter = str(self.last.get(trial.trial_id, {}).get("adapter_dir", ""))
            if adapter:
                tags[TAG_ADAPTER] = adapter
            tracker.end_trial(trial.trial_id, "FINISHED", tags=tags)
            self.status[trial.trial_id] = "FINISHED"

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            if trial.trial_id in self.done:
                return
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


def probe_address(address: str, timeout: float = 5.0) -> None:
    """Fail fast when nothing listens at a Ray address: ``ray.init`` would retry for minutes.

    ``auto`` is resolved the way Ray does (``$RAY_ADDRESS``, else the cluster Ray's temp folder
    last named, which may be a dead one); ``ray://`` (Ray Client) is probed on its port too.
    """
    target = address
    if address == "auto":
        from ray._private.services import get_ray_address_from_environment

        try:
            target = get_ray_address_from_environment(address, None)
        except Exception as error:  # noqa: BLE001 - Ray raises several kinds for "no cluster"
            raise ConfigError(f"address: 'auto' names no running Ray cluster ({error})") from None
        if not target or target == "auto":
            raise ConfigError("address: 'auto' names no running Ray cluster; start one (ray start --head) or leave address unset")
    hostport = target.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"address: {address!r} is not host:port, ray://host:port or auto")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise ConfigError(
            f"address: the Ray cluster at {address!r} is unreachable ({host}:{port}: {error.strerror or error}); "
            "start it (ray start --head) or leave address unset for a local Ray"
        ) from None


def init_ray(address: str | None, worker_niceness: int | None = None) -> bool:
    """Join the configured cluster (``address``, else ``$RAY_ADDRESS``), else start a local Ray.

    With no address, ``address="local"`` always starts a fresh local Ray: a plain ``ray.init()``
    would try to join whatever cluster Ray's temp folder last named, even a dead one. A local
    Ray runs its trial processes at ``worker_niceness`` (Ray's own default, 15, makes a sweep
    crawl on a machine that other work shares). Returns whether this process started the Ray.
    """
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")
    env = {"env_vars": WORKER_ENV}
    if not address or address == "local":
        if worker_niceness is not None:
            # The raylet reads its settings from RAY_<name> in the environment it inherits from here.
            os.environ.setdefault("RAY_worker_niceness", str(worker_niceness))
        for attempt in (1, 2):
            try:
                ray.init(address="local", include_dashboard=False, runtime_env=env, log_to_driver=False)
                return True
            except Exception as error:  # noqa: BLE001 - Ray raises a bare Exception for this
                # Ray gives its raylet a fixed 30 s to register; an overloaded machine can miss
                # that once. Start again rather than fail the sweep (its runs are already open).
                if attempt == 2 or "timed out during startup" not in str(error):
                    raise
                ray.shutdown()
    probe_address(address)
    try:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as error:
        raise ConfigError(f"address: the Ray cluster at {address!r} is unreachable ({type(error).__name__}: {error})") from None
    return False


def ray_session_dir() -> str:
    """The session folder of the Ray this driver is connected to (where its processes keep logs)."""
    import ray

    node = ray._private.worker._global_node  # no public accessor for the session folder
    return str(node.get_session_dir_path()) if node is not None else ""


def _searcher(
    config: SweepConfig, space: SearchSpace, plan: WarmStartPlan, told: list[TrialRecord] | None = None, metric: str | None = None
) -> Any:
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
    for record in told or []:  # a resumed sweep's finished trials, when Ray kept no state to restore
        if record.config and metric in record.last and not multi:
            searcher.add_evaluated_point(record.config, float(record.last[metric]))
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

    from domaintune.liveness import TAG_HEARTBEAT, TAG_RAY_LOCAL, TAG_SESSION, Heartbeat, SweepBusyError, SweepLock, run_driver_alive, this_driver
    from domaintune.meta import plan_warm_start
    from domaintune.recovery import (
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


def _check_storage(storage: Path) -> None:
    """The Ray storage folder must be writable (and have room) before any run is opened."""
    import shutil
    import tempfile

    from domaintune.errors import DomaintuneError

    try:
        storage.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=storage, prefix=".write-check-") as probe:
            probe.write(b"x" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise DomaintuneError(f"storage: cannot write to the Ray storage folder {storage}: {error.strerror or error}") from None
    free = shutil.disk_usage(storage).free
    if free < MIN_FREE_BYTES:
        raise DomaintuneError(f"storage: only {free / 2**20:.0f} MiB free in {storage}; a sweep needs at least {MIN_FREE_BYTES / 2**20:.0f} MiB")


MIN_FREE_BYTES = 64 * 2**20  # experiment state, trial folders and adapters of a small sweep


def _whole_state(experiment_dir: Path, notice: Callable[[str], None]) -> bool:
    """Whether Ray left a readable experiment state. A driver killed while Ray wrote it leaves a
    cut file, which Ray's restore reads as the newest and fails on (then starts a sweep that
    thinks it is done): such files are set aside so the last whole state is restored."""
    states = sorted(experiment_dir.glob("experiment_state-*.json"))
    for path in reversed(states):
        try:
            json.loads(path.read_text())
            return True
        except (OSError, ValueError):
            path.rename(path.with_name(path.name + ".cut"))
            notice(f"resume: Ray's experiment state {path.name} was cut short by the crash; set aside")
    return False


def _replayable(last: dict[str, Any]) -> dict[str, Any]:
    """A recorded final result as a trial reports it again (numbers and the adapter folder)."""
    return {k: v for k, v in last.items() if isinstance(v, (int, float)) or k == "adapter_dir"}


def _restore(experiment_dir: Path, trainable: Any, callback: Any, verbose: int, records: list[TrialRecord], space: SearchSpace) -> Any:
    """Ray's own restore of a killed sweep: finished trials stay finished, the ones running at the
    crash run again, the searcher comes back whole; our callback replaces the pickled one."""
    from ray import tune

    searcher_saved = any(experiment_dir.glob("searcher-state-*.pkl"))
    tuner = tune.Tuner.restore(str(experiment_dir), trainable, resume_unfinished=True, resume_errored=False, restart_errored=False)
    internal = tuner._local_tuner  # Tuner.restore takes no RunConfig: the new driver's callback goes in here
    internal._run_config.callbacks = [callback]
    internal._run_config.verbose = verbose
    limiter = internal._tune_config.search_alg
    finished = {r.trial_id: r for r in records if r.status == "FINISHED" and r.config}

    def tell(trials: list) -> None:
        """Finished trials the restored search does not know are told to Optuna again: all of them
        when Ray lost the searcher's state, else those Ray's last saved state did not hold yet."""
        status = {t.trial_id: t.status for t in trials}
        base = getattr(limiter, "searcher", limiter)
        metric = base.metric if isinstance(base.metric, str) else None
        for trial_id, record in finished.items():
            # A trial Ray restored as unfinished is replayed from MLflow and told through Ray itself.
            if trial_id in status and (searcher_saved or status[trial_id] != "TERMINATED"):
                continue
            if metric is None or metric not in record.last:
                continue
            base.add_evaluated_point(record.config, float(record.last[metric]))

    callback.on_restored = tell
    return tuner


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
