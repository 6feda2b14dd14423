"""Crash a real sweep's driver with kill -9 at random moments, resume it each time, count what broke.

A real sweep (Ray Tune + Optuna + ASHA + MLflow, trials answered by the replay runner slowed
to ``--delay`` seconds each) is run once uninterrupted, then again with its driver killed
``--kills`` times at random moments and resumed with ``domaintune sweep CONFIG --resume``
after each kill. Prints: trials finished in all, finished trials run twice (goal 0), runs
left RUNNING at the end (goal 0), leftover Ray processes of the killed drivers (goal 0), and
the resumed sweep's wall time over the uninterrupted one. Writes benchmarks/out/faults.json.

    python benchmarks/faults.py [--kills 3] [--samples 8] [--delay 2] [--seed 0]
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


def faulted(work: Path, overrides: list[str], kills: int, window: float, rng: random.Random) -> dict:
    from domaintune.sweep import ray_session_processes

    uri = f"sqlite:///{work / 'faults.db'}"
    storage = work / "faults-ray"
    wall, moments, sessions_killed = 0.0, [], set()
    for attempt in range(kills):
        process = _start(uri, storage, overrides, resume=attempt > 0, log=work / f"attempt{attempt}.log")
        delay = rng.uniform(0.0, window)
        began = time.perf_counter()
        try:
            code = process.wait(timeout=delay)
            finished_early = True
            if code != 0:
                print(f"attempt {attempt} exited {code}:\n" + (work / f"attempt{attempt}.log").read_text()[-3000:], file=sys.stderr)
        except subprocess.TimeoutExpired:
            finished_early = False
            known = _sessions(uri)
            os.kill(process.pid, signal.SIGKILL)  # the driver alone, as an OOM kill would
            process.wait()
            sessions_killed |= _sessions(uri) | known
            if _finished(uri):  # killed while it was already tidying up: nothing left to resume
                finished_early = True
        wall += time.perf_counter() - began
        moments.append({"after_s": round(delay, 1), "killed": not finished_early})
        if finished_early:
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
    leftovers = sorted({p.pid for s in sessions_killed for p in ray_session_processes(s)})
    return {"uri": uri, "wall_s": wall, "final_exit": code, "kills": moments, "leftover_ray_pids": leftovers}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds each replayed trial takes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "faults.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    overrides = ["--set", f"search.num_samples={args.samples}", "--set", f"runner.replay_delay={args.delay}"]
    work = Path(tempfile.mkdtemp(prefix="faults-"))
    plain = uninterrupted(work, overrides)
    crashed = faulted(work, overrides, args.kills, window=plain, rng=rng)
    figures = count(crashed["uri"])
    report = {**figures, "uninterrupted_wall_s": round(plain, 1), "resumed_wall_s": round(crashed["wall_s"], 1),
              "wall_ratio": round(crashed["wall_s"] / plain, 2), "kills": crashed["kills"], "final_exit": crashed["final_exit"],
              "leftover_ray_processes": len(crashed["leftover_ray_pids"]), "samples": args.samples, "delay_s": args.delay}
    moments = [f"{k['after_s']} s" + ("" if k["killed"] else " (already done)") for k in report["kills"]]
    print(f"kills at: {', '.join(moments)}")
    print(f"trials finished in all:        {report['trials_finished']} of {args.samples}")
    print(f"finished trials run twice:     {report['finished_trials_run_twice']}  (goal 0)")
    print(f"runs left RUNNING at the end:  {report['runs_left_running']}  (goal 0)")
    print(f"leftover Ray processes:        {report['leftover_ray_processes']}  (goal 0)")
    print(f"parent runs:                   {report['parent_runs']} {report['parent_status']}")
    print(f"wall time, resumed / uninterrupted: {report['resumed_wall_s']} s / {report['uninterrupted_wall_s']} s = {report['wall_ratio']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
