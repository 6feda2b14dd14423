"""MLflow writes sent in the background, so a sweep's loop does not wait on the tracking server.

A trial's run costs several requests (inputs, params, metrics, tags, outcomes, its end); on a
served store each is a round trip, and made one after another they bound a sweep to a few
trials a second. Here the writes of one run keep their order, different runs' writes go in
parallel, and ``flush`` waits for all of them: the sweep flushes before Ray saves its
experiment state, so MLflow is never behind what Ray would restore.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from domaintune.errors import TrackingError


def writer_threads(uri: str) -> int:
    """Parallel writers a store takes: a SQLite file has one writer at a time; a server or database more."""
    return 1 if uri.startswith("sqlite:") else 4


class WriteQueue:
    """Runs ``put`` writes on ``threads`` threads (0: at once, in the caller), each run's in order.

    A write that fails is kept, not raised in its thread: the next ``flush`` raises the first
    failure (what was written, the error), so the sweep stops the way a failed synchronous write would.
    """

    def __init__(self, threads: int = 0):
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mlflow-write") if threads > 0 else None
        self._last: dict[str, Future] = {}  # run id -> its latest write
        self._failures: list[str] = []
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type, tuple[int]]:
        """Ray pickles the sweep's callbacks with its Tuner: a copy is a new, empty queue."""
        return WriteQueue, (self.threads,)

    @property
    def background(self) -> bool:
        return self._pool is not None

    def put(self, run_id: str, what: str, write: Callable[[], Any]) -> None:
        """Queue ``write`` after ``run_id``'s earlier writes (``what`` names it in a failure)."""
        if self._pool is None:
            write()
            return
        with self._lock:
            # A pool takes tasks first in, first out, so a run's earlier write has started (or
            # ended) before this one waits on it: a chain never waits on a task still queued.
            self._last[run_id] = self._pool.submit(self._after, self._last.get(run_id), what, write)

    def _after(self, before: Future | None, what: str, write: Callable[[], Any]) -> None:
        if before is not None:
            before.result()  # never raises: _after keeps failures
        try:
            write()
        except Exception as error:  # noqa: BLE001 - kept for flush to raise in the sweep's thread
            with self._lock:
                self._failures.append(f"{what}: {type(error).__name__}: {error}")

    def flush(self) -> None:
        """Wait for every queued write; raise ``TrackingError`` naming the first that failed."""
        with self._lock:
            pending = list(self._last.values())
        wait(pending)
        with self._lock:
            self._last = {run: future for run, future in self._last.items() if not future.done()}
            failures, self._failures = self._failures, []
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise TrackingError(f"MLflow write failed: {failures[0]}{more}")

    def close(self) -> None:
        """Flush, then stop the threads (a closed queue writes at once, in the caller)."""
        try:
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
