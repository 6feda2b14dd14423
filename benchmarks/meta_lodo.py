"""Leave-one-domain-out benchmark of the meta-learners on the shipped seed history.

Prints the main table (the same as `domaintune meta eval`, which reproduces it from the
shipped history: same seeds, same meta-feature groups) and an ablation of the meta-feature
groups for the learners that use features; writes both to docs/results/meta_lodo.md.

    .venv/bin/python benchmarks/meta_lodo.py [--seeds 5] [--no-ablation] [--history FILE] [--out PATH] [--bootstrap 1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from domaintune.reports import write_result_page as write_page

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
DEFAULT_GROUPS = ("data", "corpus")  # what `domaintune meta eval` and proposals use by default
ABLATION = [("data",), ("corpus",), ("data", "corpus"), ("data", "corpus", "probe"), ("data", "corpus", "embedding"),
            ("probe", "embedding"), ("data", "corpus", "probe", "embedding")]
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
        table = leave_one_domain_out(history, features, methods=FEATURE_METHODS, seeds=seeds, bootstrap=0)["methods"]
        cells = [f"{table[m][k]['regret']:.3f}" for m in FEATURE_METHODS[:2] for k in ("1", "3")]
        cells += [f"{table[m]['5']['regret']:.3f}" for m in FEATURE_METHODS[2:]]
        lines.append(f"| {' + '.join(groups)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--history", action="append", default=[], help="history files (default: the shipped seed history)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "results" / "meta_lodo.md")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates for the 95%% intervals")
    parser.add_argument("--json", type=Path, default=None, help="also write the main table as JSON here")
    args = parser.parse_args()

    from domaintune.meta import feature_table, leave_one_domain_out, load_history, markdown
    from domaintune.meta.features import ALL_GROUPS, select_groups

    history = load_history(args.history or None)
    seeds = tuple(range(args.seeds))
    groups = ALL_GROUPS if not args.no_ablation else DEFAULT_GROUPS
    everything = feature_table(history, groups)
    main = leave_one_domain_out(history, {d: select_groups(f, DEFAULT_GROUPS) for d, f in everything.items()}, seeds=seeds,
                                bootstrap=args.bootstrap)
    main["features"] = list(DEFAULT_GROUPS)
    if args.json:
        import json

        args.json.write_text(json.dumps(main, indent=2) + "\n")
    command = "domaintune meta eval" + "".join(f" --history {h}" for h in args.history) + (f" --seeds {args.seeds}" if args.seeds != 5 else "")
    text = "# Meta-learners, leave one domain out\n\n"
    if args.history:
        text += f"History: {', '.join(f'`{h}`' for h in args.history)}.\n\n"
    text += markdown(main)
    text += (f"\nReproduce: `{command}` (same history, seeds, feature groups and bootstrap seed; `--json` for the data). "
             "The intervals are the noise of *measuring* each method on these domains and questions (its orders fixed), "
             "not of refitting it; a paired difference whose interval holds 0 is a tie.\n")
    if not args.no_ablation:
        text += (
            "\n## Which meta-features carry signal\n\nThe learners that use meta-features, leave-one-domain-out with each "
            "group set (probe: zero-shot score and perplexity of the base model; embedding: MiniLM spread and distance "
            "to the general-English control; data: sizes, lengths, vocabulary, tokens per word; corpus: size, coverage and answer recall of the top BM25 passages).\n\n"
            + ablation_table(history, everything, seeds)
        )
    out = args.out
    marker = "\n## Which meta-features carry signal"
    if args.no_ablation and out.exists() and marker in out.read_text():
        # keep the last full run's ablation (it needs the probe and embedding groups: the base model on every domain)
        text += marker + out.read_text().split(marker, 1)[1]
    write_page(out, text)
    print(text)
