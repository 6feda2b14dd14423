"""The one module that knows Ray Tune: a sweep is Tuner + OptunaSearch (TPE) + ASHA.

The driver owns the MLflow records (through ``SweepTracker``), so a crashed or stopped
worker never leaves a run RUNNING; workers only run the bare runner and ``tune.report``.
What to evaluate first comes from ``meta.plan_warm_start``; what a sweep produced is in
``domaintune.results``; the test score of the chosen strategy comes from the runner.
"""

from __future__ import annotations

from domaintune.sweep._ray import init_ray, probe_address, ray_session_dir
from domaintune.sweep._run import run_sweep
from domaintune.sweep._trial import OUTCOMES_FILE, WORKER_ENV, trial_outcomes

__all__ = ["OUTCOMES_FILE", "WORKER_ENV", "init_ray", "probe_address", "ray_session_dir", "run_sweep", "trial_outcomes"]
from domaintune.sweep._results import SweepResult, TrialSummary
from domaintune.sweep._warm_start import EarlierResult, WarmStartPlan, plan_warm_start
from domaintune.sweep._recovery import clean_runs
from domaintune.sweep._liveness import SweepBusyError, TAG_SESSION, ray_session_processes
