"""The leave-one-domain-out benchmark's table as Markdown (``meta eval`` and ``docs/results``):
the headline on evaluation questions where the history has them, then the table view."""

from __future__ import annotations

from typing import Any

from domaintune.meta._evaluation import RANDOM_PICKS
from domaintune.meta._markdown import markdown_table


def _with_ci(cell: dict[str, Any]) -> str:
    if cell.get("regret") is None:
        return f"n/a ({cell.get('missing', '?')} tasks unscored)"
    if "ci_low" in cell:
        return f"{cell['regret']:.3f} [{cell['ci_low']:.3f}, {cell['ci_high']:.3f}]"
    return f"{cell['regret']:.3f}"


def _preamble(table: dict[str, Any]) -> str:
    """What the table measures, on which sample, with which intervals."""
    features = f", meta-features {'+'.join(table['features'])}" if table.get("features") else ""
    boot = table.get("bootstrap") or {}
    over = " and ".join(boot.get("over", []))
    questions = table.get("questions_per_cell")
    qtext = f", {questions['median']} questions per cell (median)" if questions else ""
    return (
        f"Leave-one-domain-out over {table.get('tasks', table['domains'])} tasks of {table['domains']} domains "
        f"({table.get('cells', '?')} recorded cells{qtext}), "
        f"seeds {table['seeds']}{features}: mean normalized regret (0 = the task's best recorded strategy, 1 = its worst) "
        f"after k evaluations with its 95% interval"
        + (f" ({boot['replicates']} bootstrap replicates over {over}, bias-corrected percentiles; the methods' orders stay fixed)" if boot.get("replicates") else "")
        + ", mean rank (1 = best), and the share of held-out cases whose best-so-far is within noise of the domain's "
        "best (the export's paired test on the same questions: mean gap <= 1.96 standard errors of the per-question "
        "difference). `random` is the exact expectation of picks without replacement; `single-best` always proposes "
        "the strategies by their mean normalized score on the other domains' tasks."
    )


def _method_rows(table: dict[str, Any], ks: list[int]) -> list[list[str]]:
    return [
        [method]
        + [_with_ci(entry[str(k)]) for k in ks]
        + [f"{entry[str(k)]['rank']:.2f}" for k in ks]
        + [f"{entry[str(k)].get('within_noise', float('nan')):.0%}" for k in ks]
        for method, entry in table["methods"].items()
    ]


def markdown(table: dict[str, Any]) -> str:
    """The benchmark as Markdown: on evaluation questions (``on: evaluation``) the headline, per
    family, per model and cross-model, then the table view under its own heading; else the table view."""
    if table.get("on") == "evaluation":
        return _evaluation_markdown(table) + "\n## Table view (secondary)\n\n" + _table_markdown(table["table"])
    return _table_markdown(table)


def _eval_rows(methods: dict[str, Any]) -> list[list[str]]:
    return [[m, *(_with_ci(e[k]) if k in e else "" for k in ("1", "3", "10"))] for m, e in methods.items()]


def _pair_rows(pairs: list[dict[str, Any]]) -> list[list[str]]:
    return [[p["learner"], f"{p['baseline']}@{p.get('baseline_k', p['k'])}", str(p["k"]), f"{p['difference']:+.3f}",
             f"[{p['ci_low']:+.3f}, {p['ci_high']:+.3f}]" if "ci_low" in p else "n/a", p.get("verdict", "")] for p in pairs]


def _random_note(evaluation: dict[str, Any]) -> str:
    random = evaluation.get("random") or {"exact_tasks": 0, "drawn_tasks": evaluation["tasks"], "draw": RANDOM_PICKS}
    if not random["drawn_tasks"]:
        return "`random` is exact: the expectation over random picks of every strategy, all scored on these questions."
    drawn = (f"`random` is one seeded draw of {random['draw']} per task (regret@1 its mean, regret@3 its best): "
             "an unbiased estimate, not the exact expectation")
    if random["exact_tasks"]:
        drawn += f", on {random['drawn_tasks']} tasks; exact on the {random['exact_tasks']} whose questions score every strategy"
    return drawn + "."


