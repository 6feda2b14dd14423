"""The MLflow dashboard in a real browser: `domaintune ui` on 127.0.0.1, headless Chromium via
selenium, on a store holding a real (replay) sweep. A user who follows the printed link lands
on the runs table, finds the sweep, its trials by strategy name, a metric column, and the
interactive report rendered in the artifact viewer.

Needs Debian's ``chromium`` and ``chromium-driver`` (.ci/run installs them) and selenium (the
test extra). Set DOMAINTUNE_SCREENSHOTS=docs to refresh the README's screenshots.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domaintune.testing.servers import free_port, stop_group, wait_answering

ROOT = Path(__file__).resolve().parent.parent


def _missing() -> list[str]:
    missing = [name for name in ("chromium", "chromedriver") if not shutil.which(name)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    return missing


# Checked at collection, so a machine without a browser skips before the sweep fixture runs.
pytestmark = pytest.mark.skipif(
    bool(_missing()), reason=f"browser test skipped: {', '.join(_missing())} not installed (Debian: apt-get install chromium chromium-driver)"
)


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1800,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


@pytest.fixture
def ui(warm_replay_sweep):
    """`domaintune ui` on the sweep's store, as a user starts it; yields (base URL, printed lines)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "domaintune", "ui", "--port", str(port), "--uri", warm_replay_sweep["uri"]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        why = wait_answering(base, process, 180, poll_s=1)  # the server answers after 15-40 s on a busy 2-core machine
        if why:
            pytest.fail(f"domaintune ui did not come up ({why}): {process.stdout.read() if process.poll() is not None else 'timeout'}")
        yield base, process
    finally:
        stop_group(process, grace_s=30)


def _wait_text(driver, pattern: str, timeout: float = 60) -> str:
    deadline = time.time() + timeout
    body = ""
    while time.time() < deadline:
        body = driver.find_element("tag name", "body").text
        if re.search(pattern, body):
            return body
        time.sleep(0.5)
    raise AssertionError(f"{pattern!r} never appeared; the page said: {body[:2000]}")


def _shoot(driver, name: str) -> None:
    folder = os.environ.get("DOMAINTUNE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


@pytest.mark.slow
@pytest.mark.heavy
def test_a_user_finds_the_sweep_its_trials_a_metric_and_the_report_in_mlflow(warm_replay_sweep, ui):
    from selenium.webdriver.common.by import By

    driver = _browser()
    base, process = ui
    result = warm_replay_sweep["result"]
    try:
        # The link `domaintune ui` prints for the experiment lands on its runs table.
        printed = ""
        deadline = time.time() + 30
        while "/runs?workflowType=machine_learning" not in printed and time.time() < deadline:
            printed += process.stdout.readline()
        link = re.search(r"(http://127\.0\.0\.1:\d+/#/experiments/\d+/runs\?\S+)", printed)
        assert link, f"domaintune ui printed no runs link: {printed}"
        driver.get(link.group(1))
        body = _wait_text(driver, r"replay-sweep")
        assert "Traces 0" not in body and "Run Name" in body  # the runs table, not the GenAI overview
        assert "gcide-law:definition_to_term" in body  # the Dataset column
        # Expand the sweep to see its trials, named by strategy.
        row = driver.find_element(By.XPATH, "//*[contains(text(), 'replay-sweep')]/ancestor::*[@role='row'][1]")
        row.find_element(By.XPATH, ".//button").click()
        for close in driver.find_elements(By.CSS_SELECTOR, "button[aria-label='Close'], button[aria-label='Close assistant']"):
            try:  # the assistant panel hides half the table in a screenshot; closing it is cosmetic
                close.click()
            except Exception:  # noqa: BLE001
                pass
        labels = [t["label"] for t in result["trials"]]
        body = _wait_text(driver, r"\d+ · " + re.escape(labels[0]))
        assert sum(bool(re.search(r"\d+ · " + re.escape(label), body)) for label in set(labels)) == len(set(labels))
        headers = " ".join(h.text for h in driver.find_elements(By.CSS_SELECTOR, "[role='columnheader']"))
        assert "accuracy" in headers, headers  # a metric column, from the shared view
        _shoot(driver, "mlflow-runs.png")

        # The sweep run's description and its interactive report (rendered in a sandboxed iframe).
        run, experiment = result["parent_run_id"], result["experiment_id"]
        driver.get(f"{base}/#/experiments/{experiment}/runs/{run}?workflowType=machine_learning")
        _wait_text(driver, r"Best strategy")
        _shoot(driver, "mlflow-sweep-run.png")
        driver.get(f"{base}/#/experiments/{experiment}/runs/{run}/artifacts/report.html?workflowType=machine_learning")
        body = _wait_text(driver, r"report\.html")
        deadline = time.time() + 90
        frames = []
        while not frames and time.time() < deadline:
            frames = driver.find_elements(By.TAG_NAME, "iframe")
            time.sleep(1)
        assert frames, f"the report is not shown in an iframe: {driver.current_url} {body[:1500]}"
        driver.switch_to.frame(frames[0])
        deadline, plots = time.time() + 90, []
        while len(plots) < 4 and time.time() < deadline:  # plotly draws its SVGs once its script ran
            plots = driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")
            time.sleep(1)
        assert len(plots) >= 4, "the report's plotly figures did not render"
        assert "Optimization history" in driver.find_element(By.TAG_NAME, "body").text
        driver.switch_to.default_content()
        _shoot(driver, "mlflow-report.png")
    finally:
        driver.quit()
