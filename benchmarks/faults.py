"""Crash a real sweep's driver with kill -9 at chosen and random moments, resume it each time, count what broke.

A real sweep (Ray Tune + Optuna + ASHA + MLflow, trials answered by the replay runner slowed
to ``--delay`` seconds each) is run once uninterrupted, then, for each seed, again with its
driver killed ``--kills`` times and resumed with ``domaintune sweep CONFIG --resume`` after
each kill. The kills of a seed come in a seeded order from three kinds: ``ray-start`` (as soon
as the driver's own Ray has started its first process: Ray is starting), ``state-write`` (the
moment Ray's experiment-state file changes: Ray is writing its state) and ``random`` (uniform
over the uninterrupted sweep's wall time); a kind whose moment never comes before the sweep
ends is reported as such. Prints one row per seed: trials finished, finished trials run twice
(goal 0), runs left RUNNING at the end (goal 0), Ray processes the killed drivers left (goal
0), and the resumed sweep's wall time over the uninterrupted one. Writes
benchmarks/results/faults.json.

    python benchmarks/faults.py [--seeds 10] [--kills 3] [--samples 8] [--delay 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONFIG = "experiments/replay_sweep.yaml"
EXPERIMENT = "domaintune-replay"


def _start(uri: str, storage: Path, overrides: list[str], resume: bool, log: Path | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "domaintune", "sweep", CONFIG, "-q", "--set", f"storage={storage}", *overrides]
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("RAY_ADDRESS", None)
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(command + (["--resume"] if resume else []), cwd=ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _end_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _sessions(uri: str) -> set[str]:
    from mlflow.tracking import MlflowClient

    from domaintune.tracking import Tag

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is None:
        return set()
    return {r.data.tags[Tag.RAY_SESSION] for r in client.search_runs([found.experiment_id]) if Tag.RAY_SESSION in r.data.tags}


def _finished(uri: str) -> bool:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([found.experiment_id], "tags.`domaintune.kind` = 'sweep'") if found else []
    return bool(runs) and all(r.info.status == "FINISHED" for r in runs)


def uninterrupted(work: Path, overrides: list[str]) -> float:
    uri = f"sqlite:///{work / 'plain.db'}"
    began = time.perf_counter()
    process = _start(uri, work / "plain-ray", overrides, resume=False)
    code = process.wait()
    wall = time.perf_counter() - began
    _end_group(process)
    if code != 0:
        raise SystemExit(f"the uninterrupted sweep failed (exit {code})")
    return wall


KINDS = ("ray-start", "state-write", "random")


def _own_ray_started(process: subprocess.Popen) -> bool:
    """Whether the driver has started its own Ray (a ``gcs_server`` or ``raylet`` in its process group)."""
    import psutil

    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for child in children:
        try:
            if any(name in " ".join(child.cmdline() or []) for name in ("gcs_server", "raylet")):
                return True
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue  # it ended while we looked
    return False


def _state_stamp(storage: Path) -> tuple[float, int]:
    """The newest experiment-state file's modification time and size (0, 0 when none)."""
    stamps = [(p.stat().st_mtime, p.stat().st_size) for p in storage.glob("*/experiment_state-*.json")]
    return max(stamps) if stamps else (0.0, 0)


def _wait_for(process: subprocess.Popen, kind: str, window: float, storage: Path, rng: random.Random) -> bool:
    """Wait for the kill moment of ``kind``; False when the driver ended first (or it never came)."""
    deadline = time.monotonic() + (rng.uniform(0.0, window) if kind == "random" else 3 * window + 60)
    before = _state_stamp(storage)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if kind == "ray-start" and _own_ray_started(process):
            return True
        if kind == "state-write" and _state_stamp(storage) != before:
            return True
        time.sleep(0.02)
    return kind == "random"


def faulted(work: Path, overrides: list[str], kinds: list[str], window: float, rng: random.Random) -> dict:
    import psutil

    from domaintune.sweep import ray_session_processes, sessions_started_by

    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{work / 'faults.db'}"
    storage = work / "faults-ray"
    wall, moments, sessions_killed = 0.0, [], set()
    # The store exists before any driver starts: this script reads it while a driver runs, and two
    # processes creating one new SQLite store at once collide in MLflow's schema migration.
    MlflowClient(uri).search_experiments()
    for attempt, kind in enumerate(kinds):
        began_at = time.time()
        process = _start(uri, storage, overrides, resume=attempt > 0, log=work / f"attempt{attempt}.log")
        began = time.perf_counter()
        killed = _wait_for(process, kind, window, storage, rng)
        if killed:
            known = _sessions(uri)
            os.kill(process.pid, signal.SIGKILL)  # the driver alone, as an OOM kill would
            process.wait()
            sessions_killed |= _sessions(uri) | known | set(sessions_started_by(process.pid, began_at))
            if _finished(uri):  # killed while it was already tidying up: nothing left to resume
                killed = False
        else:
            code = process.wait()
            if code != 0:
                print(f"attempt {attempt} exited {code}:\n" + (work / f"attempt{attempt}.log").read_text()[-3000:], file=sys.stderr)
        wall += time.perf_counter() - began
        moments.append({"kind": kind, "after_s": round(time.perf_counter() - began, 1), "killed": killed})
        if not killed:
            break
        # What a killed driver's own Ray left is reaped by the next --resume: not here.
    code = 0
    if not _finished(uri):
        began = time.perf_counter()
        final = _start(uri, storage, overrides, resume=True, log=work / "final.log")
        code = final.wait()
        if code != 0:
            print(f"the final resume exited {code}:\n" + (work / "final.log").read_text()[-3000:], file=sys.stderr)
        wall += time.perf_counter() - began
        _end_group(final)
    time.sleep(5)  # what the last resume reaped has gone by then
    leftovers = {}
    for s, process in ((s, p) for s in sorted(sessions_killed) for p in ray_session_processes(s)):
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                leftovers[process.pid] = f"{process.name()} (parent {process.ppid()}, {os.path.basename(s)})"
        except psutil.NoSuchProcess:
            continue
    return {"uri": uri, "wall_s": wall, "final_exit": code, "kills": moments, "leftover_ray_pids": sorted(leftovers), "leftover_ray_names": sorted(leftovers.values())}


