"""Measure one domain's cells first, then size the meta-dataset to the machine.

Evaluates the design on its first domain (the same cells the build keeps, so nothing is
wasted), then projects the whole build's CPU time from the measured seconds per question
and per training run (averaged over every domain measured so far), and the most questions
per cell that fit a CPU budget.

    .venv/bin/python experiments/01_measure_cost.py [--budget-cpu-hours 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", type=Path, default=HERE / "meta_design.yaml")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "meta_dataset.jsonl")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget-cpu-hours", type=float, default=3.0)
    args = parser.parse_args()

    from domaintune.meta.build import build, load_design, read_cells

    design = load_design(args.design)
    first = [r for r in build(design, args.out, workers=args.workers, domains=1) if r["domain"] == design.domains[0]]
    # Every domain measured so far (just the first on a fresh build) gives the per-domain means.
    rows = [r for r in read_cells(args.out) if r["questions"] >= design.questions]
    measured = sorted({r["domain"] for r in rows})
    fixed = sum(r["cost"]["train_seconds"] for r in rows) / len(measured)  # training does not grow with the eval sample
    per_question = sum(r["cost"]["eval_seconds"] for r in rows) / len(measured) / design.questions
    print(f"{len(measured)} domain(s) measured: per domain, {per_question:.2f} s of scoring per question across the design "
          f"and {fixed:.0f} s of training")
    for row in sorted(first, key=lambda r: r["index"]):
        print(f"  {row['domain']} #{row['index']:<2} {row['seconds']:5.0f} s  {row['label'][:90]}")
    domains = len(design.domains)
    for questions in (design.questions, 60, 80, 120):
        hours = domains * (fixed + per_question * questions) / 3600
        print(f"{domains} domains x {len(design.strategies)} strategies at {questions:3} questions: "
              f"{hours:.1f} CPU-hours, {hours / args.workers:.1f} h wall with {args.workers} workers")
    fits = int((args.budget_cpu_hours * 3600 / domains - fixed) / per_question)
    print(f"a budget of {args.budget_cpu_hours} CPU-hours fits {fits} questions per cell")
