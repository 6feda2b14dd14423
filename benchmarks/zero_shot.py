"""Zero-shot validation accuracy of the base model on every built-in domain and view.

A domain at ceiling or at chance cannot tell strategies apart; this table says which are.
Resumable: finished (domain, view) cells are appended to benchmarks/out/zero_shot.jsonl and
skipped on a rerun. Runs cells in parallel worker processes, one torch thread each.

    .venv/bin/python benchmarks/zero_shot.py [--questions 80] [--workers 2]
    .venv/bin/python benchmarks/zero_shot.py --table > docs/domains.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
OUT = Path(__file__).parent / "out" / "zero_shot.jsonl"
CHANCE = 0.25


def cell(task: tuple[str, str, int]) -> dict:
    from domaintune.domains import load_domain
    from domaintune.runners import LMRunner, RunnerSettings
    from domaintune.strategy import Strategy

    name, view, questions = task
    domain = load_domain(name)
    started = time.perf_counter()
    result = LMRunner(RunnerSettings(eval_examples=questions)).run(domain.view(view), Strategy())
    n = min(questions, domain.sizes["validation"])
    accuracy = result.metrics["accuracy"]
    return {
        "domain": name,
        "view": view,
        "fingerprint": domain.fingerprint,
        "questions": n,
        "accuracy": accuracy,
        "stderr": math.sqrt(accuracy * (1 - accuracy) / n),
        "seconds": time.perf_counter() - started,
        "sizes": domain.sizes,
    }


def run(questions: int, workers: int) -> None:
    from domaintune.domains import VIEWS, builtin_domain_names

    done = set()
    if OUT.exists():
        done = {(r["domain"], r["view"]) for r in map(json.loads, OUT.read_text().splitlines())}
    tasks = [(n, v, questions) for n in builtin_domain_names() for v in VIEWS["glossary"] if (n, v) not in done]
    print(f"{len(done)} cells done, {len(tasks)} to go", flush=True)
    OUT.parent.mkdir(exist_ok=True)
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        for i, row in enumerate(pool.map(cell, tasks), start=1):
            with OUT.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(f"[{i}/{len(tasks)}] {row['domain']:24} {row['view']:20} {row['accuracy']:.3f} ({row['seconds']:.0f} s)", flush=True)
    print(f"wall {time.perf_counter() - started:.0f} s", flush=True)


def flag(accuracy: float, stderr: float) -> str:
    if accuracy - 1.96 * stderr <= CHANCE:
        return "at chance"
    if accuracy >= 0.9:
        return "at ceiling"
    return ""


def table() -> str:
    rows = [json.loads(line) for line in OUT.read_text().splitlines()]
    by_domain: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_domain.setdefault(row["domain"], {})[row["view"]] = row
    seconds = sum(r["seconds"] for r in rows)
    lines = [
        "# Built-in domains and the base model's zero-shot accuracy",
        "",
        f"SmolLM2-135M-Instruct, plain template, 0-shot, 4 options (chance 25%), on a fixed sample of "
        f"{rows[0]['questions']} validation questions per cell (fewer where the split is smaller); ± is one "
        f"standard error. {len(rows)} cells took {seconds / 60:.0f} CPU-minutes on this 2-core machine "
        "(one torch thread per cell, two cells at a time). Flags: *at chance* when the 95% interval reaches "
        "25%, *at ceiling* at 90% or more.",
        "",
        "| domain | train / val / test | corpus coverage | term → definition | definition → term | flags |",
        "|---|---|---|---|---|---|",
    ]
    from domaintune.domains import load_domain

    for name in sorted(by_domain):
        views = by_domain[name]
        sizes = next(iter(views.values()))["sizes"]
        coverage = load_domain(name).stats.get("corpus_coverage", {}).get("test_terms_with_own_entry")
        cells, flags = [], []
        for view in ("term_to_definition", "definition_to_term"):
            row = views.get(view)
            if row is None:
                cells.append("-")
                continue
            cells.append(f"{row['accuracy']:.1%} ± {row['stderr']:.1%}")
            if flag(row["accuracy"], row["stderr"]):
                flags.append(f"{view.split('_')[0]}: {flag(row['accuracy'], row['stderr'])}")
        lines.append(
            f"| {name} | {sizes['train']} / {sizes['validation']} / {sizes['test']} | "
            f"{'-' if coverage is None else f'{coverage:.0%}'} | {cells[0]} | {cells[1]} | {'; '.join(flags)} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Zero-shot accuracy of the base model on every built-in domain.")
    parser.add_argument("--questions", type=int, default=80)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--table", action="store_true", help="print the Markdown table from finished cells")
    args = parser.parse_args()
    if args.table:
        print(table(), end="")
    else:
        run(args.questions, args.workers)
