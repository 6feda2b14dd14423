"""What a second base model costs: seconds per question and the metric, per built-in model and case.

Every case (a view of one domain and a strategy) runs through the real LM runner on the same
seeded validation questions for each model, in one process, one torch thread, the models taking
turns case by case so that a busy machine slows both alike. It prints one row per (case, model)
and, per case, the ratio of each model's seconds per question to the first model's.

    .venv/bin/python benchmarks/model_cost.py [--questions 20] [--models smollm2-135m-instruct gemma3-270m]
    .venv/bin/python benchmarks/model_cost.py --cases lora --questions 10
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

TRAIN = {"steps": 4, "batch_size": 4, "learning_rate": 0.002}
# case name -> (view, strategy): short options, the same with three exemplars, free text, and LoRA.
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "mc": ("definition_to_term", {"template": "instruction", "n_shots": 0}),
    "mc-3shot": ("definition_to_term", {"template": "instruction", "n_shots": 3}),
    "qa": ("name_the_term", {"template": "instruction", "n_shots": 0}),
    "cls": ("multiple_choice", {"template": "instruction", "n_shots": 0}),  # a classification domain (CLASSIFICATION_DOMAIN)
    "cls-free": ("free_text", {"template": "instruction", "n_shots": 3}),  # the same asked as free text: the class generated
    "lora": (
        "definition_to_term",
        {"template": "instruction", "adapter": "lora", "lora_layers": "top:8", "lora_target_modules": "q_proj,v_proj", **TRAIN},
    ),
}
DEFAULT_CASES = ["mc", "mc-3shot", "qa"]
CLASSIFICATION_DOMAIN = "gcide-subject-sciences"  # the cls cases' domain (the others use --domain)
CASE_SETTINGS = {"cls-free": {"max_new_tokens": 6}}  # a class name is a word or two


def measure(domain_name: str, case: str, model: str, questions: int, seed: int) -> dict[str, Any]:
    """One evaluation: its metric, eval seconds per question, training seconds and wall seconds."""
    from domaintune.domains import load_domain
    from domaintune.runners import RunnerSettings, make_runner
    from domaintune.strategy import Strategy

    view, values = CASES[case]
    domain = load_domain(CLASSIFICATION_DOMAIN if case.startswith("cls") else domain_name).view(view)
    settings = RunnerSettings(model=model, questions=questions, seed=seed, threads=1, **CASE_SETTINGS.get(case, {}))
    started = time.perf_counter()
    result = make_runner(settings).run(domain, Strategy.from_dict(values))
    wall = time.perf_counter() - started
    metric = "f1" if domain.task == "qa" else "accuracy"
    return {
        "case": case,
        "model": model,
        "questions": result.questions,
        "metric": metric,
        "value": result.metrics[metric],
        "eval_s_per_q": result.cost["eval_seconds"] / result.questions,
        "train_s": result.cost["train_seconds"],
        "wall_s": wall,
        "params_m": result.cost["total_params"] / 1e6,
    }


def warm_up(models: list[str]) -> dict[str, float]:
    """Convert (once) and load each model before timing: seconds of a warm load, per model."""
    from domaintune.lm import load_model

    seconds = {}
    for model in models:
        load_model(model)  # the first load also pays imports and a cold disk cache
        started = time.perf_counter()
        load_model(model)
        seconds[model] = time.perf_counter() - started
    return seconds


HEADER = f"{'case':<9} {'model':<22} {'params':>7} {'n':>3} {'metric':<9} {'value':>6} {'eval s/q':>9} {'train s':>8} {'wall s':>7}"


def print_row(row: dict[str, Any]) -> None:
    print(
        f"{row['case']:<9} {row['model']:<22} {row['params_m']:>6.0f}M {row['questions']:>3} {row['metric']:<9} "
        f"{row['value']:>6.3f} {row['eval_s_per_q']:>9.3f} {row['train_s']:>8.1f} {row['wall_s']:>7.1f}",
        flush=True,
    )


def print_ratios(rows: list[dict[str, Any]], models: list[str]) -> None:
    """Per case, each model's eval seconds per question (and training seconds) over the first model's."""
    base = models[0]
    for case in dict.fromkeys(row["case"] for row in rows):
        by_model = {row["model"]: row for row in rows if row["case"] == case}
        for model in models[1:]:
            line = f"{case}: {model} / {base} eval s/q = {by_model[model]['eval_s_per_q'] / by_model[base]['eval_s_per_q']:.2f}x"
            if by_model[base]["train_s"] > 0:
                line += f", train s = {by_model[model]['train_s'] / by_model[base]['train_s']:.2f}x"
            print(line)


def main() -> None:
    from domaintune.lm import BUILTIN_MODELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20, help="validation questions per evaluation")
    parser.add_argument("--models", nargs="+", default=list(BUILTIN_MODELS), help="the first is the ratios' base")
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES, choices=list(CASES))
    parser.add_argument("--domain", default="gcide-law")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    loads = warm_up(args.models)
    print("warm load seconds: " + ", ".join(f"{m} {s:.1f}" for m, s in loads.items()) + "\n\n" + HEADER, flush=True)
    rows = []
    for case in args.cases:
        for model in args.models:
            rows.append(measure(args.domain, case, model, args.questions, args.seed))
            print_row(rows[-1])
    print()
    print_ratios(rows, args.models)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"domain": args.domain, "classification_domain": CLASSIFICATION_DOMAIN, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
