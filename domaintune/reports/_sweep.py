"""The report of one sweep: its story, trials, figures; from a finished sweep in memory or from
its MLflow run (``domaintune report SWEEP_RUN_ID``). Both paths go through ``SweepInputs``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from domaintune.errors import ConfigError

if TYPE_CHECKING:
    from domaintune.reports._story import SweepStory


@dataclass
class SweepInputs:
    result: dict[str, Any]  # SweepResult.to_dict()
    config: dict[str, Any]  # the sweep config as recorded (config.json)
    space: dict[str, Any]  # search_space.json: lever -> fixed value | choices | range
    warm_start: dict[str, Any] = field(default_factory=dict)  # WarmStartPlan.to_dict()
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # trial id -> (step, metric)
    run_url: str = ""  # where the sweep is in the MLflow UI, when known

    @property
    def questions(self) -> int:
        return int(self.config.get("runner", {}).get("questions") or 0)

    @property
    def learner(self) -> str:
        return (self.config.get("warm_start") or {}).get("learner", "")

    @property
    def searched(self) -> list[str]:
        return [k for k, v in self.space.items() if isinstance(v, (list, dict))]

    @cached_property
    def story(self) -> SweepStory:
        """The sweep told in words and numbers, once: the report, its figures and the PNGs share it."""
        from domaintune.reports._story import tell

        return tell(self.result, self.warm_start, self.questions, self.learner)


def load_sweep(client: Any, run_id: str) -> SweepInputs:
    """A recorded sweep, read back from its MLflow run and its child runs."""
    from domaintune.tracking import Artifact, Tag, json_artifacts, metric_curve, sweep_run

    run = sweep_run(client, run_id)
    if run is None:
        raise ConfigError(f"report: no run {run_id!r} in the tracking store {client.tracking_uri}")
    if not run.is_sweep:
        raise ConfigError(f"report: run {run_id} is not a domaintune sweep (its tag {Tag.KIND} is {run.tags.get(Tag.KIND)!r})")
    found = json_artifacts(client, run_id, [Artifact.SUMMARY, Artifact.CONFIG, Artifact.SEARCH_SPACE, Artifact.WARM_START])
    result = found.get(Artifact.SUMMARY)
    if result is None:
        raise ConfigError(f"report: sweep run {run_id} has no {Artifact.SUMMARY} (status {run.status}: it never finished)")
    metric = result.get("metric", "accuracy")
    curves = {t["trial_id"]: metric_curve(client, t["run_id"], metric) for t in result.get("trials", []) if t.get("run_id")}
    return SweepInputs(
        result, found.get(Artifact.CONFIG, {}), found.get(Artifact.SEARCH_SPACE, {}), found.get(Artifact.WARM_START, {}), curves,
    )


def _distributions(space: dict[str, Any]) -> dict[str, Any]:
    from domaintune.search_spaces import SearchSpace

    return SearchSpace.parse(space, where="search_space.json").to_optuna()


def sweep_report(inputs: SweepInputs) -> dict[str, Any]:
    """The report as one JSON-ready object."""
    from domaintune.reports._figures import lever_importance
    from domaintune.stats import wilson

    result, story = inputs.result, inputs.story
    finished = {t["trial_id"]: t["metric"] for t in result.get("trials", []) if t["status"] == "FINISHED" and t.get("metric") is not None}
    importances = lever_importance(result.get("trials", []), _distributions(inputs.space), result.get("direction", "maximize"), finished) if inputs.space else {}
    test_ci = wilson(result.get("test_score"), int(result.get("test_questions") or 0))
    return {
        "kind": "sweep",
        "name": result.get("name"),
        "domain": result.get("domain"),
        "view": inputs.config.get("view"),
        "domain_fingerprint": result.get("domain_fingerprint"),
        "metric": result.get("metric"),
        "direction": result.get("direction"),
        "sweep_run_id": result.get("parent_run_id"),
        "experiment_id": result.get("experiment_id"),
        "tracking_uri": result.get("tracking_uri"),
        "seconds": result.get("seconds"),
        "budget": {"trials": inputs.config.get("search", {}).get("num_samples"), "questions": inputs.questions,
                   "test_questions": inputs.config.get("runner", {}).get("test_questions"), "scheduler": inputs.config.get("search", {}).get("scheduler")},
        "best": {
            "trial": result.get("best_trial"),
            "strategy": result.get("best_strategy"),
            "label": story.best.label if story.best else None,
            "validation": result.get("best_validation"),
            "validation_ci95": list(story.best.interval) if story.best and story.best.interval else None,
            "test": result.get("test_score"),
            "test_ci95": list(test_ci) if test_ci else None,
            "test_questions": result.get("test_questions"),
            "cost": result.get("best_cost"),
        },
        "story": story.lines,
        "trials": [
            {"number": t.number, "trial_id": t.trial_id, "run_id": t.run_id, "strategy": t.label, "origin": t.origin, "origin_detail": t.origin_detail,
             "status": t.status, "metric": t.metric, "ci95": list(t.interval) if t.interval else None, "rank": t.rank, "levels": t.levels,
             "cost_seconds": t.cost_seconds, "predicted": t.predicted}
            for t in story.trials
        ],
        "warm_start": inputs.warm_start,
        "lever_importance": importances,
        "pareto": result.get("pareto", []),
    }


def sweep_figures(inputs: SweepInputs, report: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sweep's interactive figures by name, as the HTML report shows them."""
    from domaintune.reports import _figures as ph

    story = inputs.story
    report = report or sweep_report(inputs)
    trials = inputs.result.get("trials", [])
    figures = {"history": ph.history_figure(story)}
    if any(inputs.curves.values()):
        figures["curves"] = ph.curves_figure(story, inputs.curves)
    if inputs.searched:
        figures["parallel"] = ph.parallel_figure(story, trials, inputs.searched)
    figures["importance"] = ph.importance_figure(report["lever_importance"], story.metric)
    figures["levels"] = ph.levels_figure(story)
    figures["cost"] = ph.cost_figure(story)
    objectives = inputs.config.get("objectives") or []
    if objectives:
        figures["pareto"] = ph.pareto_figure(story, trials, objectives[0]["metric"], inputs.result.get("pareto", []))
    return figures


def sweep_html(inputs: SweepInputs, report: dict[str, Any] | None = None) -> str:
    """One self-contained page: the story, the best strategy, the trials and every figure."""
    from domaintune.reports._html import render

    report = report or sweep_report(inputs)
    return render("sweep.html", f"Sweep {report['name']} on {report['domain']}", report, sweep_figures(inputs, report))


def print_sweep_report(report: dict[str, Any]) -> None:
    """The terminal summary of ``report SWEEP_RUN_ID``."""
    from domaintune.reports._story import fmt_interval
    from domaintune.reports._terminal import print_table

    print(f"Sweep {report['name']} on {report['domain']} ({report['view']}), run {report['sweep_run_id']}")
    for line in report["story"]:
        print(f"  - {line}")
    print_table(
        "Trials",
        ["#", "strategy", "from", "status", f"val {report['metric']}", "95% CI", "rank", "cost s"],
        [[str(t["number"]), t["strategy"], t["origin"], t["status"], "-" if t["metric"] is None else f"{t['metric']:.3f}", fmt_interval(t["ci95"]),
          str(t["rank"] or "-"), f"{t['cost_seconds']:.0f}"] for t in report["trials"]],
    )
    if report["lever_importance"]:
        print("Lever importance: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(report["lever_importance"].items(), key=lambda kv: -kv[1])))
