"""One schedule entry in context: its sweep config (with the schedule's warm start and store),
its domain and base model, where its lock and feedback live, and its champion's recorded check."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from domaintune.schedule._file import Entry, Schedule
from domaintune.tracking import Tag

Log = Callable[[str], None]


def stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if epoch else None


def lock_dir(schedule: Schedule) -> Path:
    from domaintune.domains import user_domains_dir

    return Path(schedule.spec.lock_dir).expanduser() if schedule.spec.lock_dir else user_domains_dir().parent / "locks"


def feedback_history(schedule: Schedule) -> Path:
    from domaintune.champion import default_feedback_history

    return Path(schedule.spec.feedback_history).expanduser() if schedule.spec.feedback_history else default_feedback_history()


class EntryContext:
    """One entry's sweep config (with the schedule's warm start and store), domain and measurements."""

    def __init__(self, schedule: Schedule, entry: Entry):
        from domaintune.history import SEED_HISTORY

        self.schedule, self.entry = schedule, entry
        base = schedule.sweep_config(entry, self._store())
        extra = self._store()
        feedback = feedback_history(schedule)
        history = list(base.warm_start.history) if base.warm_start and base.warm_start.history else [str(SEED_HISTORY)]
        if feedback.exists() and str(feedback) not in history:
            history.append(str(feedback))
        experiment = base.tracking.experiment
        # The domain's earlier results, of every version, reach the search through the sweep
        # experiment's trials (plan_warm_start tells them to the searcher with their version).
        if base.warm_start is None:
            extra["warm_start"] = {"experiment": experiment, "history": history}
        else:
            extra["warm_start.experiment"] = base.warm_start.experiment or experiment
            extra["warm_start.history"] = history
        self.config = schedule.sweep_config(entry, extra)
        self.history_files = history
        self.domain = self.config.load_domain()
        runner = self.config.runner
        self.replay_history = list(runner.history) if runner.kind == "replay" and runner.history else None
        self.base_model = f"{runner.kind}:{runner.model}" + (f":{','.join(runner.history)}" if runner.kind == "replay" and runner.history else "")

    def _store(self) -> dict[str, Any]:
        uri = self.schedule.spec.tracking.uri
        return {"tracking.uri": uri} if uri else {}

    def history_records(self) -> int:
        from domaintune.tracking import load_history

        history = load_history(self.history_files, self.config.tracking.uri, self.config.tracking.experiment)
        return len(history)


def champion_check(ctx: EntryContext) -> tuple[Any, dict[str, Any] | None, bool]:
    """(champion version or None, its recorded check on the current fingerprint or None, check needed)."""
    from domaintune.champion import champion_version, registered_name, registry_client

    client = registry_client(ctx.config.tracking.uri)
    current = champion_version(client, registered_name(ctx.domain.name))
    if current is None:
        return None, None, False
    tags = current.tags or {}
    recorded = tags.get(Tag.check(ctx.domain.fingerprint))
    if recorded:
        return current, json.loads(recorded), False
    if tags.get(Tag.DOMAIN_FINGERPRINT) == ctx.domain.fingerprint:
        chosen = json.loads(tags.get(Tag.VALIDATION, "{}") or "{}")
        return current, {"value": chosen.get("value"), "metric": chosen.get("metric"), "chosen_on": True}, False
    return current, None, True
