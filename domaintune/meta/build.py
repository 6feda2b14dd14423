"""Building a meta-dataset: a fixed design of strategies, every one scored on every domain.

The design (``experiments/meta_design.yaml``) is validated here; each cell is one real
evaluation with the LM runner on the domain's seeded validation sample, kept with its
per-question outcomes so that two strategies can be compared paired (same questions).
Cells are appended to a JSONL file as they finish, so a build resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domaintune.errors import ConfigError, json_objects
from domaintune.meta._cells import (
    EVALUATION,
    Job,
    complete_domains,
    complete_tasks,
    evaluation_cells,
    final_cells,
    is_table_cell,
    longest_first,
    reusable_cells,
    to_history,
)
from domaintune.meta._design import Design, Rung, Task, asked, asked_view, environment, halving_plan, load_design, row_task
from domaintune.strategy import Strategy

__all__ = [
    "Design",
    "Rung",
    "Task",
    "asked",
    "asked_view",
    "build",
    "build_halving",
    "complete_domains",
    "complete_tasks",
    "evaluation_cells",
    "environment",
    "evaluate_cell",
    "final_cells",
    "halving_plan",
    "load_design",
    "longest_first",
    "read_cells",
    "reusable_cells",
    "row_task",
    "score_strategy",
    "to_history",
]


def score_strategy(domain_name: str, view: str, values: dict[str, Any], settings: Any, split: str = "validation") -> dict[str, Any]:
    """Score one strategy on a built-in domain's split through the runner ``settings`` names:
    one table row, with per-question outcomes and ids, standard error, cost and wall seconds. The
    value is the task's main metric (accuracy, or token F1 for free text)."""
    from domaintune.domains import TASK_METRICS, load_domain
    from domaintune.runners import make_runner

    strategy = Strategy.from_dict(values)
    domain = asked(load_domain(domain_name), view)
    view = domain.view_name
    started = time.perf_counter()
    result = make_runner(settings).run(domain, strategy, split=split)
    metric = TASK_METRICS["qa" if domain.task == "qa" else "multiple_choice"][0]
    value, outcomes = result.metrics[metric], [float(o) for o in result.outcomes or []]
    n = result.questions
    spread = sum((o - value) ** 2 for o in outcomes) / n if outcomes else value * (1 - value)
    return {
        "domain": domain_name,
        "view": view,
        "fingerprint": domain.fingerprint,
        "strategy": strategy.active(),
        "label": strategy.describe(),
        "split": split,
        "questions": n,
        "metric": metric,
        "value": value,
        **({"accuracy": value} if metric == "accuracy" else {}),
        "stderr": math.sqrt(spread / n),
        "question_ids": result.question_ids,
        "outcomes": result.outcomes,
        "steps": result.steps,
        "cost": result.cost,
        "seconds": time.perf_counter() - started,
        "model": settings.model,
    }


def evaluate_cell(
    design: Design, which: Task | str, index: int, questions: int | None = None, rung: int | None = None, skip: int = 0
) -> dict[str, Any]:
    """One cell of the design: a task's strategy on the domain's seeded validation sample (the
    first ``questions`` of it: a larger rung's sample holds the smaller one's questions, so rungs
    pair; with ``skip``, the questions after the first ``skip``: an evaluation cell)."""
    from domaintune.runners import RunnerSettings

    task = design.task(which)
    n = questions or design.questions
    settings = RunnerSettings(**{**design.runner, **dict(task.runner), "questions": n, "seed": design.seed, "model": task.model, "skip_questions": skip})
    row = {**score_strategy(task.domain, task.view, task.strategies[index], settings), "index": index, "seed": design.seed, "task": task.key}
    row["fidelity"] = {"questions": row["questions"], "steps": row["steps"]}
    if rung is not None:
        row["rung"] = rung
    if skip:
        row.update(stage=EVALUATION, skipped=skip)
    return row


def _run_cell(args: Job) -> dict[str, Any]:
    """One cell in a worker; a cell that fails comes back as its error (the build goes on, and a
    rerun tries it again), never as a row."""
    design, task, index, questions, rung, skip = args
    try:
        return evaluate_cell(design, task, index, questions, rung, skip)
    except Exception as error:  # noqa: BLE001 - reported by the build loop with the cell it belongs to
        return {"error": f"{type(error).__name__}: {error}", "label": task.label, "index": index, "rung": rung}


