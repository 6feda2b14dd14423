"""Export a meta-dataset build as a history, and summarize it.

Only tasks whose row of the design is complete are exported (a task: a domain, the view it is
asked in, the base model). For experiments/meta_design_v3.yaml this writes the shipped seed
history, domaintune/data/history/seed.jsonl.gz (what `domaintune propose`, `warm_start:`, the
schedule and `domaintune meta eval` read, gzip-compressed for the wheel): the screening cells
(each strategy at the highest rung it reached) and the evaluation cells (picks scored on
questions no screening saw), and its report to docs/results/meta_dataset_v3.md (cells and
CPU-hours per rung, then `domaintune meta winners`). Another successive-halving design
(experiments/meta_design_v2.yaml) writes experiments/results/<dataset>.history.jsonl; a full
design (every strategy on every domain, experiments/meta_design.yaml) also prints, per domain,
the best strategy and how many others are within noise of it (a paired test on the same
questions: difference of per-question outcomes, 1.96 standard errors).

    .venv/bin/python experiments/03_export_history.py --design experiments/meta_design_v3.yaml
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

from domaintune.reports import write_result_page as write_page

HERE = Path(__file__).resolve().parent
PROJECTIONS = {  # what each halving design was planned against
    "meta_dataset_v2": "9.3 CPU-hours for all 22 domains (`experiments/05_project_cost_v2.py`, docs/results/meta_dataset_v2_projection.md)",
    "meta_dataset_v3": "about 46 CPU-hours to build, 18.7 more already spent on the reused v2 cells "
                       "(`experiments/05_project_cost_v3.py`, docs/results/meta_dataset_v3_projection.md)",
}


def export_halving(design, rows: list[dict], cells: Path, design_path: Path, out: Path | None, markdown: Path, dataset: str) -> None:
    """A successive-halving build: each strategy's highest rung (and the evaluation cells) as the
    history, and the report."""
    from domaintune.meta import winners, winners_markdown
    from domaintune.meta.build import complete_tasks, row_task, to_history

    out = out or HERE / "results" / f"{dataset}.history.jsonl"
    history = to_history(design, rows, source=f"experiments/02_build_meta_dataset.py ({cells.name})")
    history.to_jsonl(out)
    tasks = [t.key for t in complete_tasks(design, rows)]
    domains = tasks
    counted = [r for r in rows if row_task(r) in tasks]
    lines = [f"# Meta-dataset {dataset}", "",
             f"Built by `experiments/02_build_meta_dataset.py --design experiments/{design_path.name}` (successive halving on the "
             f"table, domain by domain; each cell recorded with its rung and fidelity), exported by `experiments/03_export_history.py` "
             f"to `{out.relative_to(HERE.parent) if out.is_relative_to(HERE.parent) else out}`. {len(domains)} of "
             f"{len(design.tasks())} tasks complete (a task: a domain, its view, the base model); "
             f"{len(history.validated())} screening cells and {len(history.evaluation())} evaluation cells exported.", "",
             "| rung | questions per cell (at most) | cells | CPU-hours |", "|---|---|---|---|"]
    for rung, spec in enumerate(design.halving):
        done = [r for r in counted if r.get("rung") == rung]
        sizes = sorted({r["questions"] for r in done})
        lines.append(f"| {rung} | {spec.questions} ({sizes[0]}-{sizes[-1]} scored) | {len(done)} | {sum(r['seconds'] for r in done) / 3600:.2f} |"
                     if done else f"| {rung} | {spec.questions} | 0 | 0 |")
    lines += [f"| all | | {len(counted)} | {sum(r['seconds'] for r in counted) / 3600:.2f} |", "",
              *_by_family_and_model(history, counted), "",
              "CPU-hours are wall seconds per cell summed, two workers on a 2-vCPU machine (so an upper bound on CPU time). "
              f"Projected before the build: {PROJECTIONS.get(dataset, 'see docs/results')}.", "",
              "| task | cells | most questions per cell | CPU-hours |", "|---|---|---|---|"]
    for task in domains:
        mine = [r for r in counted if row_task(r) == task]
        label = task.replace("|", "\\|")
        lines.append(f"| {label} | {len(mine)} | {max(r['questions'] for r in mine)} | {sum(r['seconds'] for r in mine) / 3600:.2f} |")
    lines += ["", "## Which strategy wins where (`domaintune meta winners`)", "", winners_markdown(winners(history))]
    text = "\n".join(lines) + "\n"
    write_page(markdown, text)
    print(f"{len(history)} records, {len(domains)} complete tasks -> {out}\n\n{text}")


def _by_family_and_model(history, counted: list[dict]) -> list[str]:
    """Tasks, domains, cells, questions per cell and CPU-hours per (family, base model)."""
    from domaintune.domains import load_domain
    from domaintune.history import task_parts
    from domaintune.meta.build import row_task
    from domaintune.meta.features import task_family

    parts = {t: task_parts(t) for t in history.tasks()}
    groups: dict[tuple[str, str], list[str]] = {}
    for task, (domain, view, model) in parts.items():
        groups.setdefault((task_family(load_domain(domain).view(view)), model), []).append(task)
    lines = ["| family | base model | tasks | domains | cells (screening + evaluation) | questions per cell | CPU-hours |",
             "|---|---|---|---|---|---|---|"]
    for (fam, model), tasks in sorted(groups.items()):
        rows = [r for r in counted if row_task(r) in tasks]
        sizes = sorted(r["questions"] for r in rows)
        lines.append(f"| {fam} | {model} | {len(tasks)} | {len({parts[t][0] for t in tasks})} | {len(rows)} | "
                     f"{sizes[0]}-{sizes[-1]} (median {sizes[len(sizes) // 2]}) | {sum(r['seconds'] for r in rows) / 3600:.2f} |")
    return lines


def export_full(design, rows: list[dict], cells_path: Path, design_path: Path, out: Path, markdown: Path, title: str) -> None:
    """A full table (every strategy on every domain): its history (for meta_design.yaml, the
    shipped seed history) and its report."""
    from domaintune.stats import within_noise_paired  # the same test as the LODO benchmark's "in noise" column
    from domaintune.meta.build import complete_domains, to_history
    from domaintune.strategy import Strategy

    domains = complete_domains(design, rows)
    history = to_history(design, rows, source=f"experiments/02_build_meta_dataset.py ({cells_path.name})")
    history.to_jsonl(out)
    print(f"{len(history)} records, {len(domains)} complete domains x {len(design.strategies)} strategies -> {out}")

    cells = {(r["domain"], r["index"]): r for r in rows if r["questions"] >= design.questions}
    labels = [Strategy.from_dict(s).describe() for s in design.strategies]
    winners: Counter[int] = Counter()
    lines = [
        f"# {title}",
        "",
        f"Built by `experiments/02_build_meta_dataset.py` from `experiments/{design_path.name}`: {len(design.strategies)} strategies "
        f"x {len(domains)} domains, view {design.view}, the same {design.questions} seeded validation questions per cell "
        f"(one standard error is about ±{100 * math.sqrt(0.25 / design.questions):.0f} points near 50%). Exported as "
        f"`{out.relative_to(HERE.parent) if out.is_relative_to(HERE.parent) else out}` by `experiments/03_export_history.py`. **tied** counts the other strategies "
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
    header = cells_path.with_suffix(".env.json")
    env = json.loads(header.read_text()) if header.exists() else {}
    lines += ["", f"{len(rows)} cells, {cpu / 3600:.2f} CPU-hours (wall seconds per cell, two workers on a 2-vCPU machine shared "
              "with other work, so seconds are an upper bound; FLOPs and tokens in each record's cost are load-free).",
              "", f"Environment: `{json.dumps(env.get('environment', {}))}`"]
    text = "\n".join(lines) + "\n"
    write_page(markdown, text)
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", type=Path, default=HERE / "meta_design.yaml")
    parser.add_argument("--cells", type=Path, default=None, help="default: results/<design name, design read dataset>.jsonl")
    parser.add_argument("--out", type=Path, default=None, help="the history file (defaults: see above)")
    parser.add_argument("--markdown", type=Path, default=None, help="the report (default: docs/results/<dataset>.md)")
    args = parser.parse_args()
    dataset = args.design.stem.replace("design", "dataset")
    args.cells = args.cells or HERE / "results" / f"{dataset}.jsonl"
    args.markdown = args.markdown or HERE.parent / "docs" / "results" / f"{dataset}.md"

    from domaintune.meta.build import load_design, read_cells

    design = load_design(args.design)
    rows = read_cells(args.cells)
    if design.halving:
        from domaintune.history import SEED_HISTORY

        shipped = args.design.resolve() == (HERE / "meta_design_v3.yaml").resolve()  # the shipped history's design
        export_halving(design, rows, args.cells, args.design, args.out or (SEED_HISTORY if shipped else None), args.markdown, dataset)
    else:
        out = args.out or HERE / "results" / f"{dataset}.history.jsonl"
        export_full(design, rows, args.cells, args.design, out, args.markdown, f"Meta-dataset {dataset}")
