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

from domaintune.schedule._context import Log, stderr_log
from domaintune.schedule._file import load_schedule
from domaintune.schedule._run import run_due


class _Loop:
    """What the scheduler's one job keeps between ticks: whether a run is under way, whether it
    was asked to stop, and how many entries ran; ``stop`` is the SIGTERM/SIGINT handler."""

    def __init__(self, path: str | Path, scheduler: Any, log: Log, on_result: Any):
        self.path, self.scheduler, self.log, self.on_result = path, scheduler, log, on_result
        self.running = self.stopping = False
        self.ran = self.ticks = 0

    def tick(self) -> None:
        if self.stopping:
            return
        self.running = True
        try:
            results = run_due(self.path, log=self.log)
        except (KeyboardInterrupt, SystemExit):
            # Ours raises KeyboardInterrupt; once Ray is up, its own SIGTERM handler raises SystemExit.
            self.log("serve: the running entry was interrupted")
            self.stopping = True
            self.scheduler.shutdown(wait=False)
            return
        except Exception as error:  # noqa: BLE001 - a bad tick is logged; the scheduler keeps serving
            self.log(f"serve: {type(error).__name__}: {error}")
            return
        finally:
            self.running = False
            self.install()  # ray.init replaces the SIGTERM handler with its own
        self.ran += len(results)
        self.ticks += 1
        if self.ticks == 1 and not results:
            self.log("serve: nothing due now")
        for result in results:
            if self.on_result:
                self.on_result(result)
            self.log(f"serve: ran {result['entry']}: {result.get('outcome', result.get('action'))} ({result.get('reason')})")

    def stop(self, signum: int, frame: Any) -> None:
        self.log(f"serve: {signal.Signals(signum).name}: stopping")
        self.stopping = True
        self.scheduler.shutdown(wait=False)
        if self.running:
            raise KeyboardInterrupt  # unwinds the running sweep through its own clean-up

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)


def serve(path: str | Path, poll_seconds: int | None = None, log: Log | None = None, on_result: Any = None) -> int:
    """Block until SIGTERM/SIGINT; returns the number of entries run."""
    from datetime import datetime, timezone

    from apscheduler.executors.debug import DebugExecutor
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.schedulers.blocking import BlockingScheduler

    log = log or stderr_log
    schedule = load_schedule(path)  # a bad file fails here, before anything is scheduled
    every = poll_seconds or schedule.spec.poll_seconds
    scheduler = BlockingScheduler(executors={"default": DebugExecutor()}, timezone="UTC")
    loop = _Loop(path, scheduler, log, on_result)
    loop.install()
    scheduler.add_job(loop.tick, "interval", seconds=every, id="run_due", next_run_time=datetime.now(timezone.utc),
                      max_instances=1, coalesce=True, misfire_grace_time=None)
    log(f"serve: {len(schedule.entries)} entries from {path}, looking for due ones every {every} s (SIGTERM stops)")
    sys.stderr.flush()
    try:
        scheduler.start()
    except JobLookupError:
        # Stopped from inside the running job: the loop then finds its job store already shut down.
        if not loop.stopping:
            raise
    finally:
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            ray.shutdown()
    log(f"serve: stopped after {loop.ran} runs")
    return loop.ran
