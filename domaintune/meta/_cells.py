"""Which of a build's cells count, what one costs, and the cells as history records (what the
meta-learners fit on).

A cell is one strategy scored on one task (domain, view, base model). Table cells carry the
``rung`` they were screened at; evaluation cells (``stage: evaluation``) were scored on the
questions after the last rung's, which no screening saw, and are kept apart from the table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domaintune.lm import DEFAULT_MODEL
from domaintune.meta._design import Design, Task, cell_value, halving_plan, row_task

EVALUATION = "evaluation"  # a cell's ``stage`` when it was scored on the evaluation questions
Job = tuple[Design, Task, int, int | None, int | None, int]  # a cell to score: task, strategy index, questions, rung, skipped questions


def is_table_cell(row: dict[str, Any]) -> bool:
    return row.get("stage") != EVALUATION


def complete_tasks(design: Design, rows: list[dict[str, Any]]) -> list[Task]:
    """The design's tasks whose row is done: every strategy at the design's questions or, with
    halving, every rung's planned cells."""
    table = [r for r in rows if is_table_cell(r)]
    if design.halving:
        have = {(row_task(r), r["index"], r.get("rung")) for r in table}
        return [
            t for t in design.tasks()
            if all((t.key, i, rung) in have for rung in range(len(design.halving)) for i in halving_plan(design, table, t, rung))
        ]
    have = {(row_task(r), r["index"]) for r in table if r["questions"] >= design.questions}
    return [t for t in design.tasks() if all((t.key, i) in have for i in range(len(t.strategies)))]


def complete_domains(design: Design, rows: list[dict[str, Any]]) -> list[str]:
    """The domains every task of which is complete (``complete_tasks``), in design order."""
    done = {t.key for t in complete_tasks(design, rows)}
    names = list(dict.fromkeys(t.domain for t in design.tasks()))
    return [d for d in names if all(t.key in done for t in design.tasks() if t.domain == d)]


