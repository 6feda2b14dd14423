"""Reading history back from a tracking server: tracking.read_history with 1 thread against N.

The meta-learner's history is every trial run MLflow holds; reading it costs one request for the
run list plus, per run, its metric history and its outcomes artifact. Against a tracking server
those per-run requests wait on the network, so ``read_history`` sends them ``READ_THREADS`` at a
time. This script starts a real ``mlflow server`` on 127.0.0.1 (SQLite store, artifacts served
through the server as a remote one does), records real cells of the shipped v2 meta-dataset
through the sweep tracker, then reads them back alternately with 1 thread and with N, checks
both give the same records, and prints the ratio of the medians. Loopback has no network delay:
a server across a network makes each request wait longer, which favours threads more.

    .venv/bin/python benchmarks/history_read.py [--runs 60] [--threads 8] [--repeats 3] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELLS = ROOT / "experiments" / "results" / "meta_dataset_v2.history.jsonl"


def record_cells(uri: str, runs: int) -> int:
    """``runs`` real cells (v2 meta-dataset, with their question ids and outcomes) as trial runs
    of one sweep per domain, written by the sweep tracker exactly as a sweep writes them."""
    from domaintune.domains import load_domain
    from domaintune.history import History
    from domaintune.tracking import SweepTracker

    records = [r for r in History.load(CELLS) if r.outcomes][:runs]
    sweeps: dict[str, tuple[SweepTracker, object]] = {}
    for number, record in enumerate(records):
        if record.domain not in sweeps:
            tracker, domain = SweepTracker(uri, "domaintune"), load_domain(record.domain)
            tracker.start(f"cells-{record.domain}", {"name": record.domain}, {}, domain,
                          trial_tags={"domaintune.metric": record.metric, "domaintune.runner": "lm"})
            sweeps[record.domain] = (tracker, domain)
        tracker, domain = sweeps[record.domain]
        trial = f"t{number}"
        tracker.start_trial(trial, record.strategy, domain)
        tracker.log_trial_metrics(trial, record.steps, {record.metric: record.value, **{f"cost.{k}": v for k, v in record.cost.items()}})
        tracker.log_trial_outcomes(trial, {"step": record.steps, "question_ids": record.question_ids, "outcomes": record.outcomes})
        tracker.end_trial(trial, "FINISHED")
    for tracker, _ in sweeps.values():
        tracker.close("FINISHED")
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="trial runs recorded on the server")
    parser.add_argument("--threads", type=int, default=0, help="concurrent reads to compare with 1 (0: READ_THREADS)")
    parser.add_argument("--repeats", type=int, default=3, help="reads per side, alternating")
    parser.add_argument("--workers", type=int, default=4, help="the server's workers")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "history_read.json")
    args = parser.parse_args()

    from domaintune.tracking import READ_THREADS, read_history
    from domaintune.testing.servers import mlflow_server

    threads = args.threads or READ_THREADS
    with tempfile.TemporaryDirectory() as folder, mlflow_server(Path(folder), workers=args.workers) as uri:
        started = time.perf_counter()
        count = record_cells(uri, args.runs)
        print(f"recorded {count} trial runs on {uri} in {time.perf_counter() - started:.1f} s", flush=True)
        seconds: dict[int, list[float]] = {1: [], threads: []}
        read: dict[int, list] = {}
        for repeat in range(args.repeats):
            for side in ((1, threads) if repeat % 2 == 0 else (threads, 1)):
                started = time.perf_counter()
                history = read_history(uri, "domaintune", threads=side)
                seconds[side].append(time.perf_counter() - started)
                read[side] = [r.model_dump_json() for r in history]
                print(f"  read {len(history)} records with {side} thread(s): {seconds[side][-1]:.2f} s", flush=True)
    same = sorted(read[1]) == sorted(read[threads]) and len(read[1]) == count
    one, many = statistics.median(seconds[1]), statistics.median(seconds[threads])
    result = {"runs": count, "threads": threads, "repeats": args.repeats, "server_workers": args.workers, "seconds": {str(k): v for k, v in seconds.items()},
              "median_1": one, f"median_{threads}": many, "speedup": one / many, "same_records": same, "server": "mlflow server on 127.0.0.1, SQLite store, served artifacts"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{count} runs: 1 thread {one:.2f} s, {threads} threads {many:.2f} s (medians of {args.repeats}): "
          f"{one / many:.2f}x; same records: {'yes' if same else 'NO'}; written to {args.out}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
