"""Project the CPU cost of building experiments/meta_design_v3.yaml, from costs measured on this
machine (no model is run), before the build starts.

Per strategy, the base costs (scoring seconds per question, training seconds, the rest of a
cell's wall time) are the v2 build's measurements of the same strategy on glossary multiple
choice with SmolLM2 (experiments/results/meta_dataset_v2.jsonl; a free-text strategy, which
has no scoring lever, takes the mean of its v2 variants). They are scaled per task by the
ratios benchmarks/model_cost.py measured in one run (benchmarks/results/model_cost.json):
classification over glossary multiple choice, free text (a classification domain's questions
asked without options) over multiple choice, Gemma over
SmolLM2 per case, Gemma's training over SmolLM2's. Per task the halving plan gives the cells:
every strategy at the first rung, the survivors at the next (their cost: the task's mean), the
finalists plus ``--picks`` more strategies on the evaluation questions; cells an earlier build
holds (``--reuse``) cost nothing more. Prints CPU-hours per group and in all. With
``--calibrate``, also what an exact ``random`` adds (every strategy of a task's table scored on
its evaluation questions, the build's ``--picks --exact-random``): on the tasks built, from each
unscored strategy's own first-rung cell; on the rest, projected and calibrated.

    .venv/bin/python experiments/05_project_cost_v3.py [--workers 2] [--picks 6] [--calibrate CELLS]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cell_seconds(row: dict) -> tuple[float, float, float]:
    """A cell's wall seconds split: (scoring, training, the rest)."""
    cost = row["cost"]
    return cost["eval_seconds"], cost["train_seconds"], max(0.0, row["seconds"] - cost["eval_seconds"] - cost["train_seconds"])


def base_costs(v2_rows: list[dict]) -> dict[str, tuple[float, float, float]]:
    """strategy key -> (scoring s/question, training s, other s per cell), from the v2 cells."""
    from domaintune.history import strategy_key

    samples: dict[str, list[tuple[float, float, float]]] = {}
    for r in v2_rows:
        scoring, train, other = cell_seconds(r)
        samples.setdefault(strategy_key(r["strategy"]), []).append((scoring / r["questions"], train, other))
    return {k: tuple(statistics.mean(v[i] for v in vals) for i in range(3)) for k, vals in samples.items()}  # type: ignore[misc]


def ratios(model_cost: dict) -> dict[str, float]:
    """The scaling factors, from one model_cost.py run."""
    rows = {(r["case"], r["model"]): r for r in model_cost["rows"]}
    small, gemma = "smollm2-135m-instruct", "gemma3-270m"
    per_q = lambda case, model: rows[(case, model)]["eval_s_per_q"]  # noqa: E731
    return {
        "classification": per_q("cls", small) / per_q("mc", small),
        "free_text": per_q("cls-free", small) / per_q("mc", small),
        "gemma:mc": per_q("mc", gemma) / per_q("mc", small),
        "gemma:mc-3shot": per_q("mc-3shot", gemma) / per_q("mc-3shot", small),
        "gemma:cls": per_q("cls", gemma) / per_q("cls", small),
        "gemma:free": per_q("cls-free", gemma) / per_q("cls-free", small),
        "gemma:train": rows[("lora", gemma)]["train_s"] / rows[("lora", small)]["train_s"],
    }


def cell_cost(strategy: dict, task, factors: dict[str, float], base: dict[str, tuple[float, float, float]]) -> tuple[float, float]:
    """(seconds per question, fixed seconds) of one strategy on one task."""
    from domaintune.history import strategy_key
    from domaintune.strategy import Strategy

    key = strategy_key(strategy)
    if key in base and task.view != "free_text":
        per_q, train, other = base[key]
    else:  # a free-text strategy: the mean of its v2 variants (which differ in scoring only)
        unscored = lambda k: strategy_key({kk: vv for kk, vv in json.loads(k).items() if kk != "scoring"})  # noqa: E731
        variants = [v for k, v in base.items() if unscored(k) == unscored(key)]
        per_q, train, other = (statistics.mean(v[i] for v in variants) for i in range(3))
    family = "free_text" if task.view == "free_text" else "classification" if task.view == "multiple_choice" else "glossary"
    if family != "glossary":
        per_q *= factors[family]
    if task.model.startswith("gemma"):
        case = {"free_text": "free", "classification": "cls"}.get(family, "mc-3shot" if Strategy.from_dict(strategy).n_shots else "mc")
        per_q *= factors[f"gemma:{case}"]
        train *= factors["gemma:train"]
    return per_q, train + other


def exact_random_seconds(rows: list[dict], tasks: set[str]) -> tuple[int, int, float]:
    """(tasks, cells, CPU seconds) that scoring every unscored strategy on the evaluation questions
    of the complete ``tasks`` that have them would take: each strategy's first-rung cell, its scoring scaled to
    the task's evaluation questions, its training and the rest of the cell as they were."""
    evaluated: dict[str, set[int]] = {}
    size: dict[str, int] = {}
    for r in rows:
        if r.get("stage") == "evaluation" and r["task"] in tasks:
            evaluated.setdefault(r["task"], set()).add(r["index"])
            size[r["task"]] = r["questions"]
    cells, seconds = 0, 0.0
    for r in rows:
        if r.get("rung") == 0 and r["task"] in evaluated and r["index"] not in evaluated[r["task"]]:
            scoring, train, other = cell_seconds(r)
            seconds += scoring * size[r["task"]] / r["questions"] + train + other
            cells += 1
    return len(evaluated), cells, seconds