def final_cells(design: Design, rows: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """(task key, strategy index) -> the cell that counts, for the complete tasks: the one at the
    design's questions or, with halving, at the highest rung the strategy reached."""
    complete = {t.key for t in complete_tasks(design, rows)}
    table = [r for r in rows if is_table_cell(r) and row_task(r) in complete]
    if design.halving:
        cells: dict[tuple[str, int], dict[str, Any]] = {}
        for r in table:
            key = (row_task(r), r["index"])
            if key not in cells or r.get("rung", 0) >= cells[key].get("rung", 0):
                cells[key] = r
        return dict(sorted(cells.items()))
    return dict(sorted({(row_task(r), r["index"]): r for r in table if r["questions"] >= design.questions}.items()))


def evaluation_cells(rows: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """(task key, strategy index) -> its cell on the task's evaluation questions, in key order
    (the order the cells finished in, which the workers decide, does not reach an export)."""
    return dict(sorted({(row_task(r), r["index"]): r for r in rows if not is_table_cell(r)}.items()))


def _question_ids(row: dict[str, Any], seed: int) -> list[str] | None:
    """The ids of the questions a cell scored, for cells recorded before ids were kept: the same
    seeded sample drawn again, when the domain is still the one the cell scored (same fingerprint)."""
    from domaintune.domains import load_domain
    from domaintune.errors import DomainError
    from domaintune.runners import question_id, scored_rows

    try:
        domain = load_domain(row["domain"]).view(row["view"])
    except DomainError:
        return None  # a domain that is gone: the cell keeps its outcomes, unpaired
    if domain.fingerprint != row["fingerprint"]:
        return None
    return [question_id(q) for q in scored_rows(domain, "validation", row["questions"], seed)]


def to_history(design: Design, rows: list[dict[str, Any]], source: str) -> Any:
    """The complete tasks' cells that count (``final_cells``) as history records (validation
    split, with standard errors, outcomes and question ids), then their evaluation cells
    (``stage: evaluation``: what the meta benchmark scores picks on, never what learners fit)."""
    from domaintune.history import History

    complete = {t.key for t in complete_tasks(design, rows)}
    evaluated = [r for key, r in evaluation_cells(rows).items() if key[0] in complete]
    return History([_record(r, design.seed, source, "screening") for r in final_cells(design, rows).values()]
                   + [_record(r, design.seed, source, EVALUATION) for r in evaluated])


def _record(r: dict[str, Any], seed: int, source: str, stage: str) -> Any:
    from domaintune.history import Record

    return Record(
        domain=r["domain"], fingerprint=r["fingerprint"], view=r["view"], strategy=r["strategy"],
        steps=int(r.get("steps", 0)), metric=r.get("metric", "accuracy"), value=cell_value(r), stderr=r["stderr"],
        cost=r["cost"], split="validation", base_model=Path(r["model"]).name, source=source,
        questions=r["questions"], question_ids=r.get("question_ids") or _question_ids(r, seed), outcomes=r.get("outcomes"),
        stage=stage,
    )


def reusable_cells(design: Design, source: list[dict[str, Any]], have: list[dict[str, Any]], origin: str) -> list[dict[str, Any]]:
    """Cells of an earlier build that are cells of this design: the same task, strategy (at the
    same index), seed, rung and questions, on the domain as it is now (same fingerprint), and not
    in ``have`` yet; each marked with where it came from. Evaluation cells are never reused."""
    from domaintune.domains import load_domain
    from domaintune.history import strategy_key

    tasks = {t.key: t for t in design.tasks()}
    recorded = {(row_task(r), r["index"], r.get("rung"), r.get("stage")) for r in have}
    known: dict[str, tuple[str, int]] = {}  # domain -> (fingerprint, validation questions), loaded once
    found = []
    for row in source:
        task = tasks.get(row_task(row))
        rung = row.get("rung")
        if task is None or not is_table_cell(row) or rung is None or rung >= len(design.halving) or row.get("seed") != design.seed:
            continue
        if row["index"] >= len(task.strategies) or strategy_key(task.strategies[row["index"]]) != strategy_key(row["strategy"]):
            continue
        if task.domain not in known:
            domain = load_domain(task.domain)
            known[task.domain] = (domain.fingerprint, len(domain.splits["validation"]))
        fingerprint, size = known[task.domain]
        wanted = min(design.halving[rung].questions, size)  # a small domain scores all it has
        if row["fingerprint"] != fingerprint or row["fidelity"]["questions"] != wanted or dict(task.runner):
            continue
        if (task.key, row["index"], rung, None) not in recorded:
            recorded.add((task.key, row["index"], rung, None))
            found.append({**row, "task": task.key, "reused_from": origin})
    return found


def longest_first(jobs: list[Job], rows: list[dict[str, Any]]) -> list[Job]:
    """``jobs`` ordered by their expected seconds, dearest first, so that a stage does not wait on
    one dear cell that started last while the other workers idle (a fine-tuning cell that selects
    its data by difficulty runs 5 to 10 times as long as the rest). A cell's seconds are priced
    from the cells recorded so far: the same task and strategy at another rung, else the same
    strategy on the same model (in the same view, else in any), else on any model (training and
    overhead as they were, scoring scaled to the job's questions); a strategy never recorded
    counts as free. Only the order changes: every cell is seeded by itself, so what it scores does
    not depend on it."""
    from domaintune.history import strategy_key

    samples: dict[tuple[str, ...], list[tuple[float, float]]] = {}
    for row in rows:
        scoring = row.get("cost", {}).get("eval_seconds", 0.0)
        sample = (row.get("seconds", 0.0) - scoring, scoring / max(1, row["questions"]))
        key, model = strategy_key(row["strategy"]), row.get("model") or DEFAULT_MODEL
        for where in ((row_task(row), str(row["index"])), (model, row["view"], key), (model, key), (key,)):
            samples.setdefault(where, []).append(sample)

    def seconds(job: Job) -> float:
        design, task, index, questions, _, _ = job
        key = strategy_key(task.strategies[index])
        for where in ((task.key, str(index)), (task.model, task.view, key), (task.model, key), (key,)):
            if where in samples:
                fixed, per_question = (sum(v) / len(samples[where]) for v in zip(*samples[where]))
                return fixed + per_question * (questions or design.questions)
        return 0.0

    return sorted(jobs, key=seconds, reverse=True)
