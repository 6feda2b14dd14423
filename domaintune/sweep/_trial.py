"""One trial inside a Ray worker (the trainable) and the outcomes file it leaves in its folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.runners import RunnerSettings


OUTCOMES_FILE = "outcomes.json"  # written in a finished trial's folder: its per-question outcomes


# Environment every trial process gets: no hub lookups, quiet libraries, one BLAS thread.
WORKER_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "OMP_NUM_THREADS": "1",
}


def _trainable(
    params: dict[str, Any],
    domain: Domain,
    settings: RunnerSettings,
    fixed: dict[str, Any],
    done: dict[str, dict[str, Any]] | None = None,
    gpu_fraction: float = 0.0,
) -> None:
    """One trial, inside a Ray worker: build the strategy, run it bare, forward its reports.

    A resumed sweep passes ``done``: the final results of trials MLflow already holds as
    FINISHED. Such a trial is not run again; its recorded result is reported back at once, so
    the scheduler and the search see it and the driver records nothing twice. A trial whose
    config carries an answer (a strategy already scored: ``sweep/_answers.py``) reports it the same way.
    """
    import ray
    from ray import tune

    from domaintune.runners import make_runner
    from domaintune.strategy import Strategy
    from domaintune.sweep._answers import split_answer

    context = tune.get_context()
    where = {"node_id": ray.get_runtime_context().get_node_id(), "worker_nice": os.getpriority(os.PRIO_PROCESS, 0)}
    if done and context.get_trial_id() in done:
        tune.report({**done[context.get_trial_id()], **where, "replayed_from_mlflow": 1})
        return
    params, answer = split_answer(params)
    if answer is not None:
        tune.report({**answer["result"], **where})
        return
    if 0 < gpu_fraction < 1:
        from domaintune.runners import cap_gpu_memory

        cap_gpu_memory(gpu_fraction)
    strategy = Strategy.from_dict({**fixed, **params}, where="trial")
    trial_dir = Path(context.get_trial_dir())
    adapter_dir = str(trial_dir / "adapter")
    runner = make_runner(settings)

    def report(step: int, metrics: dict[str, float], cost: dict[str, float]) -> None:
        costs = {f"cost.{k}": v for k, v in cost.items()}
        extra = {"device": str(getattr(runner, "device", "cpu")), "trial_dir": str(trial_dir)}
        tune.report({**metrics, **costs, **where, **extra, "step": step, "adapter_dir": adapter_dir if strategy.trains else ""})

    result = runner.run(domain, strategy, report=report, adapter_dir=adapter_dir)
    if result.question_ids and result.outcomes is not None:
        # The last report's per-question outcomes: a challenger is compared with its champion on them.
        (trial_dir / OUTCOMES_FILE).write_text(json.dumps({
            "step": result.steps, "metrics": result.metrics, "question_ids": result.question_ids, "outcomes": result.outcomes,
        }))


def trial_outcomes(trial_dir: str) -> dict[str, Any] | None:
    """What a finished trial's worker wrote in its folder (OUTCOMES_FILE: step, metrics, question
    ids, per-question outcomes), or None: no folder, a trial stopped early, or a folder on another node."""
    path = Path(trial_dir) / OUTCOMES_FILE if trial_dir else None
    if path is None or not path.is_file():
        return None
    return json.loads(path.read_text())