def _evaluation_markdown(table: dict[str, Any]) -> str:
    e = table["evaluation"]
    q = e["questions_per_task"]
    boot = table.get("bootstrap") or {}
    lines = [
        f"Leave-one-domain-out over {table['tasks']} tasks of {table['domains']} domains ({table['screening_cells']} screening "
        f"cells, {table['evaluation_cells']} evaluation cells; families {table['families']}, models {table['models']}). "
        f"Each method's picks, fit on the screening tables of the other domains, are valued on {e['tasks']} tasks' "
        f"evaluation questions ({q['min']}-{q['max']} per task, median {q['median']}), which no screening or selection saw: "
        "normalized regret (0 = the best strategy scored there, 1 = the task's worst on its table) with its 95% interval "
        f"({boot.get('replicates', 0)} bootstrap replicates over domains and questions). {_random_note(e)} "
        "Cold `tpe` is also valued at 10.",
        "",
        f"Default learner (lowest regret@1 here): **{table['default_learner']}**." if table["default_learner"]
        else "Default learner: none yet (no learner has all its picks scored).",
        "",
        *markdown_table(["method", "regret@1 [95% CI]", "regret@3", "regret@10"], _eval_rows(table["methods"])),
    ]
    header = ["learner", "baseline", "k", "difference", "95% CI", "verdict"]
    if table.get("paired"):
        lines += ["", "Paired (same draws; negative favours the learner):", "", *markdown_table(header, _pair_rows(table["paired"]))]
    for group in ("by_family", "by_model"):
        for name, entry in table.get(group, {}).items():
            lines += ["", f"### {group.replace('by_', '').capitalize()}: {name} ({entry['tasks']} tasks, {entry['domains']} domains)", "",
                      *markdown_table(["method", "regret@1 [95% CI]", "regret@3", "regret@10"], _eval_rows(entry["methods"]))]
            if entry.get("paired"):
                lines += ["", *markdown_table(header, _pair_rows(entry["paired"]))]
    if table.get("cross_model"):
        rows = [[c["fit_on"], c["scored_on"], str(c["tasks"]), *(_with_ci(c["methods"][m][k]) for m in c["methods"] for k in ("1", "3"))]
                for c in table["cross_model"]]
        methods = list(table["cross_model"][0]["methods"])
        lines += ["", "### Cross-model: fit on one model's tasks, scored on the other's", "",
                  *markdown_table(["fit on", "scored on", "tasks", *(f"{m}@{k}" for m in methods for k in (1, 3))], rows)]
    if table.get("missing"):
        lines += ["", f"{len(table['missing'])} picks are not scored on evaluation questions yet "
                  "(`experiments/02_build_meta_dataset.py --picks` scores them); their methods show n/a."]
    return "\n".join(lines) + "\n"


def _table_markdown(table: dict[str, Any]) -> str:
    """The table view: regret with intervals, rank and within-noise share per method and k;
    the effective sample; the paired comparisons."""
    ks = sorted({int(k) for m in table["methods"].values() for k in m})
    header = ["method", *(f"regret@{k} [95% CI]" for k in ks), *(f"rank@{k}" for k in ks), *(f"in noise@{k}" for k in ks)]
    lines = [_preamble(table), "", *markdown_table(header, _method_rows(table, ks))]
    samples = table.get("samples") or {}
    if samples:
        deterministic = [m for m, s in samples.items() if s["deterministic"]]
        lines += [
            "",
            f"Effective sample: {table['domains']} domains ({table.get('tasks', table['domains'])} tasks) for every method. Deterministic methods "
            f"({', '.join(deterministic)}) repeat the same result on every seed, so their "
            f"{len(table['seeds'])} seeds add nothing; for the seeded ones the seeds average out their own randomness but "
            "the unit of the interval is still the domain.",
        ]
    if table.get("paired"):
        rows = [
            [pair["learner"], pair["baseline"], str(pair["k"]), f"{pair['difference']:+.3f}",
             f"[{pair['ci_low']:+.3f}, {pair['ci_high']:+.3f}]" if "ci_low" in pair else "n/a", pair.get("verdict", "")]
            for pair in table["paired"]
        ]
        lines += ["", "Paired comparisons (same bootstrap draws of domains and questions; difference = learner's mean "
                  "regret minus the baseline's, negative favours the learner):", "",
                  *markdown_table(["learner", "baseline", "k", "difference", "95% CI", "verdict"], rows)]
    return "\n".join(lines) + "\n"
