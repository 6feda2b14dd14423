"""tracking: the only code that reads or writes MLflow runs: the trial-run schema, its writer and readers, the UI set-up."""

from __future__ import annotations

from domaintune.tracking._schema import (
    PREFIX, Artifact, Kind, SweepRun, Tag, TrialRun, decode_param, encode_param, filter_kind, own_tags, tag_key,
)
from domaintune.tracking._client import client, experiment_ids, open_experiment, resolve_tracking_uri
from domaintune.tracking._writer import SweepTracker
from domaintune.tracking._history import READ_THREADS, load_history, metric_curve, read_history, read_trial_run
from domaintune.tracking._runs import (
    child_runs, close_run, end_run, find_unfinished, json_artifacts, kind_runs, recorded_trials, run_status, running_sweeps,
    running_trials, start_run, sweep_run,
)
from domaintune.tracking._champion import log_challenger, log_feedback_run
from domaintune.tracking._ui import experiment_links, runs_url

__all__ = [
    "Artifact", "child_runs", "client", "close_run", "decode_param", "encode_param", "end_run", "experiment_ids",
    "experiment_links", "filter_kind", "find_unfinished", "json_artifacts", "Kind", "kind_runs", "load_history", "log_challenger",
    "log_feedback_run", "metric_curve", "open_experiment", "own_tags", "PREFIX", "read_history", "READ_THREADS",
    "read_trial_run", "recorded_trials", "resolve_tracking_uri", "run_status", "running_sweeps", "running_trials",
    "runs_url", "start_run", "sweep_run", "SweepRun", "SweepTracker", "Tag", "tag_key", "TrialRun",
]
