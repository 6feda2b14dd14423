"""The driver-side Ray callback that turns trial events into MLflow child runs and keeps what the driver saw.

Imported only when a sweep runs: it subclasses Ray Tune's ``Callback``, so importing it imports Ray.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray.tune import Callback

from domaintune.strategy import Strategy
from domaintune.sweep._answers import split_answer
from domaintune.sweep._results import TrialSummary
from domaintune.sweep._trial import trial_outcomes
from domaintune.tracking import Tag, TrialRun

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.search_spaces import SearchSpace
    from domaintune.tracking import SweepTracker

CLOSED = ("FINISHED", "FAILED")  # a trial in one of these states is not run again on resume


class TrialRecorder(Callback):
    """Turns Ray trial events into MLflow child runs (driver side); keeps what the driver saw.

    A resumed sweep starts from ``records`` (MLflow's view of the sweep so far): its finished
    and failed trials count as seen, and their events (a finished trial replayed) are not
    recorded twice.
    """

    def __init__(
        self,
        tracker: SweepTracker,
        space: SearchSpace,
        domain: Domain,
        metric: str,
        records: list[TrialRun] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.tracker, self.space, self.domain, self.metric, self.notice = tracker, space, domain, metric, notice
        self.order: list[str] = []
        self.strategies: dict[str, Strategy] = {}  # built once per trial, here
        self.curves: dict[str, list[tuple[int, float]]] = {}  # the metric at every report
        self.last: dict[str, dict[str, Any]] = {}
        self.status: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.done: set[str] = set()  # trials already closed in MLflow before this driver
        self.nodes: dict[str, str] = {}
        self.answered: dict[str, str] = {}  # trial id -> the run its recorded answer came from
        self._warned_nice = False
        # Set by a restore: called once with Ray's restored trials before the first step.
        self.on_restored: Callable[[list], None] | None = None
        for record in records or []:
            if record.status in CLOSED:  # else a killed attempt: Ray runs the trial again and it is recorded anew
                self._recall(record)

    def _recall(self, record: TrialRun) -> None:
        """A trial MLflow already holds closed, as if this driver had seen it."""
        trial_id = record.trial_id
        self.order.append(trial_id)
        self.strategies[trial_id] = self.space.strategy(record.config) if record.config else Strategy.from_dict(record.strategy)
        self.curves[trial_id] = list(record.curve)
        self.last[trial_id] = dict(record.last)
        self.status[trial_id] = record.status
        if record.error:
            self.errors[trial_id] = record.error
        if record.answered_from:
            self.answered[trial_id] = record.answered_from
        self.done.add(trial_id)
        self.tracker.trial_runs[trial_id] = record.run_id

    def get_state(self) -> dict | None:
        """Called as Ray saves its experiment state, before that state reaches the sweep's storage:
        the queued MLflow writes land first, so MLflow is never behind what a resume restores."""
        self.tracker.flush()
        return None

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        if self.on_restored is not None:
            hook, self.on_restored = self.on_restored, None
            hook(trials)

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if trial.trial_id in self.done:
            return
        point, answer = split_answer(trial.config)
        strategy = self.space.strategy(point)
        if trial.trial_id not in self.order:
            self.order.append(trial.trial_id)
        self.strategies[trial.trial_id] = strategy
        self.curves[trial.trial_id] = []
        self.last.pop(trial.trial_id, None)
        number = self.order.index(trial.trial_id) + 1
        tags = {Tag.TRIAL_CONFIG: json.dumps(point, sort_keys=True, default=str)}
        if answer is not None:  # a repeat: named by the run that scored it (this sweep's trial, or an earlier sweep's run)
            self.answered[trial.trial_id] = answer.get("run_id") or self.tracker.trial_runs.get(answer.get("trial_id", ""), "")
            tags[Tag.ANSWERED_FROM] = self.answered[trial.trial_id]
        # Only the levers that matter: a child lever is not recorded when its parent is off.
        self.tracker.start_trial(trial.trial_id, strategy.active(), self.domain, label=f"{number} · {strategy.describe()}", tags=tags)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if trial.trial_id in self.done:
            return
        where = self._record_node(trial.trial_id, result) if trial.trial_id not in self.nodes and result.get("node_id") else {}
        step = int(result.get("step", 0))
        values = {k: v for k, v in result.items() if k == self.metric or k == "train_loss" or k.startswith("cost.")}
        self.tracker.log_trial_metrics(trial.trial_id, step, values, tags=where)
        if self.metric in result:
            self.curves[trial.trial_id].append((step, float(result[self.metric])))
        self.last[trial.trial_id] = result

    def _record_node(self, trial_id: str, result: dict) -> dict[str, str]:
        """Where a trial runs (its first report says): the Ray node, the host, the niceness, the device;
        the tags go with that report's metrics."""
        self.nodes[trial_id] = str(result["node_id"])
        tags = {
            Tag.NODE_ID: str(result["node_id"]), Tag.NODE_IP: str(result.get("node_ip", "")), Tag.HOSTNAME: str(result.get("hostname", "")),
            Tag.WORKER_NICE: str(result.get("worker_nice", "")), Tag.DEVICE: str(result.get("device", "")),
        }
        self._check_nice(result.get("worker_nice"))
        return {key: value for key, value in tags.items() if value}

    def _check_nice(self, worker_nice: Any) -> None:
        if self._warned_nice or worker_nice is None or self.notice is None:
            return
        own = os.getpriority(os.PRIO_PROCESS, 0)
        if int(worker_nice) > own:
            self._warned_nice = True
            self.notice(
                f"note: trials run at nice {worker_nice} (this driver at {own}): on a shared machine they yield to every "
                "other process and the sweep can crawl. Ray sets it (worker_niceness, default 15): a local Ray here "
                "takes search.worker_niceness; start a cluster's nodes with RAY_worker_niceness=0 in their environment."
            )

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if trial.trial_id in self.done:
            return
        tags = {Tag.STOPPED_EARLY: str(self._stopped_early(trial.trial_id)).lower()}
        last = self.last.get(trial.trial_id, {})
        adapter = str(last.get("adapter_dir", ""))
        if adapter:
            tags[Tag.ADAPTER_DIR] = adapter
        outcomes = trial_outcomes(str(last.get("trial_dir", "")))
        if outcomes is not None:
            self.tracker.log_trial_outcomes(trial.trial_id, outcomes)
        self.tracker.end_trial(trial.trial_id, "FINISHED", tags=tags)
        self.status[trial.trial_id] = "FINISHED"

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if trial.trial_id in self.done:
            return
        error = _trial_error(trial)
        self.tracker.end_trial(trial.trial_id, "FAILED", error=error)
        self.status[trial.trial_id] = "FAILED"
        self.errors[trial.trial_id] = error.strip().splitlines()[-1] if error.strip() else error

    def _stopped_early(self, trial_id: str) -> bool:
        return self.strategies[trial_id].cut_short(int(self.last.get(trial_id, {}).get("step", 0)))

    def summaries(self) -> list[TrialSummary]:
        """One summary per started trial, from what the driver saw; a trial never ended was KILLED."""
        return [self._summary(trial_id) for trial_id in self.order]

    def _summary(self, trial_id: str) -> TrialSummary:
        last, strategy = self.last.get(trial_id, {}), self.strategies[trial_id]
        return TrialSummary(
            trial_id=trial_id,
            strategy=strategy.model_dump(),
            status=self.status.get(trial_id, "KILLED"),
            metric=float(last[self.metric]) if self.metric in last else None,
            steps=int(last.get("step", 0)),
            cost={k[len("cost.") :]: float(v) for k, v in last.items() if k.startswith("cost.")},
            stopped_early=self._stopped_early(trial_id),
            error=self.errors.get(trial_id),
            label=strategy.describe(),
            run_id=self.tracker.trial_runs.get(trial_id, ""),
            adapter_dir=str(last.get("adapter_dir", "") or ""),
            trial_dir=str(last.get("trial_dir", "") or ""),
            answered_from=self.answered.get(trial_id, ""),
        )


def _trial_error(trial: Any) -> str:
    """The failed trial's traceback: Ray writes it beside the trial before calling back."""
    path = trial.error_file
    if path and Path(path).exists():
        return Path(path).read_text()
    return str(trial.get_error() or "trial failed (Ray recorded no error text)")
