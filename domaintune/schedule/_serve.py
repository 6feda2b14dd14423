"""``domaintune schedule serve``: a scheduler in the foreground that runs due entries as they come due.

APScheduler 3.11 (a well-kept library, no hand-written cron parser) polls ``run_due`` every
``poll_seconds``; cron expressions are evaluated by croniter inside ``run_due`` (APScheduler
3.x's ``CronTrigger.from_crontab`` reads weekday numbers off by one, apscheduler#286). Jobs run
in the main thread (``DebugExecutor``) so that a sweep's Ray driver and its signal handling
stay where they expect to be. SIGTERM or SIGINT stops it cleanly: idle, it exits at once;
during a run, the run is interrupted (its MLflow runs are closed KILLED, the schedule records
it as interrupted, the entry's lock is released) and then it exits.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

from domaintune.schedule._file import load_schedule
from domaintune.schedule._run import Log, _stderr, run_due


def serve(path: str | Path, poll_seconds: int | None = None, log: Log | None = None, on_result: Any = None) -> int:
    """Block until SIGTERM/SIGINT; returns the number of entries run."""
    from apscheduler.executors.debug import DebugExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    log = log or _stderr
    schedule = load_schedule(path)  # a bad file fails here, before anything is scheduled
    every = poll_seconds or schedule.spec.poll_seconds
    scheduler = BlockingScheduler(executors={"default": DebugExecutor()}, timezone="UTC")
    state = {"running": False, "stopping": False, "ran": 0, "ticks": 0}

    def tick() -> None:
        if state["stopping"]:
            return
        state["running"] = True
        try:
            results = run_due(path, log=log)
        except (KeyboardInterrupt, SystemExit):
            # Ours raises KeyboardInterrupt; once Ray is up, its own SIGTERM handler raises SystemExit.
            log("serve: the running entry was interrupted")
            state["stopping"] = True
            scheduler.shutdown(wait=False)
            return
        except Exception as error:  # noqa: BLE001 - a bad tick is logged; the scheduler keeps serving
            log(f"serve: {type(error).__name__}: {error}")
            return
        finally:
            state["running"] = False
            install()  # ray.init replaces the SIGTERM handler with its own
        state["ran"] += len(results)
        state["ticks"] += 1
        if state["ticks"] == 1 and not results:
            log("serve: nothing due now")
        for result in results:
            if on_result:
                on_result(result)
            log(f"serve: ran {result['entry']}: {result.get('outcome', result.get('action'))} ({result.get('reason')})")

    def stop(signum: int, frame: Any) -> None:
        log(f"serve: {signal.Signals(signum).name}: stopping")
        state["stopping"] = True
        scheduler.shutdown(wait=False)
        if state["running"]:
            raise KeyboardInterrupt  # unwinds the running sweep through its own clean-up

    def install() -> None:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    install()
    from datetime import datetime, timezone

    scheduler.add_job(tick, "interval", seconds=every, id="run_due", next_run_time=datetime.now(timezone.utc),
                      max_instances=1, coalesce=True, misfire_grace_time=None)
    log(f"serve: {len(schedule.entries)} entries from {path}, looking for due ones every {every} s (SIGTERM stops)")
    sys.stderr.flush()
    from apscheduler.jobstores.base import JobLookupError

    try:
        scheduler.start()
    except JobLookupError:
        # Stopped from inside the running job: the loop then finds its job store already shut down.
        if not state["stopping"]:
            raise
    finally:
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            ray.shutdown()
    log(f"serve: stopped after {state['ran']} runs")
    return int(state["ran"])
