"""Does a level win on test? Choose on validation, report on the test split.

For each domain of a history: the best recorded strategy that uses a level (``--level white``:
LoRA or full fine-tuning, alone or in a hybrid) and the best that does not, both chosen on
validation only (``domaintune.meta`` tables: cells of successive halving compared on the
questions they share). Only those two are then scored on the test split, on the same seeded
test questions (all of them by default), with the paired gap and its 95% interval; the test
split chooses nothing. Each scored cell is appended to ``--out`` and skipped on a rerun; the
summary beside it keeps the domains of earlier runs and replaces those run again.

    .venv/bin/python experiments/06_confirm_on_test.py --domains vera --level white \\
        --history experiments/results/meta_dataset_v2.history.jsonl experiments/results/meta_dataset_v2_finetune.history.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
HERE = Path(__file__).resolve().parent


def chosen(history, domain: str, level: str) -> dict[str, tuple[dict, float, int]]:
    """On validation: the best strategy with ``level`` and the best without, as (strategy, value, questions)."""
    from domaintune.meta import task_tables
    from domaintune.strategy import Strategy

    mine = history.validated().where(domain=domain)
    if not len(mine):
        raise SystemExit(f"{domain}: no validation records in the given histories (domains there: {', '.join(history.domains())})")
    tables = task_tables(mine)
    if len(tables) > 1:
        raise SystemExit(f"{domain}: recorded in {len(tables)} tasks ({', '.join(tables)}); give a history of one")
    table = next(iter(tables.values()))
    out = {}
    for side, wanted in (("with", True), ("without", False)):
        rows = [i for i, key in enumerate(table.keys) if (level in Strategy.from_json(key).levels()) == wanted]
        if not rows:
            raise SystemExit(f"{domain}: no recorded strategy {side} level {level!r} to compare")
        best = max(rows, key=lambda i: table.values[i])
        out[side] = (json.loads(table.keys[best]), float(table.sign * table.values[best]), int(table.questions[best]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", nargs="+", required=True, help="history files (validation records) to choose from")
    parser.add_argument("--domains", required=True, help="comma-separated")
    parser.add_argument("--level", default="white", choices=["black", "grey", "white"])
    parser.add_argument("--questions", type=int, default=0, help="test questions per cell (0: all the split has)")
    parser.add_argument("--model", default=None, help="base model (default: the built-in one the histories were built with)")
    parser.add_argument("--max-length", type=int, default=128, help="training sequence length (the designs' runner setting)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "confirm_on_test.jsonl")
    args = parser.parse_args()

    from domaintune.history import History
    from domaintune.stats import paired_gap, z_value
    from domaintune.meta.build import read_cells, score_strategy
    from domaintune.runners import RunnerSettings
    from domaintune.strategy import Strategy

    history = History()
    for path in args.history:
        history = history + History.load(path)
    settings = RunnerSettings(**({"model": args.model} if args.model else {}), questions=args.questions or 1,
                              test_questions=args.questions, eval_every=100_000, max_length=args.max_length)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"Level {args.level}: the best strategy with it and the best without it, chosen on validation, scored on test "
             "(same seeded test questions; gap = with - without, paired, 95% interval).", "",
             "| domain | with (validation -> test) | without (validation -> test) | test questions | test gap | verdict |",
             "|---|---|---|---|---|---|"]
    summary, scored = [], read_cells(args.out)
    for domain in [d.strip() for d in args.domains.split(",") if d.strip()]:
        pair = chosen(history, domain, args.level)
        view = next(r.view for r in history if r.domain == domain)
        cells = {}
        for side, (strategy, _, _) in pair.items():
            cell = {"domain": domain, "view": view, "split": "test", "strategy": strategy, "asked": args.questions}
            done = [c for c in scored if all(c.get(k) == v for k, v in cell.items())]
            if not done:
                print(f"{domain}: scoring the best {side} {args.level} on test: {Strategy.from_dict(strategy).describe()}", flush=True)
                done = [{**score_strategy(domain, view, strategy, settings, split="test"), "asked": args.questions}]
                with args.out.open("a") as file:
                    file.write(json.dumps(done[0]) + "\n")
                scored += done
            cells[side] = done[-1]
        gap, se = paired_gap(cells["with"]["outcomes"], cells["without"]["outcomes"])
        half = z_value() * se
        verdict = "tie" if abs(gap) <= half else (f"{args.level} better" if gap > 0 else f"{args.level} worse")
        label = {side: f"{Strategy.from_dict(pair[side][0]).describe()}: {pair[side][1]:.3f} ({pair[side][2]} q) -> "
                       f"{cells[side]['accuracy']:.3f}" for side in pair}
        lines.append(f"| {domain} | {label['with']} | {label['without']} | {cells['with']['questions']} | {gap:+.3f} ± {half:.3f} | {verdict} |")
        summary.append({"domain": domain, "level": args.level, "test_gap": gap, "ci_half": half, "verdict": verdict,
                        **{f"{side}_strategy": pair[side][0] for side in pair},
                        **{f"{side}_validation": pair[side][1] for side in pair},
                        **{f"{side}_test": cells[side]["accuracy"] for side in pair},
                        "test_questions": cells["with"]["questions"]})
    print("\n".join(lines))
    path = args.out.with_suffix(".summary.json")
    rerun = {(s["domain"], s["level"]) for s in summary}
    kept = [s for s in (json.loads(path.read_text()) if path.exists() else []) if (s["domain"], s["level"]) not in rerun]
    path.write_text(json.dumps(sorted(kept + summary, key=lambda s: (s["level"], s["domain"])), indent=1) + "\n")


if __name__ == "__main__":
    main()
