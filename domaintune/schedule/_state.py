"""What the scheduler did, kept in MLflow: one run per action of an entry in ``domaintune-schedule``.

A run's tags say which entry, what it did (``check`` or ``sweep``), why (the triggers that
fired), the sweep's run id, the outcome (promoted, refused, checked, failed, interrupted) and
what the triggers are measured against next time (the domain fingerprint and version, the base
model, the history's size). Its start and end times are when it ran.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

TAG = "domaintune."


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
    """Reads and writes the schedule's MLflow experiment."""

    def __init__(self, uri: str | None, experiment: str):
        from mlflow.tracking import MlflowClient

        from domaintune.tracking import check_reachable, open_experiment, resolve_tracking_uri

        self.uri = resolve_tracking_uri(uri)
        check_reachable(self.uri)
        self.client = MlflowClient(tracking_uri=self.uri)
        self.experiment_id = open_experiment(self.client, self.uri, experiment)

    def last(self, entry: str, action: str | None = None, finished_only: bool = True) -> Action | None:
        """The entry's latest recorded action (of a kind), or None."""
        query = f"tags.`{TAG}kind` = 'schedule' and tags.`{TAG}entry` = '{entry}'"
        if action:
            query += f" and tags.`{TAG}action` = '{action}'"
        runs = self.client.search_runs([self.experiment_id], filter_string=query, order_by=["attributes.start_time DESC"], max_results=20)
        for run in runs:
            tags = run.data.tags
            if finished_only and tags.get(f"{TAG}outcome") in (None, "", "failed", "interrupted"):
                continue
            return Action(
                entry=entry,
                action=tags.get(f"{TAG}action", ""),
                reason=tags.get(f"{TAG}reason", ""),
                run_id=run.info.run_id,
                outcome=tags.get(f"{TAG}outcome", ""),
                sweep_run_id=tags.get(f"{TAG}sweep_run_id", ""),
                domain_fingerprint=tags.get(f"{TAG}domain_fingerprint", ""),
                domain_version=tags.get(f"{TAG}domain_version", ""),
                base_model=tags.get(f"{TAG}base_model", ""),
                history_records=int(tags.get(f"{TAG}history_records", "0") or 0),
                started=run.info.start_time / 1000.0,
                details=json.loads(tags.get(f"{TAG}details", "{}") or "{}"),
            )
        return None

    def begin(self, action: Action, schedule_file: str) -> str:
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"{action.entry} · {action.action} · {action.reason}"[:250],
            tags={
                f"{TAG}kind": "schedule",
                f"{TAG}entry": action.entry,
                f"{TAG}action": action.action,
                f"{TAG}reason": action.reason[:4900],
                f"{TAG}schedule_file": schedule_file,
                f"{TAG}domain_fingerprint": action.domain_fingerprint,
                f"{TAG}domain_version": action.domain_version,
                f"{TAG}base_model": action.base_model,
            },
        )
        action.run_id = run.info.run_id
        action.started = run.info.start_time / 1000.0
        return action.run_id

    def end(self, action: Action, status: str = "FINISHED", error: str | None = None) -> None:
        tags = {
            f"{TAG}outcome": action.outcome,
            f"{TAG}sweep_run_id": action.sweep_run_id,
            f"{TAG}history_records": str(action.history_records),
            f"{TAG}details": json.dumps(action.details, default=str)[:4900],
        }
        if error:
            tags[f"{TAG}error"] = error[-4900:]
        for key, value in tags.items():
            self.client.set_tag(action.run_id, key, value)
        numbers = {k: float(v) for k, v in action.details.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if numbers:
            from mlflow.entities import Metric

            now = int(time.time() * 1000)
            self.client.log_batch(action.run_id, metrics=[Metric(k, v, now, 0) for k, v in numbers.items()])
        self.client.set_terminated(action.run_id, status=status)
