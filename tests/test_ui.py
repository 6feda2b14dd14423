"""`domaintune ui` ends its MLflow server with it: after SIGTERM or Ctrl-C nothing it started is
left serving the port (the real `mlflow ui`, about 20 s to answer on 2 cores)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from domaintune.testing.servers import answers, free_port, stop_group, wait_answering

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_ending_domaintune_ui_ends_its_server_and_frees_the_port(tmp_path, how):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "domaintune", "ui", "--port", str(port), "--uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    log = (tmp_path / "ui.log").open("w")
    ui = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    started: list[psutil.Process] = []
    try:
        why = wait_answering(base, ui, 180, poll_s=1)
        assert not why, f"domaintune ui did not come up ({why}): {(tmp_path / 'ui.log').read_text()[-2000:]}"
        started = psutil.Process(ui.pid).children(recursive=True)
        assert started, "domaintune ui should run its server as a child process"
        if how == "SIGTERM":
            os.kill(ui.pid, signal.SIGTERM)  # domaintune alone, as a service manager or `kill` does
        else:
            os.killpg(ui.pid, signal.SIGINT)  # what a terminal sends its foreground group on Ctrl-C
        assert ui.wait(timeout=60) == 0, (tmp_path / "ui.log").read_text()[-2000:]
        _, alive = psutil.wait_procs(started, timeout=10)
        assert alive == [], f"left running after domaintune ui ended: {[(p.pid, p.cmdline()) for p in alive]}"
        time.sleep(0.5)
        assert not answers(base), f"{base} still answers after domaintune ui ended"
    finally:  # whatever failed, leave nothing behind (the server runs in a session of its own)
        stop_group(ui)
        for child in started:
            if child.is_running():
                child.kill()
        log.close()
