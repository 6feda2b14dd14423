"""One run of an entry at a time: the sweep's holder lock, one per entry, refused with ``LockHeld``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domaintune.errors import DomaintuneError
from domaintune.sweep import HolderLock


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


class EntryLock(HolderLock):
    """``with EntryLock(folder, entry):`` runs the body holding the entry, or raises ``LockHeld``."""

    def __init__(self, folder: str | Path, entry: str):
        super().__init__(folder, entry, label=f"schedule entry {entry!r}")
        self.entry = entry

    def refusal(self, owner: dict[str, Any]) -> LockHeld:
        return LockHeld(self.entry, owner)
