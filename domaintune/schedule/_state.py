"""What the scheduler did, kept in MLflow: one run per action of an entry in ``domaintune-schedule``.

A run's tags say which entry, what it did (``check`` or ``sweep``), why (the triggers that
fired), the sweep's run id, the outcome (promoted, refused, checked, failed, interrupted) and
what the triggers are measured against next time (the domain fingerprint and version, the base
model, the history's size). Its start and end times are when it ran.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from domaintune.tracking import Tag


@dataclass
class Action:
    entry: str
    action: str  # check | sweep
    reason: str
    run_id: str = ""
    outcome: str = ""
    sweep_run_id: str = ""
    domain_fingerprint: str = ""
    domain_version: str = ""
    base_model: str = ""
    history_records: int = 0
    started: float = 0.0  # epoch seconds
    details: dict[str, Any] = field(default_factory=dict)


class ScheduleState:
    """Reads and writes the schedule's MLflow experiment (through ``tracking``)."""

    def __init__(self, uri: str | None, experiment: str):
        from domaintune.tracking import client, open_experiment

        self.client = client(uri, check=True)
        self.uri = self.client.tracking_uri
        self.experiment_id = open_experiment(self.client, self.uri, experiment)

    def last(self, entry: str, action: str | None = None, finished_only: bool = True) -> Action | None:
        """The entry's latest recorded action (of a kind), or None."""
        from domaintune.tracking import Kind, kind_runs

        chosen = {"action": action} if action else {}
        for run in kind_runs(self.client, [self.experiment_id], Kind.SCHEDULE, max_results=20, entry=entry, **chosen):
            tags = run.data.tags
            if finished_only and tags.get(Tag.OUTCOME) in (None, "", "failed", "interrupted"):
                continue
            return Action(
                entry=entry,
                action=tags.get(Tag.ACTION, ""),
                reason=tags.get(Tag.REASON, ""),
                run_id=run.info.run_id,
                outcome=tags.get(Tag.OUTCOME, ""),
                sweep_run_id=tags.get(Tag.SWEEP_RUN_ID, ""),
                domain_fingerprint=tags.get(Tag.DOMAIN_FINGERPRINT, ""),
                domain_version=tags.get(Tag.DOMAIN_VERSION, ""),
                base_model=tags.get(Tag.BASE_MODEL, ""),
                history_records=int(tags.get(Tag.HISTORY_RECORDS, "0") or 0),
                started=run.info.start_time / 1000.0,
                details=json.loads(tags.get(Tag.DETAILS, "{}") or "{}"),
            )
        return None

    def begin(self, action: Action, schedule_file: str) -> str:
        from domaintune.tracking import Kind, start_run

        run = start_run(
            self.client,
            self.experiment_id,
            f"{action.entry} · {action.action} · {action.reason}"[:250],
            Kind.SCHEDULE,
            {
                Tag.ENTRY: action.entry,
                Tag.ACTION: action.action,
                Tag.REASON: action.reason[:4900],
                Tag.SCHEDULE_FILE: schedule_file,
                Tag.DOMAIN_FINGERPRINT: action.domain_fingerprint,
                Tag.DOMAIN_VERSION: action.domain_version,
                Tag.BASE_MODEL: action.base_model,
            },
        )
        action.run_id = run.info.run_id
        action.started = run.info.start_time / 1000.0
        return action.run_id

    def end(self, action: Action, status: str = "FINISHED", error: str | None = None) -> None:
        from domaintune.tracking import end_run

        tags = {
            Tag.OUTCOME: action.outcome,
            Tag.SWEEP_RUN_ID: action.sweep_run_id,
            Tag.HISTORY_RECORDS: str(action.history_records),
            Tag.DETAILS: json.dumps(action.details, default=str)[:4900],
        }
        if error:
            tags[Tag.ERROR] = error[-4900:]
        numbers = {k: float(v) for k, v in action.details.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        end_run(self.client, action.run_id, status, tags, numbers)
