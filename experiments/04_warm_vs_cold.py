"""Real sweeps on held-out domains, warm-started by a meta-learner vs from a cold start.

Runs experiments/warm_start.yaml twice per (domain, TPE seed) on the real model (same space,
seed and questions): once as written (the learner's proposals run first) and once without
`warm_start`. Each pair is written to experiments/results/warm_vs_cold/<domain>_seed<SEED>.json
as it finishes and skipped on a rerun, so a long run can stop and resume. Both sweeps of a pair
are recorded in MLflow.

The summary compares the best validation score found within the first k trials (warm minus
cold) and the chosen strategy's test score, over every pair on record for the domains asked
for, with a 95% bootstrap interval that resamples domains, then seeds within each domain (the
domain is the unit: seeds of one domain are not independent). Written to summary.json there.

    .venv/bin/python experiments/04_warm_vs_cold.py --domains gcide-military,gcide-astronomy,foldoc-os --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "warm_vs_cold"


def best_so_far(values: list[float | None]) -> list[float]:
    out, best = [], float("-inf")
    for value in values:
        best = max(best, value if value is not None else float("-inf"))
        out.append(best)
    return out


def trials_to_reach(curve: list[float], target: float) -> int | None:
    return next((i + 1 for i, value in enumerate(curve) if value >= target - 1e-9), None)


def run_pair(config, domain: str, seed: int) -> dict:
    """The cold and the warm-started sweep of one domain and TPE seed."""
    from domaintune.sweep import run_sweep

    warm_config = config.model_copy(update={"domain": domain, "name": f"{config.name}-{domain}-s{seed}-warm"})
    warm_config = warm_config.model_copy(update={"search": warm_config.search.model_copy(update={"seed": seed})})
    cold_config = warm_config.model_copy(update={"warm_start": None, "name": f"{config.name}-{domain}-s{seed}-cold"})
    results = {}
    for label, sweep_config in (("cold", cold_config), ("warm", warm_config)):
        sweep = run_sweep(sweep_config)
        values = [t.metric for t in sweep.trials]
        results[label] = {
            "best_so_far": best_so_far(values),
            "strategies": [t.strategy for t in sweep.trials],
            "best_validation": sweep.best_validation,
            "test_score": sweep.test_score,
            "seconds": sweep.seconds,
            "train_eval_seconds": sum(t.cost.get("train_seconds", 0) + t.cost.get("eval_seconds", 0) for t in sweep.trials),
            "parent_run_id": sweep.parent_run_id,
        }
    target = results["cold"]["best_validation"]
    return {
        "domain": domain,
        "learner": config.warm_start.learner if config.warm_start else None,
        "proposals": config.warm_start.n if config.warm_start else 0,
        "tpe_seed": seed,
        "cold_best": target,
        "cold_trials_to_best": trials_to_reach(results["cold"]["best_so_far"], target),
        "warm_trials_to_cold_best": trials_to_reach(results["warm"]["best_so_far"], target),
        "warm_best": results["warm"]["best_validation"],
        **{f"{label}_{k}": v for label, r in results.items() for k, v in r.items()},
    }


def summarize(pairs: list[dict], ks: list[int], replicates: int = 2000, seed: int = 0) -> dict:
    """Warm minus cold, per k (best within the first k trials) and on the test score: the mean
    over domains of each domain's mean over its seeds (the domain is the unit, whatever its
    number of seeds) and its 95% interval (percentile bootstrap over domains, then seeds in each)."""
    by_domain: dict[str, list[dict]] = {}
    for pair in pairs:
        by_domain.setdefault(pair["domain"], []).append(pair)
    measures = {f"best within {k} trials": (lambda p, k=k: p["warm_best_so_far"][k - 1] - p["cold_best_so_far"][k - 1]) for k in ks}
    measures["test score of the chosen strategy"] = lambda p: (p["warm_test_score"] or 0.0) - (p["cold_test_score"] or 0.0)
    rng = random.Random(seed)
    out = {"domains": sorted(by_domain), "pairs": len(pairs), "seeds_per_domain": {d: len(v) for d, v in by_domain.items()}, "rows": []}
    for name, measure in measures.items():
        point = sum(sum(map(measure, ps)) / len(ps) for ps in by_domain.values()) / len(by_domain)
        stats = []
        for _ in range(replicates):
            drawn = [rng.choices(by_domain[d], k=len(by_domain[d])) for d in rng.choices(sorted(by_domain), k=len(by_domain))]
            stats.append(sum(sum(map(measure, ps)) / len(ps) for ps in drawn) / len(drawn))
        stats.sort()
        low, high = stats[int(0.025 * replicates)], stats[int(0.975 * replicates) - 1]
        verdict = "warm better" if low > 0 else "cold better" if high < 0 else "tie"
        wins = sum(measure(p) > 0 for p in pairs), sum(measure(p) < 0 for p in pairs)
        out["rows"].append({"measure": name, "difference": point, "ci_low": low, "ci_high": high, "verdict": verdict,
                            "warm_ahead": wins[0], "cold_ahead": wins[1]})
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=HERE / "warm_start.yaml")
    parser.add_argument("--domains", default=None, help="comma-separated held-out domains (default: the config's)")
    parser.add_argument("--seeds", default=None, help="comma-separated TPE seeds (default: the config's search.seed)")
    parser.add_argument("--learner", default=None, help="override warm_start.learner")
    parser.add_argument("--trials", type=int, default=None, help="override search.num_samples")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the per-pair files and summary.json")
    args = parser.parse_args()

    from domaintune.config import load_config
    from domaintune.meta import load_history

    overrides = {"search.num_samples": args.trials} if args.trials else {}
    if args.learner:
        overrides["warm_start.learner"] = args.learner
    config = load_config(args.config, overrides)
    if config.warm_start is None:
        parser.error(f"{args.config} has no warm_start section to compare with a cold start")
    domains = args.domains.split(",") if args.domains else [config.domain if isinstance(config.domain, str) else config.domain.name]
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [config.search.seed]
    seen = set(load_history(list(config.warm_start.history) if getattr(config.warm_start, "history", None) else []).domains())
    for domain in domains:
        if domain in seen:
            parser.error(f"--domains: {domain} is in the learner's history, so it is not held out")
    args.results.mkdir(parents=True, exist_ok=True)
    for domain in domains:
        for seed in seeds:
            path = args.results / f"{domain}_seed{seed}.json"
            if path.exists():
                print(f"{domain} seed {seed}: on record ({path.name})", flush=True)
                continue
            pair = run_pair(config, domain, seed)
            path.write_text(json.dumps(pair, indent=1) + "\n")
            for label in ("cold", "warm"):
                print(f"{domain} seed {seed} {label:4} best so far: " + " ".join(f"{v:.3f}" for v in pair[f"{label}_best_so_far"]), flush=True)
    # every pair on record for these domains, also seeds run before with another --seeds
    pairs = [json.loads(path.read_text()) for d in domains for path in sorted(args.results.glob(f"{d}_seed*.json"))]
    trials = min(len(p["cold_best_so_far"]) for p in pairs)
    summary = summarize(pairs, sorted({k for k in (1, 3, 6, trials) if k <= trials}))
    (args.results / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"\n{summary['pairs']} pairs: {len(summary['domains'])} domains x seeds {summary['seeds_per_domain']}; warm minus cold, 95% interval")
    for row in summary["rows"]:
        print(f"  {row['measure']:34} {row['difference']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]  {row['verdict']}"
              f"  (warm ahead in {row['warm_ahead']}, cold in {row['cold_ahead']})")
