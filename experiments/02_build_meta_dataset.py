"""Build the meta-dataset: every strategy of experiments/meta_design.yaml on every domain.

Runs the real model on CPU (one torch thread per worker), appends each finished cell to
experiments/results/meta_dataset.jsonl and skips finished cells on a rerun, so it can be
stopped and resumed at any time. With --commit, the file is committed each time a domain's
row of the table is complete. Run it in the background:

    nohup .venv/bin/python experiments/02_build_meta_dataset.py --commit > build.log 2>&1 &
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
    parser.add_argument("--domains", type=int, default=None, help="only the first N domains of the design")
    parser.add_argument("--commit", action="store_true", help="git-commit the results after each complete domain")
    args = parser.parse_args()

    from domaintune.meta.build import build, load_design

    build(load_design(args.design), args.out, workers=args.workers, domains=args.domains, commit=args.commit,
          log=lambda line: print(line, flush=True))
