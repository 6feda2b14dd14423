"""Many trials on a Ray cluster with MLflow on PostgreSQL: how fast, how whole, how heavy.

A real sweep (Ray Tune + OptunaSearch TPE + MLflow parent and child runs) whose trials are
answered by the replay runner (``nearest: true`` on a space with a continuous learning rate,
so every trial is a new strategy) measures what Ray, Tune and MLflow cost per trial, not a
model. For each N it runs one sweep of N trials on a two-node Ray cluster on this machine (two
raylets, one ``storage_path`` both see) recording to an ``mlflow server`` on a throwaway
PostgreSQL with served artifacts, each N in a fresh experiment, the driver in its own process.

Prints, per N: trials per minute (whole sweep, and Tune's fit alone), child runs recorded
(goal N), runs left RUNNING (goal 0), repeated evaluations (goal 0), the driver's peak memory,
Ray's experiment-state snapshots (count, seconds in all, the last one's seconds and size; the wait for queued MLflow writes
that each save makes first is counted apart), and
the seconds ``read_history`` takes to read the experiment back as history records (outcomes included). Writes
``benchmarks/results/scale.json``.

    python benchmarks/scale.py                      # N = 100 and 1,000 (about 8 minutes here)
    python benchmarks/scale.py --trials 20 --store sqlite --nodes 1     # the tests' smallest setting
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"


def sweep_values(n: int, experiment: str, storage: Path, concurrent: int) -> dict[str, Any]:
    """The sweep: replayed trials (nearest recorded strategy answers), every point a new strategy."""
    return {
        "name": f"scale-{n}",
        "domain": "gcide-law",
        "view": "definition_to_term",
        "runner": {"kind": "replay", "nearest": True, "questions": 40, "test_questions": 0},
        "space": {
            "retrieval": ["none", "bm25"], "top_k": 2, "template": "instruction", "n_shots": [0, 3],
            "scoring": "calibrated", "adapter": "lora", "steps": 16,
            "learning_rate": {"low": 1.0e-4, "high": 3.0e-3, "log": True},
        },
        "search": {"num_samples": n, "max_concurrent": concurrent, "seed": 0, "n_startup_trials": 4,
                   "scheduler": "fifo", "cpus_per_trial": 0.25},
        "tracking": {"experiment": experiment},
        "storage": str(storage),
    }


def one_sweep(n: int, experiment: str, storage: Path, concurrent: int) -> dict[str, Any]:
    """Run one sweep in this process (the driver), timing every Tune experiment-state snapshot."""
    from ray.tune.execution.tune_controller import TuneController

    from domaintune.config import parse_config
    from domaintune.sweep import run_sweep
    from domaintune.tracking import SweepTracker

    snapshots: list[float] = []  # each Ray snapshot's own seconds
    waits: list[float] = []  # each wait for the queued MLflow writes (a snapshot makes one first)
    save, flush = TuneController.save_to_dir, SweepTracker.flush

    def timed_save(self: Any) -> None:
        began, waited = time.perf_counter(), sum(waits)
        save(self)
        snapshots.append(time.perf_counter() - began - (sum(waits) - waited))

    def timed_flush(self: Any) -> None:
        began = time.perf_counter()
        flush(self)
        waits.append(time.perf_counter() - began)

    TuneController.save_to_dir = timed_save  # type: ignore[method-assign]
    SweepTracker.flush = timed_flush  # type: ignore[method-assign]
    config = parse_config(sweep_values(n, experiment, storage, concurrent), "scale benchmark")
    result = run_sweep(config, verbose=0, notice=lambda text: None)
    state = sorted(Path(result_dir(storage, config.name, result.parent_run_id)).glob("experiment_state*.json"))
    return {
        "seconds": result.seconds,
        "fit_seconds": (result.timings or {}).get("fit", 0.0),
        "trials_reported": len(result.trials),
        "repeated_evaluations": result.repeated_evaluations,
        "answered": result.answered,
        "parent_run_id": result.parent_run_id,
        "experiment_id": result.experiment_id,
        "driver_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "snapshots": len(snapshots),
        "snapshot_seconds": sum(snapshots),
        "last_snapshot_seconds": snapshots[-1] if snapshots else 0.0,
        "mlflow_wait_seconds": sum(waits),
        "state_file_kb": state[-1].stat().st_size / 1024 if state else 0.0,
    }


def result_dir(storage: Path, name: str, parent_run_id: str) -> Path:
    return storage / f"{name}-{parent_run_id}"


def check_store(uri: str, experiment: str, parent_run_id: str) -> dict[str, Any]:
    """What the tracking store holds for the sweep, and how long reading it back as a history takes."""
    from mlflow.tracking import MlflowClient

    from domaintune.tracking import Kind, Tag, read_history

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    runs, token = [], None
    while True:
        page = client.search_runs([found.experiment_id], max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    children = [r for r in runs if r.data.tags.get(Tag.KIND) == Kind.TRIAL and r.data.tags.get("mlflow.parentRunId") == parent_run_id]
    began = time.perf_counter()
    # Every trial here is replayed, which a history leaves out (no new evidence): read them as the
    # records real trials would make, to time the read back.
    history = read_history(uri, experiment, replayed=True)
    return {
        "child_runs": len(children),
        "running_left": sum(r.info.status == "RUNNING" for r in runs),
        "history_records": len(history),
        "records_with_outcomes": sum(bool(r.outcomes) for r in history),
        "read_history_seconds": time.perf_counter() - began,
    }


@contextmanager
def ray_cluster(nodes: int, cpus_per_node: int) -> Iterator[str]:
    """``nodes`` raylets on this machine (a head and its workers), each with ``cpus_per_node`` CPUs."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": cpus_per_node, "include_dashboard": False})
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=cpus_per_node)
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        ray.shutdown()
        cluster.shutdown()


