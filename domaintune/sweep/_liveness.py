"""Is a sweep's driver still alive? What did a dead driver leave running?

A driver is a ``Holder`` (host, pid, process start time): a recycled pid is not mistaken for
the old driver. On its own host that identity decides; from another host only the heartbeat
can (a driver refreshes it every ``HEARTBEAT_SECONDS``; after ``STALE_SECONDS`` without one it
is presumed dead). The same-sweep lock is ``SweepLock`` (``_lock``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from domaintune.sweep._lock import Holder, process_alive
from domaintune.tracking import Tag

HEARTBEAT_SECONDS = 10.0  # how often a driver says it is alive
STALE_SECONDS = 60.0  # a heartbeat older than this, from another host, means the driver is gone


def driver_tags(driver: Holder) -> dict[str, str]:
    """A driver's identity as its sweep's parent run records it."""
    return {Tag.DRIVER_HOST: driver.host, Tag.DRIVER_PID: str(driver.pid), Tag.DRIVER_STARTED: f"{driver.started:.2f}"}


def run_driver_alive(tags: dict[str, str], now: float | None = None) -> bool | None:
    """Whether a parent run's driver lives: True / False when it can be told, None when nothing
    identifies the driver (a run from an older release, without driver tags).

    On this host the process table decides (a fresh heartbeat from a dead pid is still dead).
    Elsewhere the heartbeat decides.
    """

    def number(key: str) -> float | None:
        try:
            return float(tags[key])
        except (KeyError, ValueError):
            return None

    if Tag.DRIVER_HOST not in tags:
        return None
    pid = number(Tag.DRIVER_PID)
    if tags[Tag.DRIVER_HOST] == socket.gethostname() and pid:
        return process_alive(int(pid), number(Tag.DRIVER_STARTED))
    heartbeat = number(Tag.HEARTBEAT)
    if heartbeat is None:
        return None
    return (time.time() if now is None else now) - heartbeat < STALE_SECONDS


class Heartbeat:
    """Calls ``beat()`` every ``interval`` seconds on a daemon thread until ``stop()``.

    A failing beat (a tracking server briefly away) is retried at the next tick, never raised:
    a heartbeat must not kill the sweep it reports on.
    """

    def __init__(self, beat: Callable[[], None], interval: float = HEARTBEAT_SECONDS):
        self.beat, self.interval = beat, interval
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="domaintune-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - see the class docstring
                self.failures += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)


def ray_session_processes(session_dir: str) -> list[Any]:
    """This user's processes that belong to one Ray session: their command line or an open file
    (Ray's agents rename themselves ``ray::DashboardAgent`` but keep their log files open) lies
    in ``session_dir``. Nothing outside that session is ever matched."""
    import psutil

    session = os.path.realpath(session_dir.rstrip("/"))
    if not session or os.path.basename(session) in ("", "ray", "tmp"):
        return []  # never match a whole temp folder
    marker = session + "/"
    found = []
    for process in psutil.process_iter(["pid", "uids", "cmdline"]):
        if process.pid == os.getpid():
            continue
        try:
            if process.info["uids"] and process.info["uids"].real != os.getuid():
                continue
            cmdline = " ".join(process.info["cmdline"] or [])
            if session in cmdline or any(f.path.startswith(marker) for f in process.open_files()):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def sessions_started_by(pid: int, started: float) -> list[str]:
    """Session folders of the local Rays a driver started itself: Ray names them
    ``session_<time>_<micros>_<pid of the process that started it>`` in its temp folder (a driver
    that joined a cluster started none). For a driver killed before it recorded its session."""
    import glob
    import tempfile

    root = os.path.join(os.environ.get("RAY_TMPDIR") or tempfile.gettempdir(), "ray")
    found = []
    for path in glob.glob(os.path.join(root, f"session_*_{pid}")):
        try:
            if os.path.getmtime(path) >= started - 5 and not os.path.islink(path):
                found.append(path)
        except OSError:
            continue
    return found


def reap_ray_session(session_dir: str, passes: int = 3) -> list[int]:
    """SIGKILL what a dead driver's own local Ray left behind (they ignore SIGTERM); the pids killed.
    A driver killed while its Ray started leaves a raylet that may still be spawning its agents
    as the first pass kills it (benchmarks/faults.py found two such agents left), so the session
    is looked at again until a pass finds nothing."""
    import time

    import psutil

    killed: list[int] = []
    for number in range(passes):
        processes = ray_session_processes(session_dir)
        if not processes:
            break
        for process in processes:
            try:
                process.kill()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        psutil.wait_procs(processes, timeout=5)
        killed += [p.pid for p in processes]
        if number + 1 < passes:
            time.sleep(1)
    return killed

