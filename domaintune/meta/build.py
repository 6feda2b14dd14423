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
from domaintune.meta._cells import complete_domains, final_cells, to_history
from domaintune.meta._design import Design, Rung, asked, environment, halving_plan, load_design
from domaintune.strategy import Strategy

__all__ = [
    "Design",
    "Rung",
    "asked",
    "build",
    "build_halving",
    "complete_domains",
    "environment",
    "evaluate_cell",
    "final_cells",
    "halving_plan",
    "load_design",
    "read_cells",
    "score_strategy",
    "to_history",
]


def score_strategy(domain_name: str, view: str, values: dict[str, Any], settings: Any, split: str = "validation") -> dict[str, Any]:
    """Score one strategy on a built-in domain's split through the runner ``settings`` names:
    one table row, with per-question outcomes and ids, standard error, cost and wall seconds."""
    from domaintune.domains import load_domain
    from domaintune.runners import make_runner

    strategy = Strategy.from_dict(values)
    domain = asked(load_domain(domain_name), view)
    view = domain.view_name
    started = time.perf_counter()
    result = make_runner(settings).run(domain, strategy, split=split)
    accuracy = result.metrics["accuracy"]
    n = result.questions
    return {
        "domain": domain_name,
        "view": view,
        "fingerprint": domain.fingerprint,
        "strategy": strategy.active(),
        "label": strategy.describe(),
        "split": split,
        "questions": n,
        "accuracy": accuracy,
        "stderr": math.sqrt(accuracy * (1 - accuracy) / n),
        "question_ids": result.question_ids,
        "outcomes": result.outcomes,
        "steps": result.steps,
        "cost": result.cost,
        "seconds": time.perf_counter() - started,
        "model": settings.model,
    }


def evaluate_cell(design: Design, domain_name: str, index: int, questions: int | None = None, rung: int | None = None) -> dict[str, Any]:
    """One cell of the design: its strategy on the domain's seeded validation sample (the first
    ``questions`` of it: a larger rung's sample holds the smaller one's questions, so rungs pair)."""
    from domaintune.runners import RunnerSettings

    n = questions or design.questions
    settings = RunnerSettings(**{"questions": n, "seed": design.seed, **design.runner})
    row = {**score_strategy(domain_name, design.view, design.strategies[index], settings), "index": index, "seed": design.seed}
    row["fidelity"] = {"questions": row["questions"], "steps": row["steps"]}
    if rung is not None:
        row["rung"] = rung
    return row


def _run_cell(args: tuple[Design, str, int, int | None, int | None]) -> dict[str, Any]:
    """One cell in a worker; a cell that fails comes back as its error (the build goes on, and a
    rerun tries it again), never as a row."""
    design, domain, index, questions, rung = args
    try:
        return evaluate_cell(design, domain, index, questions, rung)
    except Exception as error:  # noqa: BLE001 - reported by the build loop with the cell it belongs to
        return {"error": f"{type(error).__name__}: {error}", "domain": domain, "index": index, "rung": rung}


def _evaluate(pool: Any, jobs: list[tuple[Design, str, int, int | None, int | None]], out: Path, on_row: Callable[[dict[str, Any]], str], log: Callable[[str], None]) -> tuple[int, int]:
    """Evaluate ``jobs`` (in ``pool``, or here when it is None), appending each finished cell to
    ``out`` as it comes and logging it (``on_row`` gives the line) or its failure; returns
    (evaluated, failed)."""
    evaluated = failed = 0
    for row in pool.map(_run_cell, jobs) if pool else map(_run_cell, jobs):
        if "error" in row:
            failed += 1
            rung = f" rung {row['rung']}" if row["rung"] is not None else ""
            log(f"{row['domain']}{rung} #{row['index']} FAILED: {row['error']}")
            continue
        with out.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        evaluated += 1
        log(on_row(row))
    return evaluated, failed


