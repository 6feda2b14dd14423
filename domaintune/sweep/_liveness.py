"""Is a sweep's driver still alive? Who holds a sweep? What did a dead driver leave running?

A driver is identified by (host, pid, process start time): a recycled pid is not mistaken
for the old driver. On its own host that identity decides; from another host only the
heartbeat can (a driver refreshes it every ``HEARTBEAT_SECONDS``; after ``STALE_SECONDS``
without one it is presumed dead). The same-sweep lock is an OS file lock (released by the
kernel when its holder dies, however it dies) with a holder file beside it that names the
running sweep in the refusal.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from domaintune.errors import DomaintuneError

HEARTBEAT_SECONDS = 10.0  # how often a driver says it is alive
STALE_SECONDS = 60.0  # a heartbeat older than this, from another host, means the driver is gone

# MLflow tags on a sweep's parent run (the one vocabulary for them).
TAG_HOST, TAG_PID, TAG_PID_STARTED = "domaintune.driver.host", "domaintune.driver.pid", "domaintune.driver.started"
TAG_HEARTBEAT = "domaintune.heartbeat"
TAG_SESSION, TAG_RAY_PIDS, TAG_RAY_LOCAL = "domaintune.ray.session_dir", "domaintune.ray.pids", "domaintune.ray.local"


class SweepBusyError(DomaintuneError):
    """The same sweep is already running (another driver holds it)."""


@dataclass(frozen=True)
class Driver:
    host: str
    pid: int
    started: float  # the process's start time (seconds since the epoch)

    def tags(self) -> dict[str, str]:
        return {TAG_HOST: self.host, TAG_PID: str(self.pid), TAG_PID_STARTED: f"{self.started:.2f}"}

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def process_started(pid: int) -> float | None:
    """The start time of process ``pid``, or None when there is no such process."""
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None


def this_driver() -> Driver:
    return Driver(socket.gethostname(), os.getpid(), process_started(os.getpid()) or time.time())


def driver_alive(host: str, pid: int | None, started: float | None, heartbeat: float | None, now: float | None = None) -> bool | None:
    """True / False when it can be told, None when nothing identifies the driver (a run from an
    older release, without driver tags).

    On this host the process table decides (a fresh heartbeat from a dead pid is still dead).
    Elsewhere the heartbeat decides.
    """
    now = time.time() if now is None else now
    if host == socket.gethostname() and pid:
        found = process_started(pid)
        # Start times agree within a second or two across psutil reads; a reused pid starts later.
        return found is not None and (started is None or abs(found - started) < 2.0)
    if heartbeat is None:
        return None
    return now - heartbeat < STALE_SECONDS


def run_driver_alive(tags: dict[str, str], now: float | None = None) -> bool | None:
    """``driver_alive`` from a parent run's tags."""

    def number(key: str) -> float | None:
        try:
            return float(tags[key])
        except (KeyError, ValueError):
            return None

    if TAG_HOST not in tags:
        return None
    pid = number(TAG_PID)
    return driver_alive(tags[TAG_HOST], int(pid) if pid else None, number(TAG_PID_STARTED), number(TAG_HEARTBEAT), now)


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


class SweepLock:
    """At most one driver per sweep key on this storage: ``acquire()`` or ``SweepBusyError``.

    The OS lock (``filelock``) dies with its holder, so a crash never holds it for ever; the
    holder file beside it says who holds it (host, pid, MLflow run, heartbeat), for the message.
    """

    def __init__(self, folder: str | Path, key: str, label: str):
        from filelock import FileLock

        self.folder = Path(folder)
        self.path = self.folder / f"{key}.lock"
        self.holder_path = self.folder / f"{key}.holder.json"
        self.label = label
        self._lock = FileLock(str(self.path), blocking=False)

    def acquire(self, info: dict[str, Any]) -> None:
        from filelock import Timeout

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except Timeout:
            raise SweepBusyError(self.busy_message(self.holder())) from None
        except OSError as error:
            raise DomaintuneError(f"storage: cannot write the sweep lock in {self.folder}: {error}") from None
        self.write(info)

    def holder(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.holder_path.read_text()))
        except (OSError, ValueError):
            return {}

    def write(self, info: dict[str, Any]) -> None:
        """(Re)write the holder file (the heartbeat refreshes ``heartbeat`` in it)."""
        tmp = self.holder_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**info, "heartbeat": time.time()}))
        tmp.replace(self.holder_path)

    def busy_message(self, holder: dict[str, Any]) -> str:
        who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
        run = holder.get("parent_run_id") or "not yet recorded"
        age = f"{time.time() - float(holder['heartbeat']):.0f} s ago" if holder.get("heartbeat") else "unknown"
        return (
            f"sweep {self.label} is already running ({who}, MLflow run {run}, started "
            f"{holder.get('started', '?')}, last heartbeat {age}); wait for it, stop it, or pass "
            "--allow-duplicate to run a second copy anyway"
        )

    def release(self) -> None:
        if self._lock.is_locked:
            try:
                self.holder_path.unlink(missing_ok=True)
            except OSError:
                pass
            self._lock.release()


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


def reap_ray_session(session_dir: str) -> list[int]:
    """SIGKILL what a dead driver's own local Ray left behind (they ignore SIGTERM); the pids killed."""
    import psutil

    processes = ray_session_processes(session_dir)
    for process in processes:
        try:
            process.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    psutil.wait_procs(processes, timeout=5)
    return [p.pid for p in processes]


def record(path: str | Path, values: dict[str, Any]) -> None:
    """A small JSON file written atomically (used for the holder file and tests)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(values))
    tmp.replace(path)


def as_dict(driver: Driver) -> dict[str, Any]:
    return asdict(driver)
