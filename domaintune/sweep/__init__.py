"""The one package that knows Ray Tune: a sweep is Tuner + OptunaSearch (TPE) + ASHA.

The driver owns the MLflow records (through ``SweepTracker``), so a crashed or stopped
worker never leaves a run RUNNING; workers only run the bare runner and ``tune.report``.
What to evaluate first comes from ``plan_warm_start``; what a sweep produced is a
``SweepResult`` of ``TrialSummary``; the test score of the chosen strategy comes from the
runner. One lock type (``HolderLock``) with a pid-reuse-safe ``process_alive`` serves the
sweep and the schedule.
"""

from __future__ import annotations

from domaintune.sweep._liveness import ray_session_processes, sessions_started_by
from domaintune.sweep._lock import Holder, HolderLock, SweepBusyError, SweepLock, process_alive
from domaintune.sweep._ray import init_ray, probe_address, ray_session_dir
from domaintune.sweep._recovery import clean_runs
from domaintune.sweep._results import SweepResult, TrialSummary
from domaintune.sweep._run import run_sweep
from domaintune.sweep._trial import OUTCOMES_FILE, WORKER_ENV, trial_outcomes
from domaintune.sweep._warm_start import PROPOSAL_DEPTH, EarlierResult, WarmStartPlan, plan_warm_start

__all__ = [
    "OUTCOMES_FILE",
    "PROPOSAL_DEPTH",
    "WORKER_ENV",
    "EarlierResult",
    "Holder",
    "HolderLock",
    "SweepBusyError",
    "SweepLock",
    "SweepResult",
    "TrialSummary",
    "WarmStartPlan",
    "clean_runs",
    "init_ray",
    "plan_warm_start",
    "probe_address",
    "process_alive",
    "ray_session_dir",
    "ray_session_processes",
    "sessions_started_by",
    "run_sweep",
    "trial_outcomes",
]