def _domain_done(domain: str, evaluated: int, failed: int, commit: bool, out: Path, header: Path, what: str, log: Callable[[str], None]) -> None:
    """After a domain's cells: say what failed and, with ``commit``, commit what was evaluated
    (an incomplete domain too: a rerun resumes from it and retries the failed cells)."""
    if failed:
        log(f"{domain}: {failed} cell(s) failed; the domain's row is incomplete (rerun the build to retry them)")
    if commit and evaluated:
        _commit(out, f"{what}: {domain} {'incomplete' if failed else 'complete'}")
        _commit(header, f"{what}: environment")


def build_halving(
    design: Design,
    out: Path,
    workers: int = 2,
    domains: int | None = None,
    commit: bool = False,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Successive halving over the table, one domain at a time (so a stopped build leaves whole
    domain rows): every strategy is scored at the first rung's questions, the domain's best
    survivors at the next rung's, and so on; each cell is appended with its ``rung`` and
    ``fidelity`` (questions, steps). Resumable like ``build``: a recorded (domain, strategy, rung)
    is skipped. With ``commit``, the file is committed each time a domain's last rung is done.
    ``workers`` = 0 evaluates in this process."""
    from concurrent.futures import ProcessPoolExecutor

    if not design.halving:
        raise ConfigError("build_halving: the design has no halving rungs")
    header = _write_header(design, out)
    names = design.domains[:domains] if domains else design.domains
    pool = ProcessPoolExecutor(workers) if workers else None
    started = time.perf_counter()
    try:
        for number, domain in enumerate(names, 1):
            evaluated = failed = 0
            for rung, spec in enumerate(design.halving):
                rows = read_cells(out)
                done = {r["index"] for r in rows if r["domain"] == domain and r.get("rung") == rung}
                jobs = [(design, domain, i, spec.questions, rung) for i in halving_plan(design, rows, domain, rung) if i not in done]

                def line(row: dict[str, Any], rung: int = rung) -> str:
                    return (f"[{number}/{len(names)}] rung {rung} {domain:20} #{row['index']:<3} {row['accuracy']:.3f} ± {row['stderr']:.3f} "
                            f"({row['questions']} q, {row['seconds']:4.0f} s) {row['label'][:50]}  ({(time.perf_counter() - started) / 60:.0f} min in)")

                done_now, failed_now = _evaluate(pool, jobs, out, line, log)
                evaluated, failed = evaluated + done_now, failed + failed_now
            _domain_done(domain, evaluated, failed, commit, out, header, f"meta-dataset v2 ({len(design.halving)} rungs)", log)
    finally:
        if pool:
            pool.shutdown()
    return read_cells(out)


def _write_header(design: Design, out: Path) -> Path:
    """The design and the machine, beside the cells (written once, when the build starts)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    header = out.with_suffix(".env.json")
    if not header.exists():
        header.write_text(json.dumps({"design": design.model_dump(), "environment": environment()}, indent=1) + "\n")
    return header


def read_cells(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [row for _, row in json_objects(path.read_text().splitlines(), str(path))]


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
    names = design.domains[:domains] if domains else design.domains
    done = {(r["domain"], r["index"]) for r in read_cells(out) if r["questions"] >= design.questions}
    todo = [(d, i) for d, i in design.cells() if d in names and (d, i) not in done]
    finished = sum(1 for d, _ in done if d in names)
    log(f"{finished} cells done, {len(todo)} to go ({len(names)} domains x {len(design.strategies)} strategies)")
    started, count = time.perf_counter(), 0

    def line(row: dict[str, Any]) -> str:
        nonlocal count
        count += 1
        eta = (time.perf_counter() - started) / count * (len(todo) - count) / 60
        return (f"[{count}/{len(todo)}] {row['domain']:20} #{row['index']:<2} {row['accuracy']:.3f} ± {row['stderr']:.3f} "
                f"{row['seconds']:5.0f} s  {row['label'][:60]}  (eta {eta:.0f} min)")

    with ProcessPoolExecutor(workers) as pool:
        for domain in names:  # a domain at a time, so its row is committed when its last cell is in
            jobs = [(design, d, i, None, None) for d, i in todo if d == domain]
            if not jobs:
                continue
            evaluated, failed = _evaluate(pool, jobs, out, line, log)
            _domain_done(domain, evaluated, failed, commit, out, header, f"meta-dataset ({len(design.strategies)} strategies)", log)
    return read_cells(out)
