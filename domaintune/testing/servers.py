"""A real ``mlflow server`` on 127.0.0.1, for the tests and benchmarks that need a server.

One door for "start a tracking server on a free port and wait until it answers": SQLite store
(or PostgreSQL, as production runs it: ``postgres_server``),
artifacts served through the server (``--artifacts-destination``, as a remote server does),
the job runner off (by default a server starts 16 processes, 2.8 GB; without the job runner and
with one worker it is 2 processes, about 0.5 GB, as measured on a 2-core machine). No pytest here, so
a benchmark may use it too.

    with mlflow_server(tmp_path) as uri:
        SweepTracker(uri, "my-sweep")
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
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
def mlflow_server(folder: Path, workers: int = 1, timeout_s: float = START_TIMEOUT_S, backend: str | None = None) -> Iterator[str]:
    """Run a tracking server storing under ``folder`` (runs in ``backend``, a database URI, when
    given: SQLite in ``folder`` otherwise); yields its URI once ``/health`` answers."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    uri = f"http://127.0.0.1:{free_port()}"
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", uri.rsplit(":", 1)[1],
        "--workers", str(workers), "--backend-store-uri", backend or f"sqlite:///{folder / 'server.db'}",
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


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (initdb, pg_ctl), or None when not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root (CI runs as root): run it as the ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server(timeout_s: float = START_TIMEOUT_S) -> Iterator[str]:
    """A throwaway PostgreSQL on 127.0.0.1 (a fresh data folder, trust auth, database ``mlflow``);
    yields its SQLAlchemy URI, ``postgresql+psycopg2://mlflow@127.0.0.1:PORT/mlflow``. The folder lives under
    the system temp folder, where the ``postgres`` user can reach it."""
    programs = postgres_bin()
    if programs is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="domaintune-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    run = lambda *args: subprocess.run(_as_postgres([str(programs / args[0]), *args[1:]]), capture_output=True, text=True, timeout=timeout_s)  # noqa: E731
    try:
        for step in (
            ("initdb", "-D", str(data), "-U", "mlflow", "--auth=trust", "-E", "UTF8"),
            ("pg_ctl", "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", str(int(timeout_s)),
             "-o", f"-k {folder} -p {port} -c listen_addresses=127.0.0.1", "start"),
            ("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "mlflow", "mlflow"),
        ):
            done = run(*step)
            if done.returncode != 0:
                raise RuntimeError(f"PostgreSQL {step[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        yield f"postgresql+psycopg2://mlflow@127.0.0.1:{port}/mlflow"
    finally:
        if (data / "postmaster.pid").exists():
            run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":  # `make mlflow-postgres`: a served store on PostgreSQL, as production runs one
    with postgres_server() as database, mlflow_server(Path(tempfile.mkdtemp(prefix="domaintune-mlflow-")), backend=database) as served:
        print(f"MLflow on PostgreSQL ({database}) serves {served}; export MLFLOW_TRACKING_URI={served}; Ctrl-C ends both")
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
