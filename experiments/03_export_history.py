"""Export the finished meta-dataset as the shipped seed history, and summarize it.

Only domains whose row of the design is complete are exported (the table stays complete,
so regret is exact). Writes domaintune/data/history/seed.jsonl (what `domaintune propose`,
`warm_start:` and `domaintune meta eval` read) and prints, per domain, the best strategy and
how many others are within noise of it (also written to docs/meta_dataset.md): a paired test on the same questions (difference of
per-question outcomes, 1.96 standard errors).

    .venv/bin/python experiments/03_export_history.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", type=Path, default=HERE / "meta_design.yaml")
    parser.add_argument("--cells", type=Path, default=HERE / "results" / "meta_dataset.jsonl")
    parser.add_argument("--out", type=Path, default=HERE.parent / "domaintune" / "data" / "history" / "seed.jsonl")
    parser.add_argument("--markdown", type=Path, default=HERE.parent / "docs" / "meta_dataset.md")
    args = parser.parse_args()

    from domaintune.meta import within_noise_paired  # the same test as the LODO benchmark's "in noise" column
    from domaintune.meta.build import complete_domains, load_design, read_cells, to_history
    from domaintune.strategy import Strategy

    design = load_design(args.design)
    rows = read_cells(args.cells)
    domains = complete_domains(design, rows)
    history = to_history(design, rows, source=f"experiments/02_build_meta_dataset.py ({args.cells.name})")
    history.to_jsonl(args.out)
    print(f"{len(history)} records, {len(domains)} complete domains x {len(design.strategies)} strategies -> {args.out}")

    cells = {(r["domain"], r["index"]): r for r in rows if r["questions"] >= design.questions}
    labels = [Strategy.from_dict(s).describe() for s in design.strategies]
    winners: Counter[int] = Counter()
    lines = [
        "# The shipped meta-dataset",
        "",
        f"Built by `experiments/02_build_meta_dataset.py` from `experiments/meta_design.yaml`: {len(design.strategies)} strategies "
        f"x {len(domains)} domains, view {design.view}, the same {design.questions} seeded validation questions per cell "
        f"(one standard error is about ±{100 * math.sqrt(0.25 / design.questions):.0f} points near 50%). Exported as "
        "`domaintune/data/history/seed.jsonl` by `experiments/03_export_history.py`. **tied** counts the other strategies "
        "within noise of the domain's best: a paired test on the same questions, gap <= 1.96 standard errors of the "
        "per-question difference.",
        "",
        "Strategies: " + "; ".join(f"**S{i}** {label}" for i, label in enumerate(labels)),
        "",
        "| domain | " + " | ".join(f"S{i}" for i in range(len(labels))) + " | best | tied |",
        "|---|" + "---|" * (len(labels) + 2),
    ]
    for domain in domains:
        row = [cells[(domain, i)] for i in range(len(design.strategies))]
        best = max(row, key=lambda r: r["accuracy"])
        tied = 0
        for other in row:
            if other is not best:
                tied += within_noise_paired(best["outcomes"], other["outcomes"])
        winners[best["index"]] += 1
        cells_text = " | ".join(f"**{r['accuracy']:.0%}**" if r is best else f"{r['accuracy']:.0%}" for r in row)
        lines.append(f"| {domain} | {cells_text} | S{best['index']} | {tied} |")
    means = [sum(cells[(d, i)]["accuracy"] for d in domains) / max(1, len(domains)) for i in range(len(labels))]
    seconds = [sum(cells[(d, i)]["seconds"] for d in domains) / max(1, len(domains)) for i in range(len(labels))]
    lines.append("| **mean** | " + " | ".join(f"{m:.0%}" for m in means) + " | | |")
    lines.append("| CPU-s per cell | " + " | ".join(f"{s:.0f}" for s in seconds) + " | | |")
    lines += ["", "Best strategy per domain (ties go to the first):", ""]
    lines += [f"- S{index} {labels[index]}: {count} domains" for index, count in winners.most_common()]
    cpu = sum(r["seconds"] for r in rows)
    env = json.loads(args.cells.with_suffix(".env.json").read_text()) if args.cells.with_suffix(".env.json").exists() else {}
    lines += ["", f"{len(rows)} cells, {cpu / 3600:.2f} CPU-hours (wall seconds per cell, two workers on a 2-vCPU machine shared "
              "with other work, so seconds are an upper bound; FLOPs and tokens in each record's cost are load-free).",
              "", f"Environment: `{json.dumps(env.get('environment', {}))}`"]
    text = "\n".join(lines) + "\n"
    args.markdown.write_text(text)
    print(text)
