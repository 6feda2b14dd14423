"""A package that installs whole: the wheel carries every data file the code reads, and the
installed wheel (not this source tree) answers `propose` and `meta eval`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from domaintune.history import load_history

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", str(ROOT), "-w", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "project.license" not in done.stderr  # the deprecated license table warning is gone
    return next(out.glob("domaintune-*.whl"))


def test_the_wheel_holds_the_seed_history_and_every_domain_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "domaintune/data/history/seed.jsonl.gz" in names
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "domaintune" / "data").rglob("*") if p.is_file()}
    assert shipped and shipped <= names, f"left out of the wheel: {sorted(shipped - names)[:5]}"
    assert "domaintune/testing/runners.py" in names  # the runner contract ships for third-party runners


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return target


def _installed_cli(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    # The installed copy comes first on the path, ahead of this checkout's editable install.
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "domaintune", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.heavy
def test_the_installed_wheel_proposes_and_evaluates_learners(installed, tmp_path):
    where = subprocess.run([sys.executable, "-c", "import domaintune; print(domaintune.__file__)"],
                           env={**os.environ, "PYTHONPATH": str(installed)}, cwd=tmp_path, capture_output=True, text=True)
    assert where.stdout.strip().startswith(str(installed))
    proposed = _installed_cli(installed, "propose", "--domain", "gcide-astronomy", "--view", "definition_to_term", "-n", "2", "--json", cwd=tmp_path)
    assert proposed.returncode == 0, proposed.stderr[-3000:]
    assert len(json.loads(proposed.stdout)) == 2
    table = _installed_cli(installed, "meta", "eval", "--seeds", "1", "--json", cwd=tmp_path)
    assert table.returncode == 0, table.stderr[-3000:]
    assert json.loads(table.stdout)["tasks"] == len(load_history().tasks())


def test_a_missing_seed_history_is_an_error_saying_where_it_looked(installed, tmp_path):
    seed = installed / "domaintune" / "data" / "history" / "seed.jsonl.gz"
    moved = seed.with_name("seed.moved")
    seed.rename(moved)
    try:
        result = _installed_cli(installed, "propose", "--domain", "gcide-astronomy", "--json", cwd=tmp_path)
    finally:
        moved.rename(seed)
    assert result.returncode == 2 and f"history file {seed} does not exist" in result.stderr
