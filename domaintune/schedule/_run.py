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

import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from domaintune.schedule._file import Entry, Schedule, load_schedule
from domaintune.schedule._lock import EntryLock, LockHeld
from domaintune.schedule._state import Action, ScheduleState

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if epoch else None


def lock_dir(schedule: Schedule) -> Path:
    from domaintune.domains import user_domains_dir

    return Path(schedule.spec.lock_dir).expanduser() if schedule.spec.lock_dir else user_domains_dir().parent / "locks"


def feedback_history(schedule: Schedule) -> Path:
    from domaintune.champion import default_feedback_history

    return Path(schedule.spec.feedback_history).expanduser() if schedule.spec.feedback_history else default_feedback_history()


class _Context:
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
        from domaintune.history import load_history

        history = load_history(self.history_files, self.config.tracking.uri, self.config.tracking.experiment)
        return len(history)


def _champion_check(ctx: _Context) -> tuple[Any, dict[str, Any] | None, bool]:
    """(champion version or None, its recorded check on the current fingerprint or None, check needed)."""
    import json

    from domaintune.champion import champion_version, registered_name, registry_client

    client = registry_client(ctx.config.tracking.uri)
    current = champion_version(client, registered_name(ctx.domain.name))
    if current is None:
        return None, None, False
    tags = current.tags or {}
    recorded = tags.get(f"domaintune.check.{ctx.domain.fingerprint}")
    if recorded:
        return current, json.loads(recorded), False
    if tags.get("domaintune.domain_fingerprint") == ctx.domain.fingerprint:
        chosen = json.loads(tags.get("domaintune.validation", "{}") or "{}")
        return current, {"value": chosen.get("value"), "metric": chosen.get("metric"), "chosen_on": True}, False
    return current, None, True


def pending_triggers(ctx: _Context, state: ScheduleState, now: float | None = None) -> tuple[list[str], float | None, Action | None]:
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
        current, check, _ = _champion_check(ctx)
        fresh = check is not None and not check.get("chosen_on") and (last is None or last.domain_fingerprint != domain.fingerprint)
        if fresh and check.get("value") is not None:
            import json

            value = float(check["value"])
            chosen = json.loads((current.tags or {}).get("domaintune.validation", "{}") or "{}").get("value")
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
                fired.append(f"cron: {entry.cron} was due at {_iso(next_cron)}")
    return fired, next_cron, last


def list_entries(path: str | Path) -> list[dict[str, Any]]:
    """One status object per entry: next run, pending triggers, last run, champion, lock holder."""
    schedule = load_schedule(path)
    state = ScheduleState(schedule.spec.tracking.uri, schedule.spec.tracking.experiment)
    out = []
    for entry in schedule.entries:
        ctx = _Context(schedule, entry)
        fired, next_cron, last = pending_triggers(ctx, state)
        current, check, check_due = _champion_check(ctx)
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
                "next_run": _iso(time.time()) if due else (_iso(next_cron) if entry.enabled else None),
                "pending_triggers": fired,
                "champion_check_due": check_due,
                "champion": str(current.version) if current is not None else None,
                "champion_check": check,
                "last_run": None if last is None else {"time": _iso(last.started), "reason": last.reason, "outcome": last.outcome, "sweep_run_id": last.sweep_run_id},
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
    log = log or _stderr
    schedule = load_schedule(path)
    state = ScheduleState(schedule.spec.tracking.uri, schedule.spec.tracking.experiment)
    chosen = [schedule.entry(name) for name in entries] if entries else [e for e in schedule.entries if e.enabled]
    out = []
    for entry in chosen:
        ctx = _Context(schedule, entry)
        _, _, check_due = _champion_check(ctx)
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


def _run_entry(schedule: Schedule, ctx: _Context, state: ScheduleState, force: bool, log: Log) -> dict[str, Any] | None:
    """Under the entry's lock: check the champion, then sweep if (still) due."""
    # Measured again under the lock: another scheduler may have just run this entry.
    current, _, check_due = _champion_check(ctx)
    check = None
    champion_result = None
    if check_due:
        check, champion_result = _check(schedule, ctx, state, current, log)
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
    result = _sweep(schedule, ctx, state, fired, champion_result, log)
    result["check"] = check
    return result


def _check(schedule: Schedule, ctx: _Context, state: ScheduleState, current: Any, log: Log) -> tuple[dict[str, Any], Any]:
    """Score the champion on the current version's validation data; keep it on the model version."""
    from domaintune.champion import load_champion, record_check, registered_name

    reason = f"check: champion v{current.version} on {ctx.domain.name} v{ctx.domain.version} ({ctx.domain.fingerprint})"
    log(f"{ctx.entry.name}: {reason}")
    action = Action(ctx.entry.name, "check", reason, domain_fingerprint=ctx.domain.fingerprint, domain_version=ctx.domain.version, base_model=ctx.base_model)
    state.begin(action, str(schedule.path))
    try:
        model = load_champion(ctx.config.tracking.uri, registered_name(ctx.domain.name), current.version)
        result = model.score(ctx.domain, replay_history=ctx.replay_history)
        metric = ctx.config.metric if ctx.config.metric in result.metrics else next(iter(result.metrics), ctx.config.metric)
        recorded = record_check(ctx.config.tracking.uri, ctx.domain, result, metric)
    except BaseException as error:
        action.outcome = "interrupted" if isinstance(error, (KeyboardInterrupt, SystemExit)) else "failed"
        state.end(action, "KILLED" if action.outcome == "interrupted" else "FAILED", error=f"{type(error).__name__}: {error}")
        raise
    action.outcome = "checked"
    action.details = {"champion_version": str(current.version), metric: recorded["value"], "questions": result.questions}
    state.end(action)
    return {"reason": reason, **recorded}, result


