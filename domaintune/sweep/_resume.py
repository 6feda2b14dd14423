"""Resuming a crashed sweep: Ray Tune's restore from a whole experiment state, and the storage checks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.tracking import TrialRun

if TYPE_CHECKING:
    from domaintune.search_spaces import SearchSpace


MIN_FREE_BYTES = 64 * 2**20  # experiment state, trial folders and adapters of a small sweep


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


def _answer(record: TrialRun, metric: str | None) -> dict[str, Any] | None:
    """What a finished trial's run answers a repeat of its strategy with (``sweep/_answers.py``),
    or None: no point, no ``metric``, or stopped before its last step."""
    if not record.config or metric not in record.last or record.stopped_early:
        return None
    return {"run_id": record.answered_from or record.run_id, "result": _replayable(record.last)}


def _restore(experiment_dir: Path, trainable: Any, callback: Any, verbose: int, records: list[TrialRun], space: SearchSpace) -> Any:
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
        for record in finished.values():  # each answers a repeat of its strategy (a searcher of an older release cannot)
            if (answer := _answer(record, metric)) is not None and hasattr(limiter, "learn"):
                limiter.learn(record.config, answer)
        for trial_id, record in finished.items():
            # A trial Ray restored as unfinished is replayed from MLflow and told through Ray itself.
            if trial_id in status and (searcher_saved or status[trial_id] != "TERMINATED"):
                continue
            if metric is None or metric not in record.last:
                continue
            base.add_evaluated_point(record.config, float(record.last[metric]))
        # Trials MLflow holds that Ray's last save did not (a crash between two saves) count
        # against the sweep's size: it ends at num_samples, not that many more.
        unknown = sum(trial_id not in status for trial_id in finished)
        if unknown and hasattr(limiter, "budget"):
            limiter.budget = max(0, internal._tune_config.num_samples - len(trials) - unknown)

    callback.on_restored = tell
    return tuner
