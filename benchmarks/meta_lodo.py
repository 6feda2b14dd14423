"""Leave-one-domain-out benchmark of the meta-learners on the shipped seed history.

Runs `domaintune meta eval` (the same function, defaults and history: tasks of three families
and two base models, every method's picks valued on evaluation questions no selection saw) and
writes its JSON to benchmarks/results/meta_eval.json (what the reproduction test compares a fresh
run with, byte for byte) and its tables to docs/results/meta_lodo.md, with an ablation of the
meta-feature groups for the learners that use features (on the table view; --no-ablation keeps
the last one).

    .venv/bin/python benchmarks/meta_lodo.py [--no-ablation] [--history FILE] [--out PATH] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from domaintune.reports import write_result_page as write_page

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
ROOT = Path(__file__).resolve().parent.parent
ABLATION = [("data",), ("corpus",), ("task",), ("data", "corpus"), ("data", "corpus", "task"), ("data", "corpus", "task", "probe"),
            ("data", "corpus", "task", "embedding")]
FEATURE_METHODS = ["nearest", "surrogate", "tpe+nearest", "tpe+surrogate"]  # the others ignore meta-features


def ablation_table(history, all_features: dict, seeds: tuple[int, ...]) -> str:
    from domaintune.meta import leave_one_domain_out
    from domaintune.meta.features import select_groups

    lines = [
        "| feature groups | " + " | ".join(f"{m} regret@1 | {m} regret@3" for m in FEATURE_METHODS[:2]) + " | "
        + " | ".join(f"{m} regret@5" for m in FEATURE_METHODS[2:]) + " |",
        "|---|" + "---|" * 6,
    ]
    for groups in ABLATION:
        features = {d: select_groups(f, groups) for d, f in all_features.items()}
        table = leave_one_domain_out(history, features, methods=FEATURE_METHODS, seeds=seeds, bootstrap=0)
        table = table.get("table", table)["methods"]
        cells = [f"{table[m][k]['regret']:.3f}" for m in FEATURE_METHODS[:2] for k in ("1", "3")]
        cells += [f"{table[m]['5']['regret']:.3f}" for m in FEATURE_METHODS[2:]]
        lines.append(f"| {' + '.join(groups)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--history", action="append", default=[], help="history files (default: the shipped seed history)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "meta_lodo.md")
    parser.add_argument("--json", type=Path, default=None, help="the JSON (default: benchmarks/results/meta_eval.json for the "
                        "shipped history, none for another)")
    args = parser.parse_args()

    from domaintune.meta import BENCHMARK_SEEDS, benchmark, feature_table, load_history, markdown
    from domaintune.meta.features import ALL_GROUPS, MODEL_FREE_GROUPS

    history = load_history(args.history or None)
    main = benchmark(history)
    out_json = args.json or (None if args.history else ROOT / "benchmarks" / "results" / "meta_eval.json")
    if out_json:
        out_json.write_text(json.dumps(main, indent=2) + "\n")  # what `domaintune meta eval --json` prints
    command = "domaintune meta eval" + "".join(f" --history {h}" for h in args.history)
    text = "# Meta-learners, leave one domain out\n\n"
    if args.history:
        text += f"History: {', '.join(f'`{h}`' for h in args.history)}.\n\n"
    text += markdown(main)
    text += (f"\nReproduce: `{command}` (`--json` for the data{f', as in `{out_json.relative_to(ROOT)}`' if out_json else ''}). "
             "The intervals are the noise of *measuring* each method on these tasks and questions (its orders fixed), "
             "not of refitting it; a paired difference whose interval holds 0 is a tie.\n")
    if not args.no_ablation:
        everything = feature_table(history.validated(), ALL_GROUPS)
        text += (
            "\n## Which meta-features carry signal\n\nThe learners that use meta-features, leave-one-domain-out on the table "
            "view with each group set (data: sizes, lengths, vocabulary; corpus: size, coverage and answer recall of the top "
            "BM25 passages, on train questions; task: family and base model; probe: zero-shot score, perplexity and tokens per "
            "word of the base model; embedding: MiniLM spread and distance to the general-English control). Default: "
            f"{' + '.join(MODEL_FREE_GROUPS)}.\n\n" + ablation_table(history, everything, BENCHMARK_SEEDS)
        )
    out = args.out
    marker = "\n## Which meta-features carry signal"
    if args.no_ablation and out.exists() and marker in out.read_text():
        # keep the last full run's ablation (it needs the probe and embedding groups: the base model on every task)
        text += marker + out.read_text().split(marker, 1)[1]
    write_page(out, text)
    print(text)
