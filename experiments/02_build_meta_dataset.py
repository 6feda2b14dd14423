"""Build a meta-dataset: every strategy of a design on every task (experiments/meta_design.yaml),
or, for a design with ``halving`` rungs (experiments/meta_design_v2.yaml, _v3.yaml), successive
halving on the table, task by task (a task: a domain, the view it is asked in, the base model),
then the finalists on the design's evaluation questions.

Runs the real model on CPU (one torch thread per worker), appends each finished cell to
experiments/results/meta_dataset[_v2|_v3].jsonl (the design's name with "design" read "dataset")
and skips finished cells on a rerun, so it can be stopped and resumed at any time (a line cut
by the kill is left out). With --commit, the file is committed each time a task is done; with
--reuse, an earlier build's cells of this design are copied in first. A cell's seconds are
wall time: do not pause a build (SIGSTOP) while it runs, or drop the cells that spanned the
pause. With --picks, every method's picks are then scored on the evaluation questions (what
`domaintune meta eval` compares the methods on); with --picks --exact-random, every strategy of
each task's table is, so that `random` is exact there. Run it in the background:

    nohup .venv/bin/python experiments/02_build_meta_dataset.py --design experiments/meta_design_v3.yaml \
        --reuse experiments/results/meta_dataset_v2.jsonl --commit --picks > build.log 2>&1 &
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
    parser.add_argument("--out", type=Path, default=None, help="cells file (default: results/<design name, design read dataset>.jsonl)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--domains", type=int, default=None, help="only the first N tasks (domains) of the design")
    parser.add_argument("--commit", action="store_true", help="git-commit the results after each complete task")
    parser.add_argument("--reuse", type=Path, nargs="*", default=[], help="earlier cells files: their cells of this design are copied in, not run again")
    parser.add_argument("--picks", action="store_true", help="after the table: score every method's picks (k <= 3; TPE's within 10) "
                        "on the evaluation questions (domaintune.meta.picks)")
    parser.add_argument("--exact-random", action="store_true", help="with --picks: then score every other strategy of each "
                        "task's table there too, so that random is exact, not a seeded draw (about as many cells again)")
    args = parser.parse_args()
    if args.exact_random and not args.picks:
        parser.error("--exact-random is a part of the --picks stage: give both")

    import json

    from domaintune.meta.build import build, build_halving, load_design, read_cells, reusable_cells

    design = load_design(args.design)
    out = args.out or HERE / "results" / (args.design.stem.replace("design", "dataset") + ".jsonl")
    for source in args.reuse:
        reused = reusable_cells(design, read_cells(source), read_cells(out), origin=source.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in reused)
        print(f"reused {len(reused)} cells of {source}", flush=True)
    run = build_halving if design.halving else build
    run(design, out, workers=args.workers, domains=args.domains, commit=args.commit, log=lambda line: print(line, flush=True))
    if args.picks:
        from domaintune.meta.picks import build_picks

        build_picks(design, out, workers=args.workers, commit=args.commit, log=lambda line: print(line, flush=True),
                    exact_random=args.exact_random)
