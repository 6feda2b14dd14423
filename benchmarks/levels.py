"""The survey's three levels, and hybrids, on real domains with the real model.

One fixed, recorded portfolio of strategies per level (black / grey / white box, and hybrids)
is evaluated on the validation split of each domain; per (domain, level) the best strategy is
chosen on validation only, and only that choice is scored on the test split. Resumable: every
finished evaluation is appended to benchmarks/results/levels.jsonl and skipped on a rerun.

    .venv/bin/python benchmarks/levels.py [--workers 2] [--questions 60]
    .venv/bin/python benchmarks/levels.py --table --page docs/results/levels.md
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
OUT = Path(__file__).parent / "results" / "levels.jsonl"
VIEW = "definition_to_term"  # short options: several times cheaper per question than the other view
DOMAINS = ["gcide-law", "gcide-chemistry", "gcide-music", "foldoc-networking", "jargon", "wordnet"]
TRAIN = {"steps": 16, "batch_size": 4, "learning_rate": 2e-3, "warmup_steps": 2}
PORTFOLIO = {
    "none": [{"template": "plain"}],
    "black": [
        {"retrieval": "bm25", "top_k": 3},
        {"retrieval": "dense", "top_k": 3},
        {"retrieval": "hybrid", "top_k": 3, "template": "instruction"},
        {"kg_facts": 4, "template": "instruction"},
    ],
    "grey": [
        {"template": "instruction", "scoring": "calibrated"},
        {"template": "instruction", "n_shots": 3},
        {"template": "chat", "n_shots": 3, "exemplar_selection": "similar"},
        {"template": "instruction", "adapter": "prompt_tuning", "virtual_tokens": 8, **TRAIN, "learning_rate": 0.03},
    ],
    "white": [
        {"adapter": "lora", "lora_layers": "top:8", "lora_target_modules": "q_proj,v_proj", **TRAIN},
        {"adapter": "lora", "lora_layers": "all", "lora_target_modules": "q_proj,k_proj,v_proj,o_proj", "lora_rank": 16, **TRAIN},
    ],
    "hybrid": [
        {"retrieval": "bm25", "top_k": 3, "template": "instruction", "n_shots": 3},
        {"retrieval": "bm25", "top_k": 3, "adapter": "lora", "lora_layers": "top:8", **TRAIN},
    ],
}


def evaluate(task: tuple[str, str, int, dict, str, int, str]) -> dict:
    from domaintune.meta.build import score_strategy
    from domaintune.runners import RunnerSettings

    domain_name, level, index, values, split, questions, model = task
    settings = RunnerSettings(model=model, questions=questions, test_questions=questions, eval_every=TRAIN["steps"], max_length=128)
    return {**score_strategy(domain_name, VIEW, values, settings, split), "level": level, "index": index}


def _done(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def _record(pool: ProcessPoolExecutor, tasks: list, out: Path) -> None:
    for row in pool.map(evaluate, tasks):
        with out.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        print(f"{row['domain']:18} {row['level']:6} {row['split']:10} {row['accuracy']:.3f} {row['label'][:70]} ({row['seconds']:.0f} s)", flush=True)


def run(workers: int, questions: int, domains: list[str], levels: list[str], model: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seen = {(r["domain"], r["level"], r["index"], r["split"]) for r in _done(out)}
    tasks = [
        (d, level, i, values, "validation", questions, model)
        for d in domains
        for level, strategies in PORTFOLIO.items()
        if level in levels
        for i, values in enumerate(strategies)
        if (d, level, i, "validation") not in seen
    ]
    with ProcessPoolExecutor(workers) as pool:
        _record(pool, tasks, out)
        # The choice per (domain, level) is made on validation alone; only it meets the test split.
        chosen = [(r["domain"], r["level"], r["index"], r["strategy"], "test", questions, model) for r in best_per_level(_done(out))]
        _record(pool, [t for t in chosen if (t[0], t[1], t[2], "test") not in seen], out)
    print(f"wall {time.perf_counter() - started:.0f} s", flush=True)


def best_per_level(rows: list[dict]) -> list[dict]:
    best: dict[tuple[str, str], dict] = {}
    for row in rows:
        if row["split"] != "validation":
            continue
        key = (row["domain"], row["level"])
        if key not in best or row["accuracy"] > best[key]["accuracy"]:
            best[key] = row
    return list(best.values())


def history_file(out: Path) -> Path:
    """The evaluations as a domaintune history (benchmarks/results/levels_history.jsonl)."""
    from domaintune.history import History, Record

    records = [
        Record(
            domain=r["domain"], fingerprint=r["fingerprint"], view=r["view"], strategy=r["strategy"],
            steps=int(r["strategy"].get("steps", 0)) if r["strategy"].get("adapter", "none") != "none" else 0,
            metric="accuracy", value=r["accuracy"], stderr=r["stderr"], cost=r["cost"], split=r["split"],
            base_model=Path(r.get("model", "smollm2-135m-instruct")).name, source="benchmarks/levels.py",
            questions=r["questions"], question_ids=r.get("question_ids"), outcomes=r.get("outcomes"),
        )
        for r in _done(out)
    ]
    return History(records).to_jsonl(out.with_name(out.stem + "_history.jsonl"))


def table(out: Path) -> str:
    rows = _done(out)
    chosen = {(r["domain"], r["level"]): r for r in best_per_level(rows)}
    # The test row of the validation choice (an earlier choice's test row may sit in the file too).
    tested = {(r["domain"], r["level"], r["index"]): r for r in rows if r["split"] == "test"}
    tests = {key: tested[(*key, pick["index"])] for key, pick in chosen.items() if (*key, pick["index"]) in tested}
    levels = list(PORTFOLIO)
    n = rows[0]["questions"]
    lines = [
        "# Levels of specialization on six domains",
        "",
        f"SmolLM2-135M-Instruct on CPU, view {VIEW}, {n} validation and {n} test questions per cell (one standard "
        f"error is about ±{100 * math.sqrt(0.25 / n):.0f} points near 50%). Per domain and level, the best of a fixed portfolio "
        "(benchmarks/levels.py) is chosen on validation; only that choice is scored on test. Cost: the chosen strategy's "
        "train + eval seconds (one CPU thread), training TFLOPs and prompt tokens per question.",
        "",
        "| domain | " + " | ".join(levels) + " |",
        "|---|" + "---|" * len(levels),
    ]
    for domain in sorted({r["domain"] for r in rows}, key=lambda d: DOMAINS.index(d) if d in DOMAINS else len(DOMAINS)):
        cells = []
        for level in levels:
            pick, test = chosen.get((domain, level)), tests.get((domain, level))
            if pick is None:
                cells.append("-")
                continue
            cost = pick["cost"]
            test_text = f"{test['accuracy']:.0%}" if test else "?"
            cells.append(
                f"val {pick['accuracy']:.0%} / **test {test_text}**<br>{cost['train_seconds'] + cost['eval_seconds']:.0f} s, "
                f"{cost['train_flops'] / 1e12:.1f} TF, {cost['prompt_tokens']:.0f} tok<br><sub>{pick['label']}</sub>"
            )
        lines.append(f"| {domain} | " + " | ".join(cells) + " |")
    means = []
    for level in levels:
        vals = [t["accuracy"] for (d, lv), t in tests.items() if lv == level]
        means.append(f"{sum(vals) / len(vals):.1%}" if vals else "-")
    lines.append("| **mean test** | " + " | ".join(means) + " |")
    wall = sum(r["seconds"] for r in rows)
    lines += ["", f"{len(rows)} evaluations, {wall / 60:.0f} CPU-minutes in all."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Black-, grey-, white-box and hybrid portfolios on six domains.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--page", type=Path, default=None, help="with --table: write it to this results page, keeping the lines above its mark")
    parser.add_argument("--history", action="store_true", help="write the results as a history file")
    parser.add_argument("--domains", default=",".join(DOMAINS), help="comma-separated domain names")
    parser.add_argument("--levels", default=",".join(PORTFOLIO), help="comma-separated levels of the portfolio")
    parser.add_argument("--model", default="smollm2-135m-instruct", help="base model (built-in name, id or folder)")
    parser.add_argument("--out", type=Path, default=OUT, help="cells file (appended to; finished cells are skipped)")
    args = parser.parse_args()
    if args.history:
        print(history_file(args.out))
    elif args.table:
        text = table(args.out)
        if args.page:
            from domaintune.reports import write_result_page as write_page  # keeps the page's card above its mark

            write_page(args.page, text)
        print(text, end="")
    else:
        run(args.workers, args.questions, args.domains.split(","), args.levels.split(","), args.model, args.out)
