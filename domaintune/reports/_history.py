"""The history as the meta-learner sees it: tasks (a domain asked in a view with a base model)
x strategies, and leave one domain out: what the learner would propose for each task from the
other domains' tasks, which past tasks each proposal came from (where it was best), how far the
proposals were from the task's best, and the knowledge curve (how that regret falls as the
learner learns from more tasks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class _Scores:
    """The finished screening records as a tasks x strategies table (keys: strategy keys)."""

    labels: dict[str, str]  # strategy key -> its description
    values: dict[str, dict[str, float]]  # task -> strategy key -> validation score as recorded
    normalized: dict[str, dict[str, float]]  # the task's table, 0 = its worst, 1 = its best
    best: dict[str, str]  # task -> its best strategy key (by the table: halving cells on shared questions)

    def mean_normalized(self, key: str) -> float:
        return sum(self.normalized[t].get(key, 0.0) for t in self.normalized) / max(1, len(self.normalized))

    def rank(self, task: str, key: str) -> int | None:
        """1 for the task's best strategy (by the table), None for one not recorded there."""
        scores = self.normalized[task]
        return None if key not in scores else sorted(scores.values(), reverse=True).index(scores[key]) + 1


def _scores(finished: Any) -> _Scores:
    from domaintune.meta import normalized_scores

    labels: dict[str, str] = {}
    values: dict[str, dict[str, float]] = {}
    for r in finished:
        labels.setdefault(r.strategy_key(), r.parsed_strategy().describe())
        values.setdefault(r.task, {})[r.strategy_key()] = float(r.value)  # type: ignore[arg-type]
    normalized = normalized_scores(finished)
    best = {t: max(v, key=v.__getitem__) for t, v in normalized.items()}
    return _Scores(labels, values, normalized, best)


def _hold_out(task: str, finished: Any, scores: _Scores, features: dict[str, Any], learner: str, n: int) -> dict[str, Any] | None:
    """What ``learner`` proposes for ``task`` from the other domains' tasks, and how far that is from its best."""
    from domaintune.history import History, strategy_key, task_domain
    from domaintune.meta import REGISTRY
    from domaintune.strategy import Strategy

    past = History([r for r in finished.without_domain(task_domain(task)) if r.task in features])
    if task not in features or not past.tasks():
        return None
    rows = []
    for p in REGISTRY[learner](features).fit(past).propose(task, n):
        k = strategy_key(p.strategy)
        rows.append({
            "strategy": scores.labels.get(k, Strategy.from_dict(p.strategy).describe()),
            "reason": p.reason,
            "came_from": sorted(t for t in past.tasks() if scores.best.get(t) == k),
            "measured": scores.values[task].get(k),
            "normalized": scores.normalized[task].get(k),
            "rank": scores.rank(task, k),
        })
    got = [r["normalized"] for r in rows if r["normalized"] is not None]
    best = scores.best[task]
    return {
        "task": task,
        "domain": task_domain(task),
        "best": scores.labels[best],
        "best_value": scores.values[task][best],
        "proposals": rows,
        "regret_at_1": None if not rows or rows[0]["normalized"] is None else 1.0 - rows[0]["normalized"],
        "regret_at_n": None if not got else 1.0 - max(got),
    }


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    got = [x[key] for x in rows if x[key] is not None]
    return sum(got) / len(got) if got else None


def history_report(records: Any, learner: str, n: int = 3, curve_draws: int = 5) -> dict[str, Any]:
    """``records``: a History. One JSON-ready object: tasks x strategies, every task held out
    (its domain's tasks left out of what the learner learns from), and the learner's knowledge
    curve (``meta.knowledge_curve``, ``curve_draws`` draws per size; None with nothing to hold out)."""
    from domaintune.history import History
    from domaintune.meta import MODEL_FREE_GROUPS, feature_table, knowledge_curve

    finished = History(list(records)).validated(finished=True)
    scores = _scores(finished)
    skipped: list[str] = []  # recorded domains that are not installed here
    features = feature_table(finished, MODEL_FREE_GROUPS, skipped=skipped)
    held_out = (_hold_out(task, finished, scores, features, learner, n) for task in sorted(scores.values))
    lodo = [row for row in held_out if row is not None]
    keys = sorted(scores.labels, key=lambda k: -scores.mean_normalized(k))
    return {
        "kind": "history",
        "learner": learner,
        "n": n,
        "records": len(records),
        "tasks": sorted(scores.values),
        "domains": finished.domains(),
        "strategies": [{"key": k, "label": scores.labels[k], "mean_normalized": scores.mean_normalized(k),
                        "best_on": sorted(t for t in scores.values if scores.best[t] == k)} for k in keys],
        "matrix": {t: {scores.labels[k]: v for k, v in scores.values[t].items()} for t in sorted(scores.values)},
        "lodo": lodo,
        "mean_regret_at_1": _mean(lodo, "regret_at_1"),
        "mean_regret_at_n": _mean(lodo, "regret_at_n"),
        "curve": knowledge_curve(finished, features, learner, draws=curve_draws) if lodo else None,
        "skipped": skipped,
    }


def history_html(report: dict[str, Any]) -> str:
    """One self-contained page: the tasks x strategies matrix, every held-out task's proposals
    and the knowledge curve."""
    from domaintune.reports._curve_figures import curve_figure
    from domaintune.reports._figures import lodo_figure, matrix_figure
    from domaintune.reports._html import render

    figures = {"matrix": matrix_figure(report), "lodo": lodo_figure(report)}
    if report["curve"]:
        figures["curve"] = curve_figure(report["curve"])
    return render("history.html", "The history, as the meta-learner sees it", report, figures)


def _regret(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_history_report(report: dict[str, Any]) -> None:
    from domaintune.reports._terminal import print_table

    print(f"History: {report['records']} records, {len(report['tasks'])} tasks of {len(report['domains'])} domains, {len(report['strategies'])} strategies")
    print_table("Strategies (mean normalized score across tasks)", ["strategy", "mean", "best on"],
                [[s["label"], f"{s['mean_normalized']:.2f}", str(len(s["best_on"]))] for s in report["strategies"]])
    print_table(f"Leave one domain out ({report['learner']}, {report['n']} proposals)", ["task", "proposal 1", "came from", "regret@1", f"regret@{report['n']}"],
                [[x["task"], x["proposals"][0]["strategy"] if x["proposals"] else "-", ", ".join(x["proposals"][0]["came_from"][:3]) if x["proposals"] else "-",
                  _regret(x["regret_at_1"]), _regret(x["regret_at_n"])] for x in report["lodo"]])
    r1, rn = report["mean_regret_at_1"], report["mean_regret_at_n"]
    print(f"Mean regret@1 {r1:.3f}, @{report['n']} {rn:.3f}" if r1 is not None and rn is not None else "No task to hold out.")
    if report["curve"]:
        _print_curve(report["curve"])


def _print_curve(curve: dict[str, Any]) -> None:
    from domaintune.reports._curve_figures import curve_lines
    from domaintune.reports._terminal import print_table

    ks = [str(k) for k in curve["ks"]]
    columns = ["tasks", "training tasks", *[c for k in ks for c in (f"regret@{k}", "95% interval")]]
    rows = [[f"{name} ({e['tasks']})", str(e["size"]), *[c for k in ks for c in (f"{e['regret'][k]:.3f}", f"[{e['ci'][k][0]:.2f}, {e['ci'][k][1]:.2f}]")]]
            for name, entries in curve_lines(curve).items() for e in entries]
    print_table(f"Knowledge curve of {curve['learner']} ({curve['draws']} draws per size; on the screening table)", columns, rows)
