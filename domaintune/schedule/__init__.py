"""Scheduled sweeps: schedule files, triggers, per-entry locks, ``run_due`` and ``serve``.

An entry is a sweep config plus when it runs: a cron expression and/or triggers (the domain's
data changed, the history grew, the base model changed, the champion's score on fresh data
fell). ``run_due(path)`` runs what is due once and returns what it ran, so cron, a systemd timer
or a Kubernetes CronJob can call it; ``serve(path)`` keeps an APScheduler loop in the
foreground. What ran, when, why and with what outcome is recorded in MLflow.
"""

from __future__ import annotations

from domaintune.schedule._file import Budget, Entry, Promotion, Schedule, ScheduleFile, Triggers, load_schedule
from domaintune.schedule._lock import EntryLock, LockHeld
from domaintune.schedule._run import list_entries, run_due
from domaintune.schedule._serve import serve

__all__ = [
    "Budget",
    "Entry",
    "EntryLock",
    "LockHeld",
    "Promotion",
    "Schedule",
    "ScheduleFile",
    "Triggers",
    "list_entries",
    "load_schedule",
    "run_due",
    "serve",
]
