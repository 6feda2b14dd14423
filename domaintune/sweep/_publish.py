"""What a person sees on a finished sweep's run: the report, its figures, the description."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domaintune.tracking import Artifact

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.reports import SweepInputs
    from domaintune.tracking import SweepTracker


def description(report: dict[str, Any], experiment_id: str, run_id: str) -> str:
    """The sweep run's Markdown description: what was searched, what won, with intervals."""
    from domaintune.reports import fmt_ci

    best, budget, metric = report["best"], report["budget"], report["metric"]
    lines = [
        f"### {report['name']}: {report['domain']} ({report['view']})",
        "",
        f"**Budget**: {budget['trials']} trials, {budget['questions']} validation questions per trial, "
        f"{budget['test_questions']} test questions for the chosen strategy, scheduler {budget['scheduler']}; "
        f"{float(report['seconds'] or 0):.0f} s.",
        "",
    ]
    if best["label"]:
        lines += [
            f"**Best strategy**: {best['label']}",
            f"- validation {metric}: {fmt_ci(best['validation'], budget['questions'] or 0)}",
            f"- test {metric}: {fmt_ci(best['test'], int(best['test_questions'] or 0)) if best['test'] is not None else 'not scored'}",
            "",
        ]
    lines += ["**What happened**", ""] + [f"- {line}" for line in report["story"]] + [""]
    proposals = [t for t in report["trials"] if t["origin"] == "proposal"]
    if proposals:
        lines += ["**Warm-start proposals and how they ranked**", "", "| trial | strategy | predicted | validation | rank |", "|---|---|---|---|---|"]
        for t in proposals:
            predicted = "-" if t["predicted"] is None else f"{t['predicted']:.2f}"
            value = "-" if t["metric"] is None else f"{t['metric']:.3f}"
            lines.append(f"| {t['number']} | {t['strategy']} | {predicted} | {value} | {t['rank'] or '-'} |")
        lines.append("")
    report_link = f"#/experiments/{experiment_id}/runs/{run_id}/artifacts/report.html"
    lines += [
        f"**Plots**: [the interactive report]({report_link}) (`report.html`: history, levers, importance, levels, cost),"
        " PNG copies under `plots/`. Offline: `domaintune report " + run_id + " --html sweep.html`.",
    ]
    return "\n".join(lines)


def publish_sweep(tracker: SweepTracker, inputs: SweepInputs, domain: Domain) -> dict[str, Any]:
    """Everything a person sees on a finished sweep's run, logged before the run is closed."""
    import matplotlib

    matplotlib.use("Agg")
    from domaintune.reports import history_png, levels_png, sweep_html, sweep_report

    run_id = tracker.parent_id
    assert run_id
    report = sweep_report(inputs)
    tracker.log_text(sweep_html(inputs, report), Artifact.REPORT_HTML)
    tracker.log_dict(report, Artifact.REPORT_JSON)
    story = inputs.story
    for name, figure in {"history": history_png(story), "levels": levels_png(story)}.items():
        tracker.log_figure(figure, name)
    tracker.set_note(description(report, tracker.experiment_id, run_id))
    tracker.set_origins({t.run_id: t.origin for t in story.trials if t.run_id})  # where each trial came from
    metric = report["metric"]
    if report["best"]["validation"] is not None:
        # The parent shows the best value under the same column as its children's.
        tracker.log_metrics(run_id, {metric: report["best"]["validation"]})
        card = {"domain": report["domain"], "view": report["view"], "label": report["best"]["label"], "strategy": report["best"]["strategy"],
                "validation": report["best"]["validation"], "test": report["best"]["test"], "sweep_run_id": run_id}
        report["model_id"] = tracker.publish_model(card)
    tracker.set_default_view(metric, report["direction"])
    return report