def project(design, base, factors, reused: set[tuple[str, int, object]], picks: int, tasks=None, exact_random: bool = False) -> dict[str, float]:
    """CPU seconds per group label (view, model) for the cells still to build (of ``tasks``: all by
    default); with ``exact_random``, every strategy is scored on the evaluation questions."""
    from domaintune.meta.build import asked_view
    from domaintune.domains import load_domain

    seconds: dict[str, float] = {}
    for task in tasks if tasks is not None else design.tasks():
        size = len(load_domain(task.domain).splits["validation"])
        costs = [cell_cost(s, task, factors, base) for s in task.strategies]
        mean_q, mean_fixed = statistics.mean(c[0] for c in costs), statistics.mean(c[1] for c in costs)
        total, kept = 0.0, len(costs)
        for rung, spec in enumerate(design.halving):
            q = min(spec.questions, size)
            if rung == 0:
                total += sum(per_q * q + fixed for i, (per_q, fixed) in enumerate(costs) if (task.key, i, 0) not in reused)
            else:
                kept = spec.survivors(kept)
                done = sum((task.key, i, rung) in reused for i in range(len(costs)))
                total += max(0, kept - done) * (mean_q * q + mean_fixed)
        if design.evaluation:
            left = min(design.evaluation.questions, size - design.halving[-1].questions)
            if left >= design.evaluation.min_questions:
                total += (len(costs) if exact_random else kept + picks) * (mean_q * left + mean_fixed)
        label = f"{asked_view(task.domain, task.view)} / {task.model}"
        seconds[label] = seconds.get(label, 0.0) + total
    return seconds


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", type=Path, default=HERE / "meta_design_v3.yaml")
    parser.add_argument("--base", type=Path, default=HERE / "results" / "meta_dataset_v2.jsonl", help="cells whose costs are the base")
    parser.add_argument("--model-cost", type=Path, default=HERE.parent / "benchmarks" / "results" / "model_cost.json")
    parser.add_argument("--reuse", type=Path, nargs="*", default=[HERE / "results" / "meta_dataset_v2.jsonl"])
    parser.add_argument("--picks", type=int, default=6, help="strategies beyond the finalists scored on the evaluation questions, per task")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--calibrate", type=Path, default=None, help="this build's own cells: scale the projection by measured / projected on the tasks they complete")
    args = parser.parse_args()

    from domaintune.meta.build import complete_tasks, load_design, read_cells, reusable_cells

    design = load_design(args.design)
    base = base_costs(read_cells(args.base))
    factors = ratios(json.loads(args.model_cost.read_text()))
    reused_rows = [row for path in args.reuse for row in reusable_cells(design, read_cells(path), [], path.name)]
    reused = {(r["task"], r["index"], r["rung"]) for r in reused_rows}
    spent = sum(r["seconds"] for r in reused_rows)
    print("ratios (benchmarks/model_cost.py): " + ", ".join(f"{k} {v:.2f}" for k, v in factors.items()))
    seconds = project(design, base, factors, reused, args.picks)
    tasks = design.tasks()
    print(f"{len(tasks)} tasks, {sum(len(t.strategies) for t in tasks)} first-rung cells; {len(reused_rows)} cells reused "
          f"({spent / 3600:.1f} CPU-hours already spent)")
    for label, value in seconds.items():
        count = sum(f"{t.view} / {t.model}" == label for t in tasks)
        print(f"  {label:45} {count:>2} tasks  {value / 3600:6.1f} CPU-hours")
    total = sum(seconds.values()) / 3600
    print(f"to build: {total:.1f} CPU-hours ({total / args.workers:.1f} h wall on {args.workers} workers); with the reused cells {total + spent / 3600:.1f}")
    if args.calibrate:
        built = [r for r in read_cells(args.calibrate) if "reused_from" not in r]
        done = {t.key for t in complete_tasks(design, built)}
        measured = sum(r["seconds"] for r in built if r["task"] in done and "rung" in r)  # the table's cells (the evaluation's may not be done)
        table_only = design.model_copy(update={"evaluation": None})
        projected = sum(project(table_only, base, factors, reused, args.picks, [t for t in tasks if t.key in done]).values())
        if done and projected:
            ratio = measured / projected
            print(f"calibrated on the {len(done)} task(s) built so far ({measured / 3600:.2f} CPU-hours measured, {projected / 3600:.2f} projected): "
                  f"x{ratio:.2f} -> {total * ratio:.1f} CPU-hours to build ({total * ratio / args.workers:.1f} h wall on {args.workers} workers)")
            everything = read_cells(args.calibrate)  # reused cells included: a reused task is built too
            complete = {t.key for t in complete_tasks(design, everything)}
            n_tasks, cells, spent_exact = exact_random_seconds(everything, complete)
            left = [t for t in tasks if t.key not in complete]
            extra = (sum(project(design, base, factors, reused, args.picks, left, exact_random=True).values())
                     - sum(project(design, base, factors, reused, args.picks, left).values())) * ratio
            print(f"exact random: +{spent_exact / 3600:.1f} CPU-hours for {cells} strategies unscored on the evaluation questions of "
                  f"the {n_tasks} tasks that have them (from each one's first-rung cell); +{extra / 3600:.1f} CPU-hours (calibrated) "
                  f"on the {len(left)} tasks left")
