"""What the meta-learner says: ``propose``, ``meta eval`` and ``meta winners``."""

from __future__ import annotations

import json
from typing import Optional

import typer

from domaintune.cli._common import guarded, print_json

HISTORY_HELP = "History files (default: the shipped seed history)."


@guarded
def propose(
    domain: str = typer.Option(..., "--domain", help="Domain name or folder."),
    n: int = typer.Option(5, "-n", help="How many strategies."),
    learner: Optional[str] = typer.Option(
        None, help="random | nearest | portfolio | surrogate (default: the one `meta eval` ranks first on evaluation questions)."
    ),
    view: Optional[str] = typer.Option(None, help="The domain's view (default: its first)."),
    model: Optional[str] = typer.Option(None, help="The base model the strategies are for (default: the built-in one)."),
    history: list[str] = typer.Option([], "--history", help=HISTORY_HELP),
    experiment: Optional[str] = typer.Option(None, help="Also learn from this MLflow experiment's trials."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Propose strategies for a domain from the history of other domains, with the reason for each; say when the
    history has no task of its family or base model."""
    from domaintune.config import DEFAULT_LEARNER
    from domaintune.domains import load_domain
    from domaintune.meta import load_history
    from domaintune.meta import propose as propose_for
    from domaintune.runners import RunnerSettings
    from domaintune.strategy import Strategy

    target = load_domain(domain).view(view)
    settings = RunnerSettings(model=model) if model else None
    proposals = propose_for(target, load_history(list(history), None, experiment), learner or DEFAULT_LEARNER, n, settings=settings)
    if as_json:
        print_json([{"strategy": p.strategy, "reason": p.reason, "predicted": p.predicted, "predicted_cost_seconds": p.predicted_cost,
                     "caveats": p.caveats} for p in proposals])
        return
    for note in proposals[0].caveats if proposals else []:
        typer.echo(f"note: {note}")
    for i, proposal in enumerate(proposals, start=1):
        notes = [f"predicted {proposal.predicted:.2f} of the best"] if proposal.predicted is not None else []
        notes += [f"about {proposal.predicted_cost:.0f} CPU-s"] if proposal.predicted_cost is not None else []
        suffix = f" ({'; '.join(notes)})" if notes else ""
        typer.echo(f"{i}. {Strategy.from_dict(proposal.strategy).describe()}\n   {proposal.reason}{suffix}")


@guarded
def meta_eval(
    history: list[str] = typer.Option([], "--history", help=HISTORY_HELP),
    seeds: int = typer.Option(1, min=1, help="Seeds for the TPE baselines and the surrogate (the evaluation view counts the first)."),
    features: str = typer.Option(
        "data,corpus,task", help="Meta-feature groups the learners see: data, corpus, task (family, base model), probe (runs the base "
        "model once per task), embedding."
    ),
    bootstrap: int = typer.Option(1000, min=0, help="Bootstrap replicates (over domains and questions) for the 95% intervals; 0: none."),
    as_json: bool = typer.Option(
        False, "--json", help="Per method and k: mean regret with its 95% interval; the default learner, paired comparisons, per "
        "family and per base model, the cross-model line, the table view; samples and cells."
    ),
) -> None:
    """Leave-one-domain-out benchmark (a task is a domain, view and base model; every task of the held-out domain is left
    out) of every learner against random, the single best strategy, cold-start and warm-started TPE and Syne Tune's
    transfer baselines, on evaluation questions that no screening or selection saw where the history has them."""
    from domaintune.meta import benchmark, load_history, markdown

    groups = tuple(g.strip() for g in features.split(",") if g.strip())
    table = benchmark(load_history(list(history)), groups, seeds=tuple(range(seeds)), bootstrap=bootstrap)
    typer.echo(json.dumps(table, indent=2) if as_json else markdown(table), nl=as_json)  # the Markdown ends its own line


@guarded
def meta_winners(
    history: list[str] = typer.Option([], "--history", help=HISTORY_HELP),
    as_json: bool = typer.Option(
        False, "--json", help="Per task: best strategy, gap to its family's single best and whether it is beyond noise (on evaluation "
        "questions where the history has them); per level."
    ),
) -> None:
    """Which strategy wins where: each domain's best against the single best strategy (paired test on shared
    questions), how many domains differ beyond noise, and the domains each level (black, grey, white box) wins."""
    from domaintune.meta import load_history, winners, winners_markdown

    records = load_history(list(history))
    report = winners(records)
    if as_json:
        print_json(report)
    else:
        typer.echo(winners_markdown(report), nl=False)