def _trial_outcomes(best: Any) -> Any:
    """The chosen trial's per-question validation outcomes, as its worker wrote them, or None."""
    from domaintune.runners import TrialResult
    from domaintune.sweep import trial_outcomes

    data = trial_outcomes(best.trial_dir)
    if data is None:
        return None
    if int(data.get("step", -1)) != best.steps:
        return None
    return TrialResult(metrics=data["metrics"], cost={}, split="validation", steps=best.steps, questions=len(data["question_ids"]),
                       question_ids=data["question_ids"], outcomes=data["outcomes"])


def _sweep(schedule: Schedule, ctx: _Context, state: ScheduleState, fired: list[str], champion_result: Any, log: Log) -> dict[str, Any]:
    from domaintune.champion import challenge, champion_spec, champion_version, load_champion, registered_name, registry_client
    from domaintune.runners import make_runner
    from domaintune.strategy import Strategy
    from domaintune.sweep import run_sweep

    config, domain, entry = ctx.config, ctx.domain, ctx.entry
    reason = "; ".join(fired)
    log(f"{entry.name}: sweep ({reason})")
    action = Action(entry.name, "sweep", reason, domain_fingerprint=domain.fingerprint, domain_version=domain.version, base_model=ctx.base_model)
    state.begin(action, str(schedule.path))
    started = time.perf_counter()
    out: dict[str, Any] = {
        "entry": entry.name, "action": "sweep", "domain": domain.name, "domain_version": domain.version,
        "reason": reason, "triggers": fired, "sweep_run_id": None, "promoted": False,
    }
    try:
        result = run_sweep(config, verbose=0)
        action.sweep_run_id = out["sweep_run_id"] = result.parent_run_id
        out["best_validation"] = result.best_validation
        best = next((t for t in result.trials if t.trial_id == result.best_trial), None)
        if result.interrupted or best is None:
            action.outcome = "interrupted" if result.interrupted else "failed"
            out.update(outcome=action.outcome, error="the sweep was interrupted" if result.interrupted else "no trial finished")
            state.end(action, "KILLED" if result.interrupted else "FAILED", error=out["error"])
            return out
        strategy = Strategy.from_dict(best.strategy)
        if strategy.trains:
            strategy = strategy.model_copy(update={"steps": best.steps or strategy.steps})
        adapter = best.adapter_dir if best.adapter_dir and (Path(best.adapter_dir) / "adapter_config.json").exists() else None
        challenger = _trial_outcomes(best)
        out["challenger_outcomes"] = "from the trial"
        if challenger is None:
            # The trial ran on another node (or was cut short): the same runner scores it again.
            challenger = make_runner(config.runner).run(domain, strategy, split="validation", load_adapter=adapter)
            out["challenger_outcomes"] = "scored again"
        metric = config.metric if config.metric in challenger.metrics else next(iter(challenger.metrics), config.metric)
        client = registry_client(config.tracking.uri)
        current = champion_version(client, registered_name(domain.name))
        if current is not None and champion_result is None:
            champion_result = load_champion(config.tracking.uri, registered_name(domain.name), current.version).score(
                domain, replay_history=ctx.replay_history
            )
        validation = {"metric": metric, "value": challenger.metrics.get(metric), "questions": challenger.questions, "sweep_best": result.best_validation}
        spec = champion_spec(domain, strategy.model_dump(), best.steps, config.runner.model_dump(mode="json"), validation, result.parent_run_id, adapter is not None)
        decision = challenge(
            config.tracking.uri, domain, challenger, spec, adapter, result.experiment_id, champion_result,
            alpha=entry.promotion.alpha, test_score=result.test_score, test_metric=result.metric,
        )
        action.outcome = "promoted" if decision.promoted else "refused"
        action.history_records = ctx.history_records()  # after the sweep: its own trials are not "growth"
        out.update(
            promoted=decision.promoted, outcome=action.outcome, model=decision.name, version=decision.version,
            decision=decision.reason, previous_champion=decision.previous, validation=validation,
            test_score=decision.test_score, paired_test=decision.test.to_dict() if decision.test else None,
            strategy=strategy.active(), seconds=round(time.perf_counter() - started, 1),
        )
        action.details = {
            "promoted": decision.promoted, "model_version": decision.version, "best_validation": result.best_validation,
            "challenger_validation": validation["value"], "seconds": out["seconds"],
            **({"p_value": decision.test.p_value} if decision.test else {}),
            **({"test_score": decision.test_score} if decision.test_score is not None else {}),
        }
        log(f"{entry.name}: {decision.reason}")
        state.end(action)
        return out
    except Exception as error:  # noqa: BLE001 - recorded and returned; the next run-due tries again
        action.outcome = "failed"
        state.end(action, "FAILED", error=f"{type(error).__name__}: {error}")
        out.update(outcome="failed", error=f"{type(error).__name__}: {error}")
        log(f"{entry.name}: failed: {out['error']}")
        return out
    except BaseException as error:
        action.outcome = "interrupted"
        state.end(action, "KILLED", error=f"{type(error).__name__}: {error}")
        raise