def _evaluate(pool: Any, jobs: list[Job], out: Path, on_row: Callable[[dict[str, Any]], str], log: Callable[[str], None]) -> tuple[int, int]:
    """Evaluate ``jobs`` (in ``pool``, or here when it is None), appending each finished cell to
    ``out`` as it comes and logging it (``on_row`` gives the line) or its failure; returns
    (evaluated, failed)."""
    from concurrent.futures import as_completed

    evaluated = failed = 0
    if pool:  # dearest first, each cell kept as soon as it finishes (a killed build loses only the running ones)
        rows = (future.result() for future in as_completed([pool.submit(_run_cell, job) for job in longest_first(jobs, read_cells(out))]))
    else:
        rows = map(_run_cell, jobs)
    for row in rows:
        if "error" in row:
            failed += 1
            rung = f" rung {row['rung']}" if row["rung"] is not None else ""
            log(f"{row['label']}{rung} #{row['index']} FAILED: {row['error']}")
            continue
        with out.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        evaluated += 1
        log(on_row(row))
    return evaluated, failed


def _task_done(task: Task, evaluated: int, failed: int, commit: bool, out: Path, header: Path, what: str, log: Callable[[str], None]) -> None:
    """After a task's cells: say what failed and, with ``commit``, commit what was evaluated
    (an incomplete task too: a rerun resumes from it and retries the failed cells)."""
    if failed:
        log(f"{task.label}: {failed} cell(s) failed; the row is incomplete (rerun the build to retry them)")
    if commit and evaluated:
        _commit(out, f"{what}: {task.label} {'incomplete' if failed else 'complete'}")
        _commit(header, f"{what}: environment")


