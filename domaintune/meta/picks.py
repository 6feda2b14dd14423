"""The meta-dataset build's last stage: score every strategy that a method of the meta benchmark
picks (within k <= 3; cold TPE within 10) on the evaluation questions of the tasks that have them.

The picks come from the leave-one-domain-out benchmark itself (``leave_one_domain_out``'s
``missing``: picks fit on the screening table of the other domains, never on an evaluation cell),
so the benchmark then values every method's picks on the same questions, which no screening or
selection step saw. The default learner is the one ranked first there, and the cross-model line
asks for its picks too, so the stage repeats until nothing is missing (at most ``passes`` times).
With ``exact_random``, every other strategy of each task's table is then scored there too, task
by task, so that ``random`` is the exact expectation rather than a seeded draw (about as many
cells again as the picks and finalists). Resumable like the rest of the build: a scored cell is
never scored again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from domaintune.errors import ConfigError
from domaintune.history import strategy_key
from domaintune.meta._design import Design, Task
from domaintune.meta._evaluation import evaluation_tables, unscored_strategies
from domaintune.meta._table import task_tables
from domaintune.meta.build import _commit, _evaluate, _validation_size, _write_header, read_cells, to_history


COMMIT_EVERY = 24  # cells per commit in a pass (with 2 workers, about 10 to 20 minutes)


def missing_picks(
    design: Design, out: Path, methods: list[str] | None = None, seeds: tuple[int, ...] = (0,), exact_random: bool = False
) -> list[tuple[Task, int]]:
    """(task, strategy index) of every pick the benchmark needs on evaluation questions and lacks;
    with ``exact_random``, then every other strategy of those tasks' tables that they lack."""
    from domaintune.meta import feature_table, leave_one_domain_out

    history = to_history(design, read_cells(out), source=str(out))
    if not history.evaluation():
        return []
    features = feature_table(history.validated())
    result = leave_one_domain_out(history, features, methods=methods, seeds=seeds, bootstrap=0)
    wanted = [(entry["task"], strategy_key(entry["strategy"])) for entry in result["missing"]]
    if exact_random:
        tables = task_tables(history.validated())
        wanted += unscored_strategies(tables, evaluation_tables(history.evaluation(), tables))
    cells = []
    for name, key in dict.fromkeys(wanted):
        task = design.task(name)
        keys = [strategy_key(s) for s in task.strategies]
        if key not in keys:
            raise ConfigError(f"{name}: a pick {key} is not one of the design's strategies for this task")
        cells.append((task, keys.index(key)))
    return cells


def build_picks(
    design: Design,
    out: Path,
    workers: int = 2,
    commit: bool = False,
    methods: list[str] | None = None,
    passes: int = 3,
    log: Callable[[str], None] = print,
    exact_random: bool = False,
) -> int:
    """Score the missing picks (``missing_picks``) as evaluation cells, appending each to ``out``;
    returns how many were scored. With ``commit``, the file is committed every ``COMMIT_EVERY``
    cells of a pass and at its end."""
    from concurrent.futures import ProcessPoolExecutor

    if design.evaluation is None or not design.halving:
        raise ConfigError("build_picks: the design has no evaluation section (or no halving rungs)")
    header = _write_header(design, out)
    skip = design.halving[-1].questions
    scored = 0
    with ProcessPoolExecutor(workers) if workers else _NoPool() as pool:
        for number in range(1, passes + 1):
            cells = missing_picks(design, out, methods, exact_random=exact_random)
            log(f"picks pass {number}: {len(cells)} evaluation cells to score")
            if not cells:
                break
            jobs = [(design, task, index, min(design.evaluation.questions, _validation_size(task) - skip), None, skip) for task, index in cells]
            evaluated = failed = 0
            for start in range(0, len(jobs), COMMIT_EVERY):  # an exact-random pass runs for hours: commit as it goes
                done, bad = _evaluate(pool or None, jobs[start:start + COMMIT_EVERY], out, _line, log)
                evaluated, failed = evaluated + done, failed + bad
                if commit and done:
                    _commit(out, f"meta-dataset: {done} picks scored on evaluation questions (pass {number}, "
                            f"{min(start + COMMIT_EVERY, len(jobs))} of {len(jobs)})")
                    _commit(header, "meta-dataset: environment")
            scored += evaluated
            if failed:
                log(f"{failed} pick cell(s) failed; rerun to retry them")
                break
    return scored


def _line(row: dict[str, Any]) -> str:
    return f"pick  {row['task'][:60]:60} #{row['index']:<3} {row['value']:.3f} ± {row['stderr']:.3f} ({row['questions']} q, {row['seconds']:4.0f} s)"


class _NoPool:
    """``workers = 0``: evaluate in this process (``_evaluate`` takes a falsy pool to mean that)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
