"""Helpers for tests that run real sweeps as separate processes (crash, resume, side by side)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REPLAY = str(ROOT / "experiments" / "replay_sweep.yaml")


def cli_env(tracking_uri: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("RAY_ADDRESS", None)
    env.update(extra)
    return env


def start_sweep(tracking_uri: str, storage: Path, *args: str, log: Path | None = None, **env: str) -> subprocess.Popen:
    """``domaintune sweep`` on the replay config in its own session (so a test can end its group)."""
    command = [sys.executable, "-m", "domaintune", "sweep", REPLAY, "-q", "--set", f"storage={storage}", *args]
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(command, env=cli_env(tracking_uri, **env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def run_cli(tracking_uri: str, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "domaintune", *args], env=cli_env(tracking_uri, **env), cwd=ROOT,
        capture_output=True, text=True, timeout=timeout,
    )


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def end_group(process: subprocess.Popen) -> None:
    """Kill a test's process group (the driver and the Ray it started), whatever state it is in."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=30)


def runs(client: Any, experiment: str) -> list[Any]:
    found = client.get_experiment_by_name(experiment)
    return list(client.search_runs([found.experiment_id], max_results=1000)) if found else []


def split(all_runs: list[Any]) -> tuple[list[Any], list[Any]]:
    parents = [r for r in all_runs if r.data.tags.get("domaintune.kind") == "sweep"]
    children = [r for r in all_runs if r.data.tags.get("domaintune.kind") == "trial"]
    return parents, children
