"""The two actions of a due entry: check the champion on the domain's current version, and sweep
then challenge the champion with the sweep's chosen strategy (promoted only if it wins the
paired test). Each is recorded as a schedule action in MLflow, whatever its outcome."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from domaintune.schedule._context import EntryContext, Log
from domaintune.schedule._file import Schedule
from domaintune.schedule._state import Action, ScheduleState


def check_champion(schedule: Schedule, ctx: EntryContext, state: ScheduleState, current: Any, log: Log) -> tuple[dict[str, Any], Any]:
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


def sweep_entry(schedule: Schedule, ctx: EntryContext, state: ScheduleState, fired: list[str], champion_result: Any, log: Log) -> dict[str, Any]:
    """Sweep the entry's domain and challenge its champion; a failure is recorded and returned, an interrupt re-raised."""
    from domaintune.sweep import run_sweep

    domain, entry = ctx.domain, ctx.entry
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
        result = run_sweep(ctx.config, verbose=0)
        action.sweep_run_id = out["sweep_run_id"] = result.parent_run_id
        out["best_validation"] = result.best_validation
        best = next((t for t in result.trials if t.trial_id == result.best_trial), None)
        if result.interrupted or best is None:
            action.outcome = "interrupted" if result.interrupted else "failed"
            out.update(outcome=action.outcome, error="the sweep was interrupted" if result.interrupted else "no trial finished")
            state.end(action, "KILLED" if result.interrupted else "FAILED", error=out["error"])
            return out
        _challenge(ctx, state, action, result, best, champion_result, out, started, log)
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


def _challenger(ctx: EntryContext, best: Any, out: dict[str, Any]) -> tuple[Any, str | None, Any]:
    """The sweep's chosen strategy, its adapter (if one was kept) and its per-question validation outcomes."""
    from domaintune.runners import make_runner
    from domaintune.strategy import Strategy

    strategy = Strategy.from_dict(best.strategy)
    if strategy.trains:
        strategy = strategy.model_copy(update={"steps": best.steps or strategy.steps})
    adapter = best.adapter_dir if best.adapter_dir and (Path(best.adapter_dir) / "adapter_config.json").exists() else None
    challenger = _trial_outcomes(best)
    out["challenger_outcomes"] = "from the trial"
    if challenger is None:
        # The trial ran on another node (or was cut short): the same runner scores it again.
        challenger = make_runner(ctx.config.runner).run(ctx.domain, strategy, split="validation", load_adapter=adapter)
        out["challenger_outcomes"] = "scored again"
    return strategy, adapter, challenger


def _challenge(
    ctx: EntryContext, state: ScheduleState, action: Action, result: Any, best: Any, champion_result: Any,
    out: dict[str, Any], started: float, log: Log,
) -> None:
    """Register the chosen strategy as a challenger, move the alias only if it wins; record the decision."""
    from domaintune.champion import challenge, champion_spec, champion_version, load_champion, registered_name, registry_client

    config, domain, entry = ctx.config, ctx.domain, ctx.entry
    strategy, adapter, challenger = _challenger(ctx, best, out)
    metric = config.metric if config.metric in challenger.metrics else next(iter(challenger.metrics), config.metric)
    current = champion_version(registry_client(config.tracking.uri), registered_name(domain.name))
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
