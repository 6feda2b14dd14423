"""The report of one domain: every sweep of it in the tracking store (any experiment, any
version), what the shipped and recorded history knows of it, its champion over time (when a
registered model of that name exists) and the feedback it got."""

from __future__ import annotations

from typing import Any


def _sweeps(client: Any, domain: str) -> list[dict[str, Any]]:
    from domaintune.stats import wilson
    from domaintune.tracking import Kind, SweepRun, Tag, kind_runs

    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    if not experiments:
        return []
    out = []
    for run in map(SweepRun.from_run, kind_runs(client, list(experiments), Kind.SWEEP, oldest_first=True, domain=domain)):
        tags, metrics, metric = run.tags, run.metrics, run.metric
        questions, test_questions = run.count("runner.questions"), run.count("runner.test_questions")
        validation, test = metrics.get(f"best_validation_{metric}"), metrics.get(f"test_{metric}")
        out.append({
            "sweep_run_id": run.run_id,
            "name": run.name,
            "experiment": experiments.get(run.experiment_id, run.experiment_id),
            "experiment_id": run.experiment_id,
            "status": run.status,
            "started": run.started,
            "version": tags.get(Tag.DOMAIN_VERSION, ""),
            "fingerprint": tags.get(Tag.DOMAIN_FINGERPRINT, ""),
            "view": tags.get(Tag.DOMAIN_VIEW, ""),
            "metric": metric,
            "best_strategy": tags.get(Tag.BEST_STRATEGY),
            "best_validation": validation,
            "validation_ci95": list(wilson(validation, questions) or ()) or None,
            "questions": questions,
            "test": test,
            "test_ci95": list(wilson(test, test_questions) or ()) or None,
            "trials": int(metrics.get("trials", 0)),
        })
    return out


def _champion(client: Any, domain: str) -> list[dict[str, Any]]:
    """The versions of the registered model named after the domain, oldest first, with their aliases."""
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(domain)
    except MlflowException:
        return []
    aliases: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    versions = client.search_model_versions(f"name = '{domain}'")
    return [
        {"version": v.version, "created": v.creation_timestamp, "run_id": v.run_id, "aliases": aliases.get(str(v.version), []),
         "tags": dict(v.tags or {}), "description": v.description or ""}
        for v in sorted(versions, key=lambda v: int(v.version))
    ]


def _feedback(client: Any, domain: str) -> list[dict[str, Any]]:
    """Runs that record expert feedback on the domain (``Kind.FEEDBACK``)."""
    from domaintune.tracking import PREFIX, Kind, kind_runs

    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    runs = kind_runs(client, experiments, Kind.FEEDBACK, max_results=1000, domain=domain)
    return [{"run_id": r.info.run_id, "started": r.info.start_time, "metrics": dict(r.data.metrics), "tags": {k: v for k, v in r.data.tags.items() if k.startswith(PREFIX)}} for r in runs]


def domain_report(client: Any, domain: str, history_paths: list[str] | None = None) -> dict[str, Any]:
    """Everything known about one domain, as one JSON-ready object."""
    from domaintune.history import load_history

    records = load_history(history_paths or None).where(domain=domain)
    best: dict[str, Any] = {}
    for r in records.validated():
        if not best or r.value > best["value"]:  # type: ignore[operator]
            best = {"strategy": r.parsed_strategy().describe(), "value": r.value, "view": r.view, "version": r.domain_version}
    return {
        "kind": "domain",
        "domain": domain,
        "tracking_uri": client.tracking_uri,
        "sweeps": _sweeps(client, domain),
        "history": {"records": len(records), "views": sorted({r.view for r in records}), "versions": sorted({r.domain_version for r in records}), "best": best or None},
        "champion": _champion(client, domain),
        "feedback": _feedback(client, domain),
    }


def domain_html(report: dict[str, Any]) -> str:
    """One self-contained page: the domain's sweeps over time, its history, champion and feedback."""
    from domaintune.reports._figures import domain_figure
    from domaintune.reports._html import render

    figures = {"over_time": domain_figure(report["sweeps"])} if report["sweeps"] else {}
    return render("domain.html", f"Domain {report['domain']}", report, figures)


def print_domain_report(report: dict[str, Any]) -> None:
    from domaintune.reports._terminal import print_table

    print(f"Domain {report['domain']} in {report['tracking_uri']}")
    print_table(
        f"{len(report['sweeps'])} sweeps",
        ["sweep", "version", "view", "best strategy", "validation", "test", "trials", "status", "run"],
        [[s["name"], s["version"], s["view"], s["best_strategy"] or "-", "-" if s["best_validation"] is None else f"{s['best_validation']:.3f}",
          "-" if s["test"] is None else f"{s['test']:.3f}", str(s["trials"]), s["status"], s["sweep_run_id"]] for s in report["sweeps"]],
    )
    best = report["history"]["best"]
    print(f"History: {report['history']['records']} records" + (f"; best recorded {best['strategy']} at {best['value']:.3f}" if best else ""))
    versions = [f"v{c['version']} {'/'.join(c['aliases'])}".strip() for c in report["champion"]]
    print(f"Champion: {', '.join(versions) or 'none registered'}")
    print(f"Feedback: {len(report['feedback'])} runs")
