"""The driver's hold on a sweep: claimed before any run is opened, then its parent run opened or resumed.

A sweep is claimed (tracking store reached, Ray storage writable, Ray reachable, the same-sweep
lock taken) before anything is recorded, so a failure there leaves nothing half-recorded. A
driver of the same sweep elsewhere refuses this one (``SweepBusyError``); a resumed sweep
first closes what its dead driver left RUNNING and reads back the trials MLflow holds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.sweep._liveness import driver_tags, run_driver_alive
from domaintune.sweep._lock import Holder, SweepBusyError, SweepLock
from domaintune.sweep._ray import probe_address
from domaintune.sweep._recovery import close_dead_sweep, live_duplicates, sweep_key
from domaintune.sweep._resume import _check_storage
from domaintune.tracking import Tag, TrialRun

if TYPE_CHECKING:
    from domaintune.config import SweepConfig
    from domaintune.domains import Domain
    from domaintune.search_spaces import SearchSpace
    from domaintune.tracking import SweepTracker


@dataclass
class Driver:
    """This process driving one sweep: its tracker, Ray storage, identity and (unless duplicates are allowed) lock."""

    config: SweepConfig
    tracker: SweepTracker
    key: str
    storage: Path
    holder: Holder
    lock: SweepLock | None

    @property
    def label(self) -> str:
        return self.holder.label

    def beat(self) -> None:
        """The heartbeat: the parent run's tag and the lock's owner file say this driver lives."""
        self.tracker.set_tags({Tag.HEARTBEAT: f"{time.time():.0f}"})
        self.mark()

    def mark(self) -> None:
        """The lock's owner file names the sweep's parent run and the time of this beat."""
        if self.lock is not None:
            self.lock.write(parent_run_id=self.tracker.parent_id or "", heartbeat=time.time())

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()


def claim(config: SweepConfig, address: str | None, allow_duplicate: bool) -> Driver:
    """Before any run is opened: an unreachable store or Ray, a busy sweep or an unwritable storage
    folder fails with nothing half-recorded."""
    from domaintune.tracking import SweepTracker

    tracker = SweepTracker(config.tracking.uri, config.tracking.experiment, background=True)
    key = sweep_key(config)
    storage = Path(config.storage or ".domaintune/ray_results").expanduser().resolve()
    _check_storage(storage)
    ray_address = address or config.address or os.environ.get("RAY_ADDRESS")
    if ray_address and ray_address != "local":
        probe_address(ray_address)  # before any run is opened (init_ray probes again when it joins)
    label = f"{config.name!r} (config {key})"
    lock = None if allow_duplicate else SweepLock(storage / ".locks", f"{config.name}-{key}", label)
    if lock is not None:
        lock.acquire(parent_run_id="", heartbeat=time.time())
    return Driver(config, tracker, key, storage, Holder.this_process(label), lock)


def previous_sweep(driver: Driver, resume: bool, notice: Callable[[str], None]) -> tuple[Any | None, list[TrialRun]]:
    """The unfinished parent run to resume (what its dead driver left RUNNING closed) and the trials
    MLflow holds for it; ``(None, [])`` for a new sweep. Refuses a live driver of the same sweep."""
    from domaintune.tracking import find_unfinished, recorded_trials

    tracker, config = driver.tracker, driver.config
    previous = find_unfinished(tracker.client, tracker.experiment_id, driver.key) if resume else None
    if driver.lock is not None:
        _refuse_duplicate(driver, driver.lock)
    if previous is None:
        if resume:
            notice(f"resume: no unfinished sweep {driver.label} in {tracker.uri} (experiment {config.tracking.experiment!r}); starting a new one")
        return None, []
    tags = previous.data.tags
    if run_driver_alive(tags) is True:
        raise SweepBusyError(f"resume: sweep {driver.label} (MLflow run {previous.info.run_id}) is still running "
                             f"(pid {tags.get(Tag.DRIVER_PID)} on {tags.get(Tag.DRIVER_HOST)})")
    closed = close_dead_sweep(tracker.client, previous, "domaintune sweep --resume", close_parent=False)
    records = recorded_trials(tracker.client, tracker.experiment_id, previous.info.run_id, config.metric)
    finished = sum(r.status == "FINISHED" for r in records)
    notice(
        f"resume: sweep {driver.label}, MLflow run {previous.info.run_id}: {finished} finished trial(s) kept, "
        f"{len(closed['closed'])} run(s) the crash left RUNNING marked KILLED"
        + (f", {len(closed['ray_pids_killed'])} leftover Ray process(es) of the dead driver killed" if closed["ray_pids_killed"] else "")
    )
    return previous, records


def _refuse_duplicate(driver: Driver, lock: SweepLock) -> None:
    """The file lock covers this storage folder; a driver of the same sweep on another host
    (another storage folder, the same tracking store) shows by its fresh heartbeat."""
    tracker = driver.tracker
    others = [r for r in live_duplicates(tracker.client, tracker.experiment_id, driver.key) if r.data.tags.get(Tag.DRIVER_PID) != str(driver.holder.pid)]
    if others:
        tags = others[0].data.tags
        raise SweepBusyError(lock.busy_message({
            "host": tags.get(Tag.DRIVER_HOST), "pid": tags.get(Tag.DRIVER_PID),
            "parent_run_id": others[0].info.run_id, "heartbeat": tags.get(Tag.HEARTBEAT), "since": "-",
        }))


def open_parent(driver: Driver, space: SearchSpace, domain: Domain, previous: Any | None) -> Path:
    """Start the sweep's parent run, or re-attach a resumed one; its Ray experiment folder."""
    config, tracker = driver.config, driver.tracker
    trial_tags = {  # what every trial run carries (what a history record needs)
        Tag.METRIC: config.metric,
        Tag.DIRECTION: config.direction,
        Tag.BASE_MODEL: config.runner.model if config.runner.kind == "lm" else f"replay:{config.runner.model}",
        Tag.RUNNER: config.runner.kind,
    }
    alive = {**driver_tags(driver.holder), Tag.HEARTBEAT: f"{time.time():.0f}"}
    if previous is not None:
        tracker.attach(previous.info.run_id, trial_tags)
        resumed = int(previous.data.tags.get(Tag.RESUMED, "0")) + 1
        tracker.set_tags({**alive, Tag.RESUMED: str(resumed)})
        return Path(previous.data.tags.get(Tag.RAY_EXPERIMENT) or driver.storage / f"{config.name}-{previous.info.run_id}")
    tracker.start(config.name, config.model_dump(mode="json"), space.spec(), domain, trial_tags=trial_tags, tags={Tag.SWEEP_KEY: driver.key, **alive})
    experiment_dir = driver.storage / f"{config.name}-{tracker.parent_id}"
    tracker.set_tags({Tag.RAY_EXPERIMENT: str(experiment_dir)})
    return experiment_dir