def build_halving(
    design: Design,
    out: Path,
    workers: int = 2,
    domains: int | None = None,
    commit: bool = False,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Successive halving over the table, one task at a time (so a stopped build leaves whole
    rows): every strategy is scored at the first rung's questions, the task's best survivors at
    the next rung's, and so on; each cell is appended with its ``rung`` and ``fidelity``
    (questions, steps). With an ``evaluation`` section, the last rung's finalists are then scored
    on the questions after the last rung's (``evaluation_cells``). Resumable: a recorded
    (task, strategy, rung) is skipped. With ``commit``, the file is committed after each task.
    ``workers`` = 0 evaluates in this process; ``domains`` = N builds the first N tasks."""
    from concurrent.futures import ProcessPoolExecutor

    if not design.halving:
        raise ConfigError("build_halving: the design has no halving rungs")
    header = _write_header(design, out)
    tasks = design.tasks()[:domains] if domains else design.tasks()
    pool = ProcessPoolExecutor(workers) if workers else None
    started = time.perf_counter()
    try:
        for number, task in enumerate(tasks, 1):
            def line(row: dict[str, Any], number: int = number, task: Task = task) -> str:
                stage = f"rung {row['rung']}" if "rung" in row else "eval  "
                return (f"[{number}/{len(tasks)}] {stage} {task.label[:44]:44} #{row['index']:<3} {row['value']:.3f} ± {row['stderr']:.3f} "
                        f"({row['questions']} q, {row['seconds']:4.0f} s) {row['label'][:40]}  ({(time.perf_counter() - started) / 60:.0f} min in)")

            evaluated = failed = 0
            for jobs in _task_stages(design, task, out):
                done_now, failed_now = _evaluate(pool, jobs, out, line, log)
                evaluated, failed = evaluated + done_now, failed + failed_now
            _task_done(task, evaluated, failed, commit, out, header, f"meta-dataset ({len(design.halving)} rungs)", log)
    finally:
        if pool:
            pool.shutdown()
    return read_cells(out)


def _task_stages(design: Design, task: Task, out: Path) -> Any:
    """A task's jobs, stage by stage (each rung, then the evaluation), each planned from the cells
    recorded so far: what is already in ``out`` is not evaluated again."""
    for rung, spec in enumerate(design.halving):
        rows = read_cells(out)
        done = {r["index"] for r in rows if row_task(r) == task.key and r.get("rung") == rung and is_table_cell(r)}
        yield [(design, task, i, spec.questions, rung, 0) for i in halving_plan(design, rows, task, rung) if i not in done]
    if design.evaluation is None:
        return
    rows = read_cells(out)
    skip = design.halving[-1].questions
    left = min(design.evaluation.questions, _validation_size(task) - skip)
    if left < design.evaluation.min_questions:
        return
    done = {i for key, i in evaluation_cells(rows) if key == task.key}
    finalists = halving_plan(design, rows, task, len(design.halving) - 1)
    yield [(design, task, i, left, None, skip) for i in finalists if i not in done]


def _validation_size(task: Task) -> int:
    from domaintune.domains import load_domain

    return len(load_domain(task.domain).splits["validation"])


def _write_header(design: Design, out: Path) -> Path:
    """The design and the machine, beside the cells (written once, when the build starts)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    header = out.with_suffix(".env.json")
    if not header.exists():
        header.write_text(json.dumps({"design": design.model_dump(), "environment": environment()}, indent=1) + "\n")
    return header


def read_cells(path: Path) -> list[dict[str, Any]]:
    """The cells recorded so far. Each is appended as one whole line, so a last line without its
    newline was cut by a killed build: it is left out (a resumed build evaluates that cell again)."""
    if not path.exists():
        return []
    text = path.read_text()
    whole = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
    return [row for _, row in json_objects(whole.splitlines(), str(path))]


def _commit(path: Path, message: str) -> None:
    """Commit the results file alone (retrying while another git command holds the index); a file
    that is tracked and unchanged has nothing to commit."""
    folder, name = path.resolve().parent, str(path.resolve())
    for _ in range(10):
        tracked = subprocess.run(["git", "ls-files", "--error-unmatch", name], cwd=folder, capture_output=True).returncode == 0
        if tracked and subprocess.run(["git", "diff", "--quiet", "HEAD", "--", name], cwd=folder).returncode == 0:
            return
        done = subprocess.run(["git", "add", name], cwd=folder, capture_output=True)
        if done.returncode == 0:
            done = subprocess.run(["git", "commit", "-q", "-m", message, "--", name], cwd=folder, capture_output=True)
        if done.returncode == 0 or b"nothing to commit" in done.stdout + done.stderr:
            return
        time.sleep(3)
    print(f"warning: could not commit {path}: {(done.stderr or done.stdout).decode().strip()}", flush=True)


def build(
    design: Design,
    out: Path,
    workers: int = 2,
    domains: int | None = None,
    commit: bool = False,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Evaluate the design's missing cells (the first ``domains`` domains), appending each to ``out``;
    with ``commit``, the file is committed each time a domain's cells are done (complete, or
    incomplete when a cell failed). A cell that fails is logged and left out (a rerun tries it
    again); the build goes on."""
    from concurrent.futures import ProcessPoolExecutor

    header = _write_header(design, out)
    tasks = design.tasks()[:domains] if domains else design.tasks()
    done = {(row_task(r), r["index"]) for r in read_cells(out) if is_table_cell(r) and r["questions"] >= design.questions}
    todo = [(t, i) for t in tasks for i in range(len(t.strategies)) if (t.key, i) not in done]
    finished = sum(1 for t in tasks for i in range(len(t.strategies)) if (t.key, i) in done)
    log(f"{finished} cells done, {len(todo)} to go ({len(tasks)} tasks)")
    started, count = time.perf_counter(), 0

    def line(row: dict[str, Any]) -> str:
        nonlocal count
        count += 1
        eta = (time.perf_counter() - started) / count * (len(todo) - count) / 60
        return (f"[{count}/{len(todo)}] {row['domain']:20} #{row['index']:<2} {row['value']:.3f} ± {row['stderr']:.3f} "
                f"{row['seconds']:5.0f} s  {row['label'][:60]}  (eta {eta:.0f} min)")

    with ProcessPoolExecutor(workers) as pool:
        for task in tasks:  # a task at a time, so its row is committed when its last cell is in
            jobs = [(design, t, i, None, None, 0) for t, i in todo if t.key == task.key]
            if not jobs:
                continue
            evaluated, failed = _evaluate(pool, jobs, out, line, log)
            _task_done(task, evaluated, failed, commit, out, header, f"meta-dataset ({len(task.strategies)} strategies)", log)
    return read_cells(out)
