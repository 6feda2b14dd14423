"""Project the CPU cost of building experiments/meta_design_v2.yaml by successive halving,
from costs already measured on this machine (no model is run).

Per strategy of the v2 design: scoring seconds per question and training seconds are taken
from the most similar strategy of the shipped build (experiments/results/meta_dataset.jsonl,
same levers counted), training scaled by steps; scoring is divided by the packed-scoring
speed-up that benchmarks/throughput.py measured (benchmarks/results/throughput.json). The
halving plan then gives the cells per rung: every strategy on every domain at the first rung,
the kept ones at the next; a domain with fewer validation questions than a rung scores all it
has; a training strategy trains again at each rung it reaches (adapters are not carried over).

    .venv/bin/python experiments/05_project_cost_v2.py [--workers 2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def similarity(a: dict, b: dict) -> int:
    return sum(a.get(k) == b.get(k) for k in set(a) | set(b))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", type=Path, default=HERE / "meta_design_v2.yaml")
    parser.add_argument("--cells", type=Path, default=HERE / "results" / "meta_dataset.jsonl")
    parser.add_argument("--throughput", type=Path, default=HERE.parent / "benchmarks" / "results" / "throughput.json")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--speedup", type=float, default=None, help="packed-scoring speed-up to apply (default: from --throughput, else 1)")
    args = parser.parse_args()

    from domaintune.domains import load_domain
    from domaintune.meta.build import asked, load_design
    from domaintune.strategy import Strategy

    design = load_design(args.design)
    rows = [json.loads(line) for line in args.cells.read_text().splitlines()]
    speedup = args.speedup or (json.loads(args.throughput.read_text())["ratio"] if args.throughput.exists() else 1.0)
    measured: dict[str, dict] = {}
    for r in rows:
        m = measured.setdefault(json.dumps(r["strategy"], sort_keys=True), {"strategy": r["strategy"], "eval": [], "train": []})
        m["eval"].append(r["cost"]["eval_seconds"] / r["questions"])
        m["train"].append(r["cost"]["train_seconds"] / max(1, r["steps"]) if r["steps"] else 0.0)
    model = []
    for values in design.strategies:
        near = max(measured.values(), key=lambda m: similarity(values, m["strategy"]))
        steps = Strategy.from_dict(values).steps if Strategy.from_dict(values).trains else 0
        per_q = sum(near["eval"]) / len(near["eval"]) / speedup
        per_step = sum(near["train"]) / len(near["train"])
        model.append((per_q, per_step * steps))
    sizes = {d: asked(load_domain(d), design.view).sizes["validation"] for d in design.domains}
    total, kept = 0.0, len(design.strategies)
    lines = []
    ranked = sorted(range(len(model)), key=lambda i: model[i][0])  # survivors unknown before the build: use the mean
    mean_q = sum(m[0] for m in model) / len(model)
    mean_train = sum(m[1] for m in model) / len(model)
    for rung, spec in enumerate(design.halving):
        kept = spec.survivors(kept) if rung else len(design.strategies)
        seconds = 0.0
        for domain, size in sizes.items():
            q = min(spec.questions, size)
            if rung == 0:
                seconds += sum(per_q * q + train for per_q, train in model)
            else:
                seconds += kept * (mean_q * q + mean_train)
        total += seconds
        lines.append(f"rung {rung}: {kept} strategies x {len(sizes)} domains at up to {spec.questions} questions: {seconds / 3600:.1f} CPU-hours")
    full = sum(sum(per_q * min(design.questions, size) + train for per_q, train in model) for size in sizes.values())
    print(f"packed-scoring speed-up applied to scoring: x{speedup:.2f}")
    print("\n".join(lines))
    print(f"successive halving total: {total / 3600:.1f} CPU-hours ({total / 3600 / args.workers:.1f} h wall on {args.workers} workers)")
    print(f"for comparison, every strategy on every domain at {design.questions} questions: {full / 3600:.1f} CPU-hours")
    small = [d for d, s in sizes.items() if s < design.halving[-1].questions]
    print(f"domains with fewer validation questions than the last rung ({design.halving[-1].questions}): "
          + (", ".join(f"{d} ({sizes[d]})" for d in small) or "none"))
