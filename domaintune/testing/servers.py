"""A real ``mlflow server`` on 127.0.0.1, for the tests and benchmarks that need a server.

One door for "start a tracking server on a free port and wait until it answers": SQLite store,
artifacts served through the server (``--artifacts-destination``, as a remote server does),
the job runner off (by default a server starts 16 processes, 2.8 GB; without the job runner and
with one worker it is 2 processes, about 0.5 GB, as measured on a 2-core machine). No pytest here, so
a benchmark may use it too.

    with mlflow_server(tmp_path) as uri:
        SweepTracker(uri, "my-sweep")
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_S = 120  # a busy 2-core machine takes 15-40 s to bring a server up


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    """Whether ``url``'s ``/health`` endpoint answers 200 (an MLflow server or UI is up)."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_answering(url: str, process: subprocess.Popen, timeout_s: float, poll_s: float = 0.5) -> str:
    """Wait until ``url`` answers (``answers``); "" once it does, else why not: the process
    exited, or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while not answers(url):
        if process.poll() is not None:
            return f"exited with {process.returncode}"
        if time.monotonic() > deadline:
            return f"did not answer in {timeout_s:.0f} s"
        time.sleep(poll_s)
    return ""


def stop_group(process: subprocess.Popen, grace_s: float = 20) -> None:
    """End a process started with ``start_new_session=True`` and every helper it spawned."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # mlflow's gunicorn/uvicorn workers outlive a SIGTERM to the leader alone
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace_s)


@contextmanager
def mlflow_server(folder: Path, workers: int = 1, timeout_s: float = START_TIMEOUT_S) -> Iterator[str]:
    """Run a tracking server storing under ``folder``; yields its URI once ``/health`` answers."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    uri = f"http://127.0.0.1:{free_port()}"
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", uri.rsplit(":", 1)[1],
        "--workers", str(workers), "--backend-store-uri", f"sqlite:///{folder / 'server.db'}",
        "--artifacts-destination", str(folder / "artifacts"),
    ]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        why = wait_answering(uri, process, timeout_s)
        if why:
            tail = (folder / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mlflow server on {uri} {why}; its log ({folder / 'server.log'}) ends:\n{tail}")
        yield uri
    finally:
        stop_group(process)
        log.close()
