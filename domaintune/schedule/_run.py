"""Run what is due, once: check the champion on new data, sweep when a trigger or the cron says so,
challenge the champion with the sweep's chosen strategy.

For each enabled entry: (1) when the domain has a version its champion was never scored on,
score the champion on that version's validation data (cheap) and keep the score on the model
version; (2) when a trigger fires or the cron is due, take the entry's lock and sweep,
warm-started by the meta-learner and by the domain's earlier results (every trial in the sweep
experiment, of every version, plus experts' feedback); (3) register the chosen strategy as a
challenger and move the ``champion`` alias only if it wins the paired test. Every action is
recorded in the schedule's MLflow experiment; calling ``run_due`` again at once runs nothing.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from domaintune.schedule._actions import check_champion, sweep_entry
from domaintune.schedule._context import EntryContext, Log, champion_check, iso, lock_dir, stderr_log
from domaintune.schedule._file import Schedule, load_schedule
from domaintune.schedule._lock import EntryLock, LockHeld
from domaintune.schedule._state import Action, ScheduleState
from domaintune.tracking import Tag


def pending_triggers(ctx: EntryContext, state: ScheduleState, now: float | None = None) -> tuple[list[str], float | None, Action | None]:
    """The triggers that fire now (with why), the next cron time, and the last sweep."""
    from croniter import croniter

    now = now or time.time()
    entry, t = ctx.entry, ctx.entry.triggers
    last = state.last(entry.name, "sweep")
    fired: list[str] = []
    domain = ctx.domain
    if t.data_changed:
        if last is None:
            fired.append(f"data_changed: first sweep of {domain.name} v{domain.version} ({domain.fingerprint})")
        elif last.domain_fingerprint != domain.fingerprint:
            fired.append(f"data_changed: v{last.domain_version} ({last.domain_fingerprint}) -> v{domain.version} ({domain.fingerprint})")
    if t.history_grew:
        count = ctx.history_records()
        grown = count - (last.history_records if last else 0)
        if grown >= t.history_grew:
            fired.append(f"history_grew: {grown} new records (threshold {t.history_grew})")
    if t.base_model_changed and (last is None or last.base_model != ctx.base_model):
        fired.append(f"base_model_changed: {last.base_model if last else 'none'} -> {ctx.base_model}")
    if t.champion_below is not None or t.champion_drop is not None:
        current, check, _ = champion_check(ctx)
        fresh = check is not None and not check.get("chosen_on") and (last is None or last.domain_fingerprint != domain.fingerprint)
        if fresh and check.get("value") is not None:
            value = float(check["value"])
            chosen = json.loads((current.tags or {}).get(Tag.VALIDATION, "{}") or "{}").get("value")
            if t.champion_below is not None and value < t.champion_below:
                fired.append(f"champion_below: champion v{current.version} scores {value:.3f} on v{domain.version} (< {t.champion_below})")
            if t.champion_drop is not None and chosen is not None and value < float(chosen) - t.champion_drop:
                fired.append(f"champion_drop: champion v{current.version} fell from {float(chosen):.3f} to {value:.3f} (> {t.champion_drop})")
    next_cron = None
    if entry.cron:
        if last is None:
            fired.append("cron: never run")
            next_cron = now
        else:
            next_cron = croniter(entry.cron, datetime.fromtimestamp(last.started, timezone.utc)).get_next(float)
            if next_cron <= now:
                fired.append(f"cron: {entry.cron} was due at {iso(next_cron)}")
    return fired, next_cron, last


def list_entries(path: str | Path) -> list[dict[str, Any]]:
    """One status object per entry: next run, pending triggers, last run, champion, lock holder."""
    schedule = load_schedule(path)
    state = ScheduleState(schedule.spec.tracking.uri, schedule.spec.tracking.experiment)
    out = []
    for entry in schedule.entries:
        ctx = EntryContext(schedule, entry)
        fired, next_cron, last = pending_triggers(ctx, state)
        current, check, check_due = champion_check(ctx)
        lock = EntryLock(lock_dir(schedule), entry.name)
        holder = lock.held_by_other()
        due = entry.enabled and bool(fired)
        out.append(
            {
                "entry": entry.name,
                "enabled": entry.enabled,
                "domain": ctx.domain.name,
                "domain_version": ctx.domain.version,
                "domain_fingerprint": ctx.domain.fingerprint,
                "cron": entry.cron,
                "due": due,
                "next_run": iso(time.time()) if due else (iso(next_cron) if entry.enabled else None),
                "pending_triggers": fired,
                "champion_check_due": check_due,
                "champion": str(current.version) if current is not None else None,
                "champion_check": check,
                "last_run": None if last is None else {"time": iso(last.started), "reason": last.reason, "outcome": last.outcome, "sweep_run_id": last.sweep_run_id},
                "locked_by": holder,
            }
        )
    return out


def run_due(path: str | Path, entries: list[str] | None = None, force: bool = False, log: Log | None = None) -> list[dict[str, Any]]:
    """Run every due entry once (or the named ones; ``force`` runs them even if nothing fired).

    Returns one object per entry it acted on: ``entry``, ``action`` (check | sweep), ``reason``,
    ``sweep_run_id``, ``promoted`` and the decision. An entry another process holds is skipped
    (and said so through ``log``).
    """
    log = log or stderr_log
    schedule = load_schedule(path)
    state = ScheduleState(schedule.spec.tracking.uri, schedule.spec.tracking.experiment)
    chosen = [schedule.entry(name) for name in entries] if entries else [e for e in schedule.entries if e.enabled]
    out = []
    for entry in chosen:
        ctx = EntryContext(schedule, entry)
        _, _, check_due = champion_check(ctx)
        fired, _, _ = pending_triggers(ctx, state)
        if not (check_due or fired or force):
            continue
        lock = EntryLock(lock_dir(schedule), entry.name)
        try:
            lock.acquire()
        except LockHeld as held:
            log(f"skipped: {held}")
            continue
        try:
            if lock.took_over:
                log(f"entry {entry.name!r}: took over a stale lock left by {lock.took_over.get('host')} pid {lock.took_over.get('pid')}")
            result = _run_entry(schedule, ctx, state, force, log)
        except Exception as error:  # noqa: BLE001 - one failing entry must not stop the others; it is recorded
            log(f"{entry.name}: failed: {type(error).__name__}: {error}")
            result = {"entry": entry.name, "action": "sweep", "reason": "", "sweep_run_id": None, "promoted": False,
                      "outcome": "failed", "error": f"{type(error).__name__}: {error}"}
        finally:
            lock.release()
        if result is not None:
            out.append(result)
    return out


def _run_entry(schedule: Schedule, ctx: EntryContext, state: ScheduleState, force: bool, log: Log) -> dict[str, Any] | None:
    """Under the entry's lock: check the champion, then sweep if (still) due."""
    # Measured again under the lock: another scheduler may have just run this entry.
    current, _, check_due = champion_check(ctx)
    check = None
    champion_result = None
    if check_due:
        check, champion_result = check_champion(schedule, ctx, state, current, log)
    fired, _, _ = pending_triggers(ctx, state)
    if force and not fired:
        fired = ["manual: run now"]
    if not fired:
        if check is None:
            return None
        return {
            "entry": ctx.entry.name, "action": "check", "domain": ctx.domain.name, "domain_version": ctx.domain.version,
            "reason": check["reason"], "triggers": [], "sweep_run_id": None, "promoted": False, "check": check,
        }
    result = sweep_entry(schedule, ctx, state, fired, champion_result, log)
    result["check"] = check
    return result
