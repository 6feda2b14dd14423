"""One run of an entry at a time: a file lock per entry, with its holder's host and pid beside it.

``filelock.FileLock`` takes an ``flock`` on Unix, which the kernel drops when the holding
process dies, so a crashed scheduler never holds an entry for ever. The owner file
(``<entry>.owner.json``: host, pid, since) says who holds it; an owner file whose lock is free
is stale (its holder died) and is taken over, and the takeover is reported. MLflow tags
cannot serve as a lock: they have no compare-and-set.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domaintune.errors import DomaintuneError


class LockHeld(DomaintuneError):
    """Another process runs this entry now."""

    def __init__(self, entry: str, owner: dict[str, Any]):
        self.entry, self.owner = entry, owner
        alive = owner.get("alive")
        state = "" if alive is None else (" (alive)" if alive else " (not running on this host: the lock is being released)")
        super().__init__(
            f"entry {entry!r} is running elsewhere: locked by {owner.get('host', '?')} pid {owner.get('pid', '?')}"
            f" since {owner.get('since', '?')}{state}"
        )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists; it is someone else's
    return True


@dataclass
class EntryLock:
    """``with EntryLock(folder, entry):`` runs the body holding the entry, or raises ``LockHeld``."""

    folder: Path
    entry: str

    def __post_init__(self) -> None:
        from filelock import FileLock

        self.folder = Path(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{self.entry}.lock"
        self.owner_path = self.folder / f"{self.entry}.owner.json"
        self._lock = FileLock(str(self.path), blocking=False)
        self.took_over: dict[str, Any] | None = None  # the stale owner replaced, if any

    def owner(self) -> dict[str, Any] | None:
        """Who holds (or last held) the entry, with ``alive`` when the holder is on this host."""
        try:
            owner = json.loads(self.owner_path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
            owner["alive"] = pid_alive(owner["pid"])
        return owner

    def held_by_other(self) -> dict[str, Any] | None:
        """The live holder, or None when the entry is free (a probe: takes and drops the lock)."""
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout:
            return self.owner() or {"host": "?", "pid": "?"}
        self._lock.release()
        return None

    def acquire(self) -> EntryLock:
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout:
            raise LockHeld(self.entry, self.owner() or {"host": "?", "pid": "?"}) from None
        self.took_over = self.owner()  # an owner file left behind: its holder died without releasing
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.owner_path.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": stamp}))
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self.owner_path.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> EntryLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
