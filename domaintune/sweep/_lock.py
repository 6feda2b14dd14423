"""One lock per sweep or schedule entry, and whether the process that holds it still runs.

A process is named by (host, pid, start time): a reused pid starts later, so it is never taken
for the process that held the lock. The lock is an OS file lock (``filelock`` takes an
``flock``, which the kernel drops when its holder dies, however it dies) with an owner file
beside it that names the holder for a refusal's message; an owner file whose lock is free is
stale (its holder died) and is taken over, and the takeover is reported. MLflow tags cannot
serve as a lock: they have no compare-and-set.
"""

from __future__ import annotations

import json
import os
import socket
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from domaintune.errors import DomaintuneError

SAME_START_SECONDS = 2.0  # start times agree within a second or two across psutil reads


def process_started(pid: int) -> float | None:
    """The start time of process ``pid`` on this host, or None when there is no such process."""
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None


def process_alive(pid: int, started: float | None = None) -> bool:
    """Whether process ``pid`` runs on this host and, given its start time, is still that process."""
    found = process_started(pid)
    return found is not None and (started is None or abs(found - started) < SAME_START_SECONDS)


@dataclass(frozen=True)
class Holder:
    """A process that holds a lock or drives a sweep."""

    host: str
    pid: int
    started: float  # the process's start time (seconds since the epoch)
    label: str = ""  # what it runs, for messages

    @classmethod
    def this_process(cls, label: str = "") -> Holder:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, process_started(pid) or time.time(), label)


class HolderLock(ABC):
    """At most one process holds ``key`` in ``folder``: ``acquire()`` or the subclass's ``refusal``."""

    def __init__(self, folder: str | Path, key: str, label: str = ""):
        from filelock import FileLock

        self.folder = Path(folder)
        self.path = self.folder / f"{key}.lock"
        self.owner_path = self.folder / f"{key}.owner.json"
        self.holder = Holder.this_process(label or key)
        self.since = ""
        self.took_over: dict[str, Any] | None = None  # the stale owner replaced, if any
        self._lock = FileLock(str(self.path), blocking=False)

    @abstractmethod
    def refusal(self, owner: dict[str, Any]) -> DomaintuneError:
        """The error that says who holds the lock."""

    def owner(self) -> dict[str, Any] | None:
        """Who holds (or last held) the lock, with ``alive`` when the holder is on this host."""
        try:
            owner = dict(json.loads(self.owner_path.read_text()))
        except (OSError, ValueError):
            return None
        started = owner.get("started")
        if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
            owner["alive"] = process_alive(owner["pid"], started if isinstance(started, (int, float)) else None)
        return owner

    def _take(self) -> bool:
        """Take the OS lock if it is free."""
        from filelock import Timeout

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except Timeout:
            return False
        except OSError as error:
            raise DomaintuneError(f"cannot write the lock {self.path}: {error}") from None
        return True

    def held_by_other(self) -> dict[str, Any] | None:
        """The holder, or None when the lock is free (a probe: takes and drops the lock)."""
        if not self._take():
            return self.owner() or {"host": "?", "pid": "?"}
        self._lock.release()
        return None

    def acquire(self, **extra: Any) -> HolderLock:
        """Hold the lock, the owner file naming this process (and ``extra``), or raise the refusal."""
        if not self._take():
            raise self.refusal(self.owner() or {"host": "?", "pid": "?"})
        self.took_over = self.owner()  # an owner file left behind: its holder died without releasing
        self.since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.write(**extra)
        return self

    def write(self, **extra: Any) -> None:
        """(Re)write the owner file: this process, since when, and ``extra`` (a sweep's run, its heartbeat)."""
        tmp = self.owner_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**asdict(self.holder), "since": self.since, **extra}))
        tmp.replace(self.owner_path)

    def release(self) -> None:
        if self._lock.is_locked:
            try:
                self.owner_path.unlink(missing_ok=True)
            except OSError:
                pass
            self._lock.release()

    def __enter__(self) -> HolderLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


class SweepBusyError(DomaintuneError):
    """The same sweep is already running (another driver holds it)."""


class SweepLock(HolderLock):
    """At most one driver per sweep key on this storage; its owner file names the MLflow run and heartbeat."""

    def refusal(self, owner: dict[str, Any]) -> SweepBusyError:
        return SweepBusyError(self.busy_message(owner))

    def busy_message(self, owner: dict[str, Any]) -> str:
        who = f"pid {owner.get('pid', '?')} on {owner.get('host', '?')}"
        run = owner.get("parent_run_id") or "not yet recorded"
        age = f"{time.time() - float(owner['heartbeat']):.0f} s ago" if owner.get("heartbeat") else "unknown"
        return (
            f"sweep {self.holder.label} is already running ({who}, MLflow run {run}, started "
            f"{owner.get('since', '?')}, last heartbeat {age}); wait for it, stop it, or pass "
            "--allow-duplicate to run a second copy anyway"
        )
