"""One run of an entry at a time: a live holder refuses, a dead holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from domaintune.schedule import EntryLock, LockHeld
from domaintune.sweep import process_alive

HOLD = """
import sys, time
from domaintune.schedule import EntryLock
lock = EntryLock(sys.argv[1], "evo").acquire()
print("held", flush=True)
time.sleep(120)
"""


def _holder(folder) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True, env={**os.environ})
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_live_holder_refuses_and_a_dead_ones_lock_is_taken_over(tmp_path):
    holder = _holder(tmp_path)
    try:
        with pytest.raises(LockHeld, match=rf"locked by .* pid {holder.pid} .*\(alive\)") as refused:
            EntryLock(tmp_path, "evo").acquire()
        assert refused.value.owner["pid"] == holder.pid
        assert EntryLock(tmp_path, "evo").held_by_other()["pid"] == holder.pid
        assert EntryLock(tmp_path, "other").held_by_other() is None  # entries lock separately
    finally:
        holder.send_signal(signal.SIGKILL)  # a crash: no release, the owner file stays behind
        holder.wait()
    assert not process_alive(holder.pid) and (tmp_path / "evo.owner.json").exists()
    with EntryLock(tmp_path, "evo") as lock:
        assert lock.took_over is not None and lock.took_over["pid"] == holder.pid and lock.took_over["alive"] is False
        assert lock.owner()["pid"] == os.getpid()
    assert not (tmp_path / "evo.owner.json").exists()  # a clean release leaves nothing behind
    with EntryLock(tmp_path, "evo") as lock:
        assert lock.took_over is None


def test_two_locks_in_one_process_exclude_each_other(tmp_path):
    first = EntryLock(tmp_path, "evo").acquire()
    try:
        with pytest.raises(LockHeld):
            EntryLock(tmp_path, "evo").acquire()
    finally:
        first.release()
    started = time.perf_counter()
    EntryLock(tmp_path, "evo").acquire().release()
    assert time.perf_counter() - started < 5
