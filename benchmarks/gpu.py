"""The bare runner on a GPU: questions/s, training tokens/s, model FLOPs utilisation, speed-up over this CPU.

Runs where torch, transformers and peft are installed and nothing else of domaintune's stack
(no ray, mlflow, optuna or gguf): it imports only the runner path. A GPU machine that gets at
most 64 MiB of files per call receives the model in parts:

    # here, once: the cached SmolLM2 copy as bf16 safetensors shards of at most 55 MiB each
    python benchmarks/gpu.py pack --out benchmarks/out/model     # about 270 MB in 5 shards + tokenizer
    # the CPU baseline, here (the speed-up is taken over it):
    python benchmarks/gpu.py run --model benchmarks/out/model --device cpu --out benchmarks/results/gpu_cpu_baseline.json
    # on the GPU machine, one call per shard (each carries the folder's new part), then:
    python benchmarks/gpu.py check --model benchmarks/out/model   # every shard present and whole
    python benchmarks/gpu.py run --model benchmarks/out/model --device cuda --out $OUT/gpu.json

``run`` prints one row per strategy and writes JSON. MFU = (train + eval FLOPs, as the runner
counts them) / seconds / the card's dense bf16 peak (``--peak-tflops`` overrides the table).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo's package, not an installed one

# A handful of strategies that exercise each cost: scoring with short and long prompts, a
# calibrated prior, LoRA on all layers and on the top ones.
STRATEGIES = [
    {"template": "plain", "n_shots": 0},
    {"template": "chat", "n_shots": 3},
    {"template": "instruction", "n_shots": 0, "scoring": "calibrated"},
    {"template": "instruction", "n_shots": 0, "adapter": "lora", "lora_layers": "all", "steps": 16, "batch_size": 8},
    {"template": "plain", "n_shots": 1, "adapter": "lora", "lora_layers": "top:4", "steps": 16, "batch_size": 8},
]
# Dense (no sparsity) bf16 tensor peak, TFLOP/s, by a substring of torch.cuda.get_device_name().
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0, "4090": 165.0, "V100": 125.0, "T4": 65.0}
SHARD = "55MB"
BLOCKED = ("ray", "mlflow", "optuna", "gguf")


def pack(out: Path) -> None:
    """The cached model as bf16 safetensors shards below the per-call file limit, plus a manifest."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from domaintune.lm import DEFAULT_MODEL, prepare_model

    source = prepare_model(DEFAULT_MODEL)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.bfloat16)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, max_shard_size=SHARD)
    AutoTokenizer.from_pretrained(source).save_pretrained(out)
    manifest = {p.name: _sha(p) for p in sorted(out.iterdir()) if p.is_file() and p.name != "manifest.json"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    for name in manifest:
        print(f"{(out / name).stat().st_size / 2**20:8.1f} MiB  {name}")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def check(folder: Path) -> bool:
    """Every file the manifest lists is present with the same hash (shards arrive over several calls)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    missing = [n for n, digest in manifest.items() if not (folder / n).exists() or _sha(folder / n) != digest]
    print("complete" if not missing else f"missing or partial: {', '.join(missing)}")
    return not missing


def run(model: str, device: str, domain_name: str, questions: int, out: Path | None, peak: float | None, baseline: Path | None) -> dict:
    import torch

    from domaintune.domains import load_domain
    from domaintune.runners import LMRunner, RunnerSettings
    from domaintune.strategy import Strategy

    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert not loaded, f"the bare runner path imported {loaded}"
    settings = RunnerSettings(model=model, device=device, questions=questions, eval_every=16, threads=os.cpu_count() if device == "cpu" else 1)
    runner = LMRunner(settings)
    runner.prepare()
    domain = load_domain(domain_name).view()
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    peak = peak or next((v for k, v in PEAK_TFLOPS.items() if k in name), None) if device == "cuda" else peak
    runner.run(domain, Strategy.from_dict({"template": "plain"}), split="validation")  # warm-up: load, kernels, caches
    rows = []
    for spec in STRATEGIES:
        strategy = Strategy.from_dict(spec)
        began = time.perf_counter()
        result = runner.run(domain, strategy)
        wall = time.perf_counter() - began
        cost = result.cost
        flops = cost["train_flops"] + cost["eval_flops"]
        rows.append(
            {
                "strategy": strategy.describe(),
                "accuracy": result.metrics.get("accuracy"),
                "questions_per_s": result.questions / cost["eval_seconds"] if cost["eval_seconds"] else None,
                "train_tokens_per_s": cost["train_tokens"] / cost["train_seconds"] if cost["train_seconds"] else None,
                "tflops": flops / wall / 1e12,
                "mfu": flops / wall / (peak * 1e12) if peak else None,
                "seconds": wall,
                "peak_memory_mb": cost["peak_memory_mb"],
            }
        )
    report = {"device": name, "resolved": runner.device, "dtype": str(next(iter([settings.dtype]))), "peak_tflops": peak,
              "questions": questions, "domain": domain_name, "torch": torch.__version__, "rows": rows}
    if baseline and baseline.exists():
        base = {r["strategy"]: r for r in json.loads(baseline.read_text())["rows"]}
        for row in rows:
            if row["strategy"] in base:
                row["speedup_over_cpu"] = base[row["strategy"]]["seconds"] / row["seconds"]
    _print(report)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1))
    return report


def _print(report: dict) -> None:
    print(f"{report['device']} ({report['resolved']}, torch {report['torch']}, peak {report['peak_tflops'] or '?'} TFLOP/s), "
          f"{report['questions']} questions of {report['domain']}")
    print(f"{'strategy':58} {'acc':>5} {'q/s':>8} {'train tok/s':>12} {'TFLOP/s':>8} {'MFU':>7} {'s':>7} {'x CPU':>7}")
    for r in report["rows"]:
        def f(value: float | None, spec: str) -> str:
            return format(value, spec) if value is not None else "-"

        print(f"{r['strategy'][:58]:58} {f(r['accuracy'], '.3f'):>5} {f(r['questions_per_s'], '.1f'):>8} "
              f"{f(r['train_tokens_per_s'], '.0f'):>12} {r['tflops']:8.3f} {f(r['mfu'], '.2%'):>7} {r['seconds']:7.1f} "
              f"{f(r.get('speedup_over_cpu'), '.1f'):>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="write the model as shards below the per-call limit")
    p.add_argument("--out", type=Path, default=Path("benchmarks/out/model"))
    c = sub.add_parser("check", help="are all shards here and whole?")
    c.add_argument("--model", type=Path, default=Path("benchmarks/out/model"))
    r = sub.add_parser("run", help="time the strategies on a device")
    r.add_argument("--model", default="benchmarks/out/model", help="a model folder (pack's output) or built-in name")
    r.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    r.add_argument("--domain", default="jargon")
    r.add_argument("--questions", type=int, default=60)
    r.add_argument("--peak-tflops", type=float, default=None)
    r.add_argument("--baseline", type=Path, default=Path(__file__).parent / "results" / "gpu_cpu_baseline.json")
    r.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.out)
    elif args.command == "check":
        sys.exit(0 if check(args.model) else 1)
    else:
        run(args.model, args.device, args.domain, args.questions, args.out, args.peak_tflops, args.baseline)


if __name__ == "__main__":
    main()
