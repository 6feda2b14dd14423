"""On CPU, the device-aware scoring is not slower than the scoring it replaced.

Times multiple-choice scoring of the same questions with the real SmolLM2 on this CPU, in
one process, alternating: (a) ``outcomes`` as it was before the device work (read from git at
``--base``), (b) today's ``outcomes`` through a model placed by ``runner.device: auto``
(which resolves to cpu here), and (c) the GPU path (``outcomes_batched``) run on the CPU, to
show why a CPU keeps the cached one-question-at-a-time path. Prints the ratios (b)/(a) and
(c)/(a); answers must be identical for (a) and (b).

    python benchmarks/device_cpu.py [--questions 20] [--rounds 3] [--base ec3014c]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _old_scoring(base: str):
    source = subprocess.run(["git", "show", f"{base}:domaintune/runners/_scoring.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "old_scoring.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_scoring", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shots", type=int, default=3)
    parser.add_argument("--base", default="ec3014c", help="the commit before the device work")
    parser.add_argument("--model", default=None, help="model name or folder (default: the built-in SmolLM2)")
    args = parser.parse_args()

    import torch

    from domaintune.domains import load_domain
    from domaintune.lm import DEFAULT_MODEL, load_model, prepare_model
    from domaintune.runners import PromptBuilder, outcomes, outcomes_batched, resolve_device, resolve_dtype

    torch.set_num_threads(1)
    old = _old_scoring(args.base)
    device = resolve_device("auto")
    model, tokenizer = load_model(prepare_model(args.model or DEFAULT_MODEL), device=device, dtype=resolve_dtype(device))
    domain = load_domain("jargon").view()
    rows = domain.splits["validation"][: args.questions]
    builder = PromptBuilder(tokenizer, "plain", domain.title or domain.name, domain.splits["train"][: args.shots], view=domain.view_name)
    items = [builder.encode(row) for row in rows]
    pad = tokenizer.pad_token_id
    runs = {
        "before": lambda: old.outcomes(model, builder.prefix_ids, items, pad),
        "now (auto -> cpu)": lambda: outcomes(model, builder.prefix_ids, items, pad),
        "GPU path on CPU": lambda: outcomes_batched(model, builder.prefix_ids, items, pad, batch_size=8),
    }
    seconds = {name: 0.0 for name in runs}
    answers = {}
    runs["before"]()  # warm-up
    for _ in range(args.rounds):
        for name, run in runs.items():
            began = time.perf_counter()
            answers[name] = run()
            seconds[name] += time.perf_counter() - began
        print("round:", ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()), flush=True)
    assert answers["before"] == answers["now (auto -> cpu)"], "the device-aware path changed answers"
    n = args.questions * args.rounds
    print(f"device auto resolved to {device}, dtype {next(model.parameters()).dtype}, {args.questions} jargon questions x {args.rounds} rounds, {args.shots}-shot")
    for name, total in seconds.items():
        print(f"{name:20} {total / n:.3f} s/question   ratio to before {total / seconds['before']:.3f}")
    print(f"accuracy: before {sum(answers['before']) / len(items):.3f}, GPU path {sum(answers['GPU path on CPU']) / len(items):.3f}")


if __name__ == "__main__":
    main()
