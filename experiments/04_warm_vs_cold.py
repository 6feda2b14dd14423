"""A real sweep on a held-out domain, warm-started by a meta-learner vs from a cold start.

Runs experiments/warm_start.yaml twice on the real model (same space, TPE seed, questions):
once as written (the learner's proposals run first) and once without `warm_start`. Prints
each sweep's best-so-far validation score by trial (in start order), and how many trials
each needed to reach the cold sweep's best. Both sweeps are recorded in MLflow; the numbers
are written to experiments/results/warm_vs_cold_seed<SEED>.json.

    .venv/bin/python experiments/04_warm_vs_cold.py [--learner portfolio] [--trials 12] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent


def best_so_far(values: list[float | None]) -> list[float]:
    out, best = [], float("-inf")
    for value in values:
        best = max(best, value if value is not None else float("-inf"))
        out.append(best)
    return out


def trials_to_reach(curve: list[float], target: float) -> int | None:
    return next((i + 1 for i, value in enumerate(curve) if value >= target - 1e-9), None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=HERE / "warm_start.yaml")
    parser.add_argument("--learner", default=None, help="override warm_start.learner")
    parser.add_argument("--trials", type=int, default=None, help="override search.num_samples")
    parser.add_argument("--seed", type=int, default=None, help="override search.seed (TPE's sampler seed)")
    parser.add_argument("--out", type=Path, default=None, help="default: experiments/results/warm_vs_cold_seed<SEED>.json")
    args = parser.parse_args()

    from domaintune.config import load_config
    from domaintune.sweep import run_sweep

    overrides = {"search.num_samples": args.trials} if args.trials else {}
    if args.seed is not None:
        overrides["search.seed"] = args.seed
    if args.learner:
        overrides["warm_start.learner"] = args.learner
    warm_config = load_config(args.config, overrides)
    cold_config = warm_config.model_copy(update={"warm_start": None, "name": warm_config.name + "-cold"})
    warm_config = warm_config.model_copy(update={"name": warm_config.name + "-warm"})
    results = {}
    for label, config in (("cold", cold_config), ("warm", warm_config)):
        sweep = run_sweep(config)
        values = [t.metric for t in sweep.trials]
        results[label] = {
            "values": values,
            "best_so_far": best_so_far(values),
            "strategies": [t.strategy for t in sweep.trials],
            "best_validation": sweep.best_validation,
            "test_score": sweep.test_score,
            "seconds": sweep.seconds,
            "train_eval_seconds": sum(t.cost.get("train_seconds", 0) + t.cost.get("eval_seconds", 0) for t in sweep.trials),
            "parent_run_id": sweep.parent_run_id,
        }
    target = results["cold"]["best_validation"]
    summary = {
        "domain": warm_config.domain if isinstance(warm_config.domain, str) else warm_config.domain.name,
        "learner": warm_config.warm_start.learner if warm_config.warm_start else None,
        "proposals": warm_config.warm_start.n if warm_config.warm_start else 0,
        "tpe_seed": warm_config.search.seed,
        "cold_best": target,
        "cold_trials_to_best": trials_to_reach(results["cold"]["best_so_far"], target),
        "warm_trials_to_cold_best": trials_to_reach(results["warm"]["best_so_far"], target),
        "warm_best": results["warm"]["best_validation"],
        **{f"{label}_{k}": v for label, r in results.items() for k, v in r.items() if k not in ("values",)},
    }
    out = args.out or HERE / "results" / f"warm_vs_cold_seed{warm_config.search.seed}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    for label in ("cold", "warm"):
        curve = " ".join(f"{v:.3f}" for v in results[label]["best_so_far"])
        print(f"{label:4} best so far by trial: {curve}")
    print(f"cold sweep best {target:.3f} after {summary['cold_trials_to_best']} trials; "
          f"warm-started sweep reached it after {summary['warm_trials_to_cold_best']} trials "
          f"(its own best {summary['warm_best']:.3f}; test {results['warm']['test_score']}, cold test {results['cold']['test_score']})")
