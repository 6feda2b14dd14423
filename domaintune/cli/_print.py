"""The terminal summary of a finished sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domaintune.reports import print_table

if TYPE_CHECKING:
    from domaintune.sweep import SweepResult


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_sweep_result(result: SweepResult) -> None:
    rows = [
        [
            str(number),  # the "N" of the MLflow child run "N · strategy"
            t.status
            + (" (stopped early)" if t.stopped_early and t.status == "FINISHED" else "")
            + (f" (answered from run {t.answered_from[:8]})" if t.answered_from else "")
            + (" pareto" if t.trial_id in result.pareto else ""),
            _fmt(t.metric),
            str(t.steps),
            f"{t.cost.get('train_seconds', 0) + t.cost.get('eval_seconds', 0):.0f}",
            _describe(t.strategy),
        ]
        for number, t in enumerate(result.trials, start=1)
    ]
    print_table(
        f"Sweep {result.name} on {result.domain} ({len(result.trials)} trials, {result.seconds:.0f} s)",
        ["#", "status", f"val {result.metric}", "steps", "seconds", "strategy"],
        rows,
    )
    if result.answered or result.repeated_evaluations:
        print(f"{result.answered} trial(s) answered from a recorded run, not run again; {result.repeated_evaluations} repeated evaluation(s)")
    if result.best_strategy is None:
        print("No trial finished.")
        return
    cost = result.best_cost
    print_table(
        "Best strategy",
        ["strategy", f"validation {result.metric}", f"test {result.metric}", "cost"],
        [
            [
                _describe(result.best_strategy),
                _fmt(result.best_validation),
                f"{_fmt(result.test_score)} (n={result.test_questions})" if result.test_score is not None else "not scored (no test answers)",
                f"train {cost.get('train_seconds', 0):.0f} s, eval {cost.get('eval_seconds', 0):.0f} s, "
                f"{int(cost.get('trainable_params', 0)):,} trainable params, "
                f"{cost.get('prompt_tokens', 0):.0f} prompt tokens/question",
            ]
        ],
    )
    if result.pareto:
        numbers = {t.trial_id: str(n) for n, t in enumerate(result.trials, start=1)}
        print(f"Pareto front (quality vs cost): trials {', '.join(numbers.get(p, p) for p in result.pareto)}")
    if result.story:
        print("What happened:")
        for line in result.story:
            print(f"  - {line}")
    from domaintune.tracking import runs_url

    print(f"MLflow: {result.tracking_uri} (experiment {result.experiment_id}, sweep run {result.parent_run_id})")
    print(f"Look at it with: domaintune ui, then open {runs_url(result.experiment_id)}")
    print(f"Report: domaintune report {result.parent_run_id} --html sweep.html   (also report.html on the sweep run)")


def _describe(strategy: dict) -> str:
    from domaintune.strategy import Strategy

    return Strategy.from_dict(strategy).describe()
