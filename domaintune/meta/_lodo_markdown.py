"""The leave-one-domain-out benchmark's table as Markdown (``meta eval`` and ``docs/results``)."""

from __future__ import annotations

from typing import Any

from domaintune.meta._markdown import markdown_table


def _with_ci(cell: dict[str, Any]) -> str:
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
        f"Leave-one-domain-out over {table['domains']} domains ({table.get('cells', '?')} recorded cells{qtext}), "
        f"seeds {table['seeds']}{features}: mean normalized regret (0 = the domain's best recorded strategy, 1 = its worst) "
        f"after k evaluations with its 95% interval"
        + (f" ({boot['replicates']} bootstrap replicates over {over}, bias-corrected percentiles; the methods' orders stay fixed)" if boot.get("replicates") else "")
        + ", mean rank (1 = best), and the share of held-out cases whose best-so-far is within noise of the domain's "
        "best (the export's paired test on the same questions: mean gap <= 1.96 standard errors of the per-question "
        "difference). `random` is the exact expectation of picks without replacement; `single-best` always proposes "
        "the strategies by their mean normalized score on the other domains."
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
    """The benchmark's table: regret with intervals, rank and within-noise share per method and k;
    the effective sample; the paired comparisons."""
    ks = sorted({int(k) for m in table["methods"].values() for k in m})
    header = ["method", *(f"regret@{k} [95% CI]" for k in ks), *(f"rank@{k}" for k in ks), *(f"in noise@{k}" for k in ks)]
    lines = [_preamble(table), "", *markdown_table(header, _method_rows(table, ks))]
    samples = table.get("samples") or {}
    if samples:
        deterministic = [m for m, s in samples.items() if s["deterministic"]]
        lines += [
            "",
            f"Effective sample: {table['domains']} domains for every method. Deterministic methods "
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
