"""Sweep overhead: the same strategies through Ray Tune + MLflow and bare through the runner.

Goal (issue 3): at most 1 s of overhead per trial, and a ratio of at most 1.05 for trials of
30 s or more. Both sides run in this one process invocation, one trial at a time, so the
machine's noise hits both alike. Prints a table and writes benchmarks/out/overhead.json.

    .venv/bin/python benchmarks/overhead.py [--questions 40] [--steps 8] [--model NAME] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

STRATEGIES = [
    {"template": "plain", "n_shots": 0, "adapter": "none"},
    {"template": "chat", "n_shots": 3, "adapter": "none"},
    {"template": "instruction", "n_shots": 0, "adapter": "lora", "lora_layers": "top:4"},
    {"template": "plain", "n_shots": 1, "adapter": "lora", "lora_layers": "top:2"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40, help="validation questions per trial")
    parser.add_argument("--steps", type=int, default=8, help="LoRA steps of the training strategies")
    parser.add_argument("--domain", default="jargon")
    parser.add_argument("--model", default="smollm2-135m-instruct", help="base model (built-in name, id or folder)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "overhead.json")
    args = parser.parse_args()

    from mlflow.tracking import MlflowClient

    from domaintune.config import parse_config
    from domaintune.domains import load_domain
    from domaintune.runners import make_runner
    from domaintune.strategy import Strategy
    from domaintune.sweep import run_sweep

    runner_settings = {"model": args.model, "questions": args.questions, "eval_every": max(1, args.steps // 2), "test_questions": 4}
    work = Path(tempfile.mkdtemp(prefix="overhead-"))
    config = parse_config(
        {
            "name": "overhead",
            "domain": args.domain,
            "runner": runner_settings,
            "space": {
                "template": ["plain", "chat", "instruction"],
                "n_shots": [0, 1, 3],
                "adapter": ["none", "lora"],
                "lora_layers": ["all", "top:4", "top:2"],
                "steps": args.steps,
                "batch_size": 4,
            },
            "search": {
                "num_samples": len(STRATEGIES),
                "max_concurrent": 1,
                "scheduler": "fifo",
                "points_to_evaluate": STRATEGIES,
            },
            "tracking": {"uri": f"sqlite:///{work / 'mlflow.db'}", "experiment": "overhead"},
            "storage": str(work / "ray"),
        },
        "benchmarks/overhead.py",
    )

    domain = load_domain(args.domain)
    runner = make_runner(config.runner)
    runner.run(domain, Strategy(), split="validation")  # warm the file cache, as the sweep's driver does
    bare = []
    for values in STRATEGIES:
        started = time.perf_counter()
        runner.run(domain, Strategy.from_dict({"steps": args.steps, "batch_size": 4, **values}), report=lambda *a: None)
        bare.append(time.perf_counter() - started)

    result = run_sweep(config, verbose=0)
    failed = [t for t in result.trials if t.status != "FINISHED"]
    if failed:  # a ratio over failed trials would be meaningless
        raise SystemExit(f"overhead: {len(failed)} trial(s) did not finish ({failed[0].status}: {failed[0].error}); no ratio")
    client = MlflowClient(result.tracking_uri)
    children = client.search_runs(
        [result.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{result.parent_run_id}'",
        order_by=["attributes.start_time ASC"],
    )
    swept = [(run.info.end_time - run.info.start_time) / 1000 for run in children]
    fit = result.timings["fit"]

    rows = []
    print(f"{'strategy':60} {'bare s':>8} {'sweep s':>8} {'overhead':>9} {'ratio':>6}")
    for values, b, s in zip(STRATEGIES, bare, swept):
        label = Strategy.from_dict({"steps": args.steps, **values}).describe()
        rows.append({"strategy": label, "bare_seconds": b, "sweep_seconds": s, "overhead": s - b, "ratio": s / b})
        print(f"{label[:60]:60} {b:8.2f} {s:8.2f} {s - b:+9.2f} {s / b:6.3f}")
    total_bare = sum(bare)
    per_trial_fit = (fit - total_bare) / len(bare)
    print(
        f"\nTuner.fit wall {fit:.1f} s for {len(bare)} trials vs {total_bare:.1f} s bare: "
        f"{per_trial_fit:+.2f} s per trial, ratio {fit / total_bare:.3f}"
    )
    print(f"one-off: setup {result.timings['setup']:.1f} s (Ray start, tracking, model check), "
          f"test scoring {result.timings.get('test', 0):.1f} s")
    long_trials = [r for r in rows if r["bare_seconds"] >= 30]
    if long_trials:
        print(f"trials >= 30 s: mean ratio {sum(r['ratio'] for r in long_trials) / len(long_trials):.3f} (goal <= 1.05)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"rows": rows, "fit_seconds": fit, "bare_seconds": total_bare, "timings": result.timings}, indent=2)
    )


if __name__ == "__main__":
    main()