@contextmanager
def tracking_store(kind: str, folder: Path) -> Iterator[str]:
    """An ``mlflow server`` on PostgreSQL (production's shape) or on SQLite; its URI."""
    from domaintune.testing.servers import mlflow_server, postgres_server

    with ExitStack() as stack:
        backend = stack.enter_context(postgres_server()) if kind == "postgres" else None
        yield stack.enter_context(mlflow_server(folder / "mlflow", backend=backend))


def run_child(n: int, uri: str, address: str, storage: Path, concurrent: int) -> dict[str, Any]:
    """One sweep in a fresh driver process (its peak memory is its own), then the store checked."""
    experiment = f"scale-{n}-{int(time.time())}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "RAY_ADDRESS": address, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, __file__, "--one", str(n), "--experiment", experiment, "--storage", str(storage), "--concurrent", str(concurrent)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the N={n} sweep failed ({done.returncode}):\n{done.stderr[-3000:]}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    return {"trials": n, **row, **check_store(uri, experiment, row["parent_run_id"])}


def show(rows: list[dict[str, Any]], store: str, nodes: int) -> None:
    print(f"\nScale: replayed trials, {nodes}-node Ray cluster on this machine, MLflow server on {store}")
    head = f"{'N':>6} {'trials/min':>10} {'fit/min':>8} {'child runs':>10} {'RUNNING':>7} {'repeated':>8} {'peak MB':>8} {'snapshots':>9} {'snap s':>7} {'last s':>7} {'state KB':>8} {'MLflow wait s':>13} {'read s':>7}"
    print(head)
    for r in rows:
        print(f"{r['trials']:>6} {60 * r['trials'] / r['seconds']:>10.0f} {60 * r['trials'] / r['fit_seconds']:>8.0f} {r['child_runs']:>10} "
              f"{r['running_left']:>7} {r['repeated_evaluations']:>8} {r['driver_peak_mb']:>8.0f} {r['snapshots']:>9} "
              f"{r['snapshot_seconds']:>7.1f} {r['last_snapshot_seconds']:>7.3f} {r['state_file_kb']:>8.0f} {r['mlflow_wait_seconds']:>13.1f} {r['read_history_seconds']:>7.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[100, 1000], help="sweep sizes N (default: 100 1000)")
    parser.add_argument("--store", choices=["postgres", "sqlite"], default="postgres", help="the MLflow server's backend store")
    parser.add_argument("--nodes", type=int, default=2, help="Ray nodes on this machine")
    parser.add_argument("--cpus-per-node", type=int, default=1)
    parser.add_argument("--concurrent", type=int, default=8, help="trials at once (each asks for 0.25 CPU)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child: one sweep in this process
    parser.add_argument("--experiment", help=argparse.SUPPRESS)
    parser.add_argument("--storage", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_sweep(args.one, args.experiment, args.storage, args.concurrent)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="domaintune-scale-") as work, tracking_store(args.store, Path(work)) as uri, \
            ray_cluster(args.nodes, args.cpus_per_node) as address:
        for n in args.trials:
            print(f"N={n}: sweeping ...", file=sys.stderr, flush=True)
            rows.append(run_child(n, uri, address, Path(work) / "ray", args.concurrent))
    show(rows, args.store, args.nodes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"store": args.store, "nodes": args.nodes, "cpus_per_node": args.cpus_per_node,
                                    "concurrent": args.concurrent, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
