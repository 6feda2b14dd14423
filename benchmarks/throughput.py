"""Questions per CPU-second of multiple-choice scoring: question by question (old path) against
packed scoring (new path: many questions and the calibration prior of every distinct option per
forward pass), side by side in one run, on the shipped design's strategies that train nothing
(training strategies score through the same path after training, which this does not touch).

Both paths score the same seeded questions with the same model; the script checks that every
per-question outcome is the same and prints, per strategy and in total, questions per CPU-second
(process CPU time of the whole evaluation: prompt building, retrieval and scoring) and the ratio.
The paths alternate which goes first per strategy, so slow drift of a shared machine cancels.

    .venv/bin/python benchmarks/throughput.py [--domain gcide-law] [--questions 40] [--pack-tokens 512] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
HERE = Path(__file__).resolve().parent


def measure(runner, domain, strategy) -> tuple[float, list[float]]:
    began = time.process_time()
    result = runner.run(domain, strategy)
    return time.process_time() - began, list(result.outcomes or [])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", type=Path, default=HERE.parent / "experiments" / "meta_design.yaml")
    parser.add_argument("--domain", default="gcide-law")
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--pack-tokens", type=int, default=512)
    parser.add_argument("--limit", type=int, default=0, help="only the first N strategies (0: all that train nothing)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from domaintune.domains import load_domain
    from domaintune.meta.build import asked, load_design
    from domaintune.runners import RunnerSettings, make_runner
    from domaintune.strategy import Strategy

    design = load_design(args.design)
    domain = asked(load_domain(args.domain), design.view)
    strategies = [Strategy.from_dict(s) for s in design.strategies]
    strategies = [s for s in strategies if not s.trains][: args.limit or None]
    base = dict(questions=args.questions, seed=design.seed, threads=1, **{k: v for k, v in design.runner.items() if k != "eval_every"})
    old = make_runner(RunnerSettings(**base, pack_tokens=0))
    new = make_runner(RunnerSettings(**base, pack_tokens=args.pack_tokens))
    old.prepare()
    measure(old, domain, Strategy())  # load the model, tokenizer and indexes once, outside the timing
    rows, totals = [], {"old": 0.0, "new": 0.0}
    for i, strategy in enumerate(strategies):
        order = [("old", old), ("new", new)] if i % 2 == 0 else [("new", new), ("old", old)]
        seconds, outcomes = {}, {}
        for name, runner in order:
            seconds[name], outcomes[name] = measure(runner, domain, strategy)
            totals[name] += seconds[name]
        same = outcomes["old"] == outcomes["new"]
        row = {"strategy": strategy.describe(), "questions": len(outcomes["old"]), "old_cpu_s": seconds["old"], "new_cpu_s": seconds["new"],
               "old_q_per_cpu_s": len(outcomes["old"]) / seconds["old"], "new_q_per_cpu_s": len(outcomes["new"]) / seconds["new"],
               "ratio": seconds["old"] / seconds["new"], "same_outcomes": same}
        rows.append(row)
        print(f"{row['strategy'][:60]:60s} old {row['old_q_per_cpu_s']:5.2f} q/CPU-s  new {row['new_q_per_cpu_s']:5.2f} q/CPU-s  "
              f"x{row['ratio']:.2f}  same outcomes: {same}", flush=True)
    questions = sum(r["questions"] for r in rows)
    summary = {"domain": args.domain, "view": domain.view_name, "questions_per_strategy": args.questions, "strategies": len(rows),
               "pack_tokens": args.pack_tokens, "old_q_per_cpu_s": questions / totals["old"], "new_q_per_cpu_s": questions / totals["new"],
               "ratio": totals["old"] / totals["new"], "all_same_outcomes": all(r["same_outcomes"] for r in rows), "rows": rows}
    print(f"\ntotal: old {summary['old_q_per_cpu_s']:.2f} q/CPU-s, new {summary['new_q_per_cpu_s']:.2f} q/CPU-s, "
          f"ratio {summary['ratio']:.2f}x over {len(rows)} strategies x {args.questions} questions on {args.domain}; "
          f"identical outcomes: {summary['all_same_outcomes']}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