def count(uri: str) -> dict:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = list(client.search_runs([experiment.experiment_id], max_results=10_000, order_by=["attributes.start_time ASC"]))
    parents = [r for r in runs if r.data.tags.get("domaintune.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("domaintune.kind") == "trial"]
    finished = Counter(c.data.tags["domaintune.trial_id"] for c in children if c.info.status == "FINISHED")
    # A finished trial run twice: any later run of a trial id after one of its runs FINISHED.
    rerun = 0
    seen_finished: set[str] = set()
    for child in children:
        trial_id = child.data.tags["domaintune.trial_id"]
        if trial_id in seen_finished:
            rerun += 1
        if child.info.status == "FINISHED":
            seen_finished.add(trial_id)
    return {
        "parent_runs": len(parents),
        "parent_status": [p.info.status for p in parents],
        "trials_finished": len(finished),
        "finished_trials_run_twice": rerun,
        "runs_left_running": sum(r.info.status == "RUNNING" for r in runs),
        "runs_killed": sum(r.info.status == "KILLED" for r in runs),
    }


def one_seed(seed: int, plain: float, overrides: list[str], kills: int) -> dict:
    rng = random.Random(seed)
    kinds = [KINDS[i % len(KINDS)] for i in range(kills)]
    rng.shuffle(kinds)
    work = Path(tempfile.mkdtemp(prefix=f"faults-{seed}-"))
    crashed = faulted(work, overrides, kinds, window=plain, rng=rng)
    return {"seed": seed, **count(crashed["uri"]), "resumed_wall_s": round(crashed["wall_s"], 1), "wall_ratio": round(crashed["wall_s"] / plain, 2),
            "kills": crashed["kills"], "final_exit": crashed["final_exit"], "leftover_ray_processes": len(crashed["leftover_ray_pids"]),
            "leftover_ray_names": crashed["leftover_ray_names"]}


def show(rows: list[dict], samples: int) -> None:
    print(f"{'seed':>4}  {'kills (kind at s; - = not killed)':<58} {'finished':>8} {'run twice':>9} {'RUNNING':>7} {'Ray left':>8} {'exit':>4} {'wall x':>6}")
    for r in rows:
        kills = ", ".join(f"{k['kind']}@{k['after_s']}" + ("" if k["killed"] else "-") for k in r["kills"])
        print(f"{r['seed']:>4}  {kills:<58} {r['trials_finished']:>5}/{samples:<2} {r['finished_trials_run_twice']:>9} {r['runs_left_running']:>7} "
              f"{r['leftover_ray_processes']:>8} {r['final_exit']:>4} {r['wall_ratio']:>6}")
    made = sum(k["killed"] for r in rows for k in r["kills"])
    by_kind = Counter(k["kind"] for r in rows for k in r["kills"] if k["killed"])
    print(f"all {len(rows)} seeds: {made} kills made ({', '.join(f'{n} {k}' for k, n in sorted(by_kind.items()))}); "
          f"trials finished {sum(r['trials_finished'] for r in rows)}/{samples * len(rows)}, run twice {sum(r['finished_trials_run_twice'] for r in rows)}, "
          f"left RUNNING {sum(r['runs_left_running'] for r in rows)}, Ray processes left {sum(r['leftover_ray_processes'] for r in rows)}, "
          f"final resumes that failed {sum(r['final_exit'] != 0 for r in rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds, each a crashed-and-resumed sweep")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (seeds first..first+N-1)")
    parser.add_argument("--kills", type=int, default=3, help="kills per seed (kinds: ray-start, state-write, random)")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds each replayed trial takes")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "faults.json")
    args = parser.parse_args()
    overrides = ["--set", f"search.num_samples={args.samples}", "--set", f"runner.replay_delay={args.delay}"]
    plain = uninterrupted(Path(tempfile.mkdtemp(prefix="faults-plain-")), overrides)
    print(f"uninterrupted sweep: {plain:.1f} s for {args.samples} trials", flush=True)
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        rows.append(one_seed(seed, plain, overrides, args.kills))
        print(json.dumps(rows[-1]), flush=True)
    show(rows, args.samples)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"samples": args.samples, "delay_s": args.delay, "uninterrupted_wall_s": round(plain, 1), "seeds": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
