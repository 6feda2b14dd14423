"""The report of one domain: every sweep of it in the tracking store (any experiment, any
version), what the shipped and recorded history knows of it, its champion over time (when a
registered model of that name exists) and the feedback it got."""

from __future__ import annotations

import html
from typing import Any


def _sweeps(client: Any, domain: str) -> list[dict[str, Any]]:
    from domaintune.reports._story import wilson

    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    if not experiments:
        return []
    runs = client.search_runs(
        list(experiments), filter_string=f"tags.`domaintune.kind` = 'sweep' and tags.`domaintune.domain` = '{domain}'",
        order_by=["attributes.start_time ASC"], max_results=5000,
    )
    out = []
    for run in runs:
        tags, metrics, params = run.data.tags, run.data.metrics, run.data.params
        metric = params.get("metric", "accuracy")
        questions = int(params.get("runner.questions", "0") or 0)
        validation, test = metrics.get(f"best_validation_{metric}"), metrics.get(f"test_{metric}")
        test_questions = int(params.get("runner.test_questions", "0") or 0)
        out.append({
            "sweep_run_id": run.info.run_id,
            "name": run.info.run_name,
            "experiment": experiments.get(run.info.experiment_id, run.info.experiment_id),
            "experiment_id": run.info.experiment_id,
            "status": run.info.status,
            "started": run.info.start_time,
            "version": tags.get("domaintune.domain_version", ""),
            "fingerprint": tags.get("domaintune.domain_fingerprint", ""),
            "view": tags.get("domaintune.domain_view", ""),
            "metric": metric,
            "best_strategy": tags.get("domaintune.best_strategy"),
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
    """Runs that record expert feedback on the domain (``domaintune.kind = feedback``)."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    runs = client.search_runs(experiments, filter_string=f"tags.`domaintune.kind` = 'feedback' and tags.`domaintune.domain` = '{domain}'", max_results=1000)
    return [{"run_id": r.info.run_id, "started": r.info.start_time, "metrics": dict(r.data.metrics), "tags": {k: v for k, v in r.data.tags.items() if k.startswith("domaintune.")}} for r in runs]


def domain_report(client: Any, domain: str, history_paths: list[str] | None = None) -> dict[str, Any]:
    """Everything known about one domain, as one JSON-ready object."""
    from domaintune.history import load_history

    records = [r for r in load_history(history_paths or None) if r.domain == domain]
    best: dict[str, Any] = {}
    for r in records:
        if r.value is not None and r.split == "validation" and (not best or r.value > best["value"]):
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
    from datetime import datetime

    import plotly.graph_objects as go

    from domaintune.reports import _figures as ph

    sweeps = report["sweeps"]
    sections = []
    rows = [[s["name"], s["experiment"], s["version"], s["view"], s["best_strategy"], s["best_validation"],
             "-" if not s["validation_ci95"] else f"[{s['validation_ci95'][0]:.2f}, {s['validation_ci95'][1]:.2f}]", s["test"], s["trials"], s["status"], s["sweep_run_id"]]
            for s in sweeps]
    sections.append(("Sweeps", ph.table(["sweep", "experiment", "version", "view", "best strategy", "validation", "95% CI", "test", "trials", "status", "run"], rows)
                     if rows else "<p>No sweep of this domain in the tracking store.</p>"))
    if sweeps:
        fig = go.Figure()
        for version in sorted({s["version"] for s in sweeps}):
            mine = [s for s in sweeps if s["version"] == version and s["best_validation"] is not None]
            fig.add_trace(go.Scatter(
                x=[datetime.fromtimestamp(s["started"] / 1000) for s in mine], y=[s["best_validation"] for s in mine], mode="markers+lines",
                name=f"version {version}", text=[s["best_strategy"] for s in mine],
                error_y={"type": "data", "symmetric": False, "array": [(s["validation_ci95"] or [0, s["best_validation"]])[1] - s["best_validation"] for s in mine],
                         "arrayminus": [s["best_validation"] - (s["validation_ci95"] or [s["best_validation"]])[0] for s in mine]},
            ))
        fig.update_xaxes(type="date", title="sweep start")
        fig.update_layout(title="Best validation score of each sweep (95% intervals), by domain version", yaxis_title="best validation")
        sections.append(("Over time", ph.figure_div(fig)))
    history = report["history"]
    best = history["best"]
    sections.append(("History", f"<p>{history['records']} recorded results (views {', '.join(history['views']) or '-'}, versions {', '.join(history['versions']) or '-'})."
                     + (f" Best recorded: {html.escape(best['strategy'])} at {best['value']:.3f}.</p>" if best else "</p>")))
    champion = report["champion"]
    sections.append(("Champion over time", ph.table(["version", "aliases", "run", "tags"], [[c["version"], ", ".join(c["aliases"]), c["run_id"], ", ".join(f"{k}={v}" for k, v in c["tags"].items())] for c in champion])
                     if champion else f"<p>No registered model named {html.escape(report['domain'])}: no champion yet.</p>"))
    feedback = report["feedback"]
    sections.append(("Feedback", ph.table(["run", "metrics", "tags"], [[f["run_id"], ", ".join(f"{k}={v:g}" for k, v in f["metrics"].items()), ", ".join(f"{k}={v}" for k, v in f["tags"].items())] for f in feedback])
                     if feedback else "<p>No feedback recorded for this domain.</p>"))
    return ph.page(f"Domain {report['domain']}", sections)


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
