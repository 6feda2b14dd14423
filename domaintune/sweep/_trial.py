"""One trial inside a Ray worker (the trainable) and the driver-side callback that turns trial events into MLflow child runs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.sweep._recovery import TAG_ADAPTER, TAG_TRIAL_CONFIG, TrialRecord
from domaintune.sweep._results import TrialSummary

if TYPE_CHECKING:
    from domaintune.domains import Domain
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


def trial_outcomes(trial_dir: str) -> dict[str, Any] | None:
    """What a finished trial's worker wrote in its folder (OUTCOMES_FILE: step, metrics, question
    ids, per-question outcomes), or None: no folder, a trial stopped early, or a folder on another node."""
    path = Path(trial_dir) / OUTCOMES_FILE if trial_dir else None
    if path is None or not path.is_file():
        return None
    return json.loads(path.read_text())


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
            last = self.last.get(trial.trial_id, {})
            adapter = str(last.get("adapter_dir", ""))
            if adapter:
                tags[TAG_ADAPTER] = adapter
            outcomes = trial_outcomes(str(last.get("trial_dir", "")))
            if outcomes is not None:
                tracker.log_trial_outcomes(trial.trial_id, outcomes)
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
