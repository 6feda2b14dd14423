"""``schedule serve``: an APScheduler loop in the foreground that SIGTERM stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

import domaintune

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def test_serve_polls_and_stops_cleanly_on_sigterm(tmp_path, tracking_uri):
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(yaml.safe_dump({
        "lock_dir": str(tmp_path / "locks"),
        "entries": [{"name": "off", "config": str(EXPERIMENTS / "replay_sweep.yaml"), "enabled": False, "cron": "0 3 * * 1"}],
    }))
    root = str(Path(domaintune.__file__).resolve().parents[1])
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": root, "DOMAINTUNE_DOMAINS": str(tmp_path / "domains")}
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        process = subprocess.Popen([sys.executable, "-m", "domaintune", "schedule", "serve", str(schedule), "--poll", "1"],
                                   stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=tmp_path)
    try:
        deadline = time.time() + 240
        # A first look done (it opens the schedule's MLflow experiment); the loop is idle, polling.
        while time.time() < deadline and "nothing due now" not in log.read_text():
            assert process.poll() is None, log.read_text()
            time.sleep(0.5)
        time.sleep(3)
        assert process.poll() is None, log.read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert "SIGTERM: stopping" in text and "stopped after 0 runs" in text
    assert "Traceback" not in text
