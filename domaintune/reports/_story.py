"""The story of a sweep, told from plain data: where each trial came from (a configured start
point, a meta-learner proposal, or the search itself), what the zero-shot baseline and the
first proposal scored, where the search went from there, with 95% intervals.

Used by the terminal summary, the MLflow description, the HTML report and ``report --json``;
it reads a ``SweepResult.to_dict()`` and the warm-start plan's ``to_dict()``, never MLflow.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from domaintune.history import direction_sign, strategy_key
from domaintune.stats import difference, wilson


def fmt_ci(value: float | None, n: int) -> str:
    """``0.725 [0.57, 0.84] (n=40)``; a value that is not a proportion gets no interval."""
    if value is None:
        return "-"
    ci = wilson(value, n)
    return f"{value:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}] (n={n})" if ci else "")


def fmt_interval(ci: list[float] | tuple[float, float] | None) -> str:
    """``[0.57, 0.84]``, or ``-`` when there is no interval."""
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "-"


def _matches(strategy: dict[str, Any], point: dict[str, Any]) -> bool:
    return all(strategy.get(k) == v or (isinstance(v, float) and isinstance(strategy.get(k), (int, float)) and math.isclose(strategy[k], v)) for k, v in point.items())


def is_zero_shot(strategy: dict[str, Any]) -> bool:
    """The base model asked plainly: no retrieval, no exemplars, no training, plain scoring."""
    return (
        strategy.get("retrieval", "none") == "none"
        and not strategy.get("kg_facts", 0)
        and not strategy.get("n_shots", 0)
        and strategy.get("adapter", "none") == "none"
        and strategy.get("template", "plain") == "plain"
        and strategy.get("scoring", "mean") == "mean"
    )


@dataclass
class TrialStory:
    number: int  # start order, from 1 (the "N" of the run name "N · strategy")
    trial_id: str
    label: str
    origin: str  # baseline | configured | proposal | search
    origin_detail: str  # "proposal 2 (portfolio): reason", "TPE", ...
    status: str
    metric: float | None
    interval: tuple[float, float] | None
    levels: list[str]
    cost_seconds: float
    rank: int | None = None  # 1 = best finished trial
    run_id: str = ""
    predicted: float | None = None  # what the learner predicted (proposals)


@dataclass
class SweepStory:
    name: str
    domain: str
    metric: str
    direction: str
    questions: int
    trials: list[TrialStory] = field(default_factory=list)
    baseline: TrialStory | None = None
    first_proposal: TrialStory | None = None
    best: TrialStory | None = None
    test_score: float | None = None
    test_questions: int = 0
    learner: str = ""
    lines: list[str] = field(default_factory=list)  # the story in sentences

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _levels(strategy: dict[str, Any]) -> list[str]:
    from domaintune.strategy import Strategy

    try:
        return Strategy.from_dict(strategy).levels()
    except Exception:  # noqa: BLE001 - a record from another version still gets a story
        return ["?"]


def tell(result: dict[str, Any], warm_start: dict[str, Any] | None = None, questions: int = 0, learner: str = "") -> SweepStory:
    """The story of one sweep from its result (``SweepResult.to_dict()``) and warm-start plan."""
    warm_start = warm_start or {}
    proposals = warm_start.get("proposals", [])
    proposal_keys = {strategy_key(p["point"]): (i, p) for i, p in enumerate(proposals, start=1)}
    trials = result.get("trials", [])
    story = SweepStory(
        name=result.get("name", ""), domain=result.get("domain", ""), metric=result.get("metric", "accuracy"),
        direction=result.get("direction", "maximize"), questions=questions,
        test_score=result.get("test_score"), test_questions=int(result.get("test_questions") or 0), learner=learner,
    )
    origins: dict[int, tuple[str, str, float | None]] = {}
    for point in warm_start.get("points", []):
        index = next((i for i, t in enumerate(trials) if i not in origins and _matches(t["strategy"], point)), None)
        if index is None:
            continue
        if strategy_key(point) in proposal_keys:
            number, proposal = proposal_keys[strategy_key(point)]
            origins[index] = ("proposal", f"proposal {number}" + (f" ({learner})" if learner else "") + f": {proposal.get('reason', '')}", proposal.get("predicted"))
        elif is_zero_shot(trials[index]["strategy"]):
            origins[index] = ("baseline", "zero-shot baseline (search.points_to_evaluate)", None)
        else:
            origins[index] = ("configured", "search.points_to_evaluate", None)
    for i, t in enumerate(trials):
        origin, detail, predicted = origins.get(i, ("search", "Optuna TPE (random while it has too few results)", None))
        cost = t.get("cost", {})
        story.trials.append(
            TrialStory(
                number=i + 1, trial_id=t["trial_id"], label=t.get("label", ""), origin=origin, origin_detail=detail,
                status=t["status"], metric=t.get("metric"), interval=wilson(t.get("metric"), questions),
                levels=_levels(t["strategy"]), cost_seconds=float(cost.get("train_seconds", 0.0) + cost.get("eval_seconds", 0.0)),
                run_id=t.get("run_id", ""), predicted=predicted,
            )
        )
    sign = direction_sign(story.direction)
    finished = sorted((t for t in story.trials if t.status == "FINISHED" and t.metric is not None), key=lambda t: (-sign * t.metric, t.number))  # type: ignore[operator]
    for t in finished:  # competition ranking: equal scores share a rank
        t.rank = 1 + sum(sign * o.metric > sign * t.metric for o in finished)  # type: ignore[operator]
    story.baseline = next((t for t in story.trials if t.origin == "baseline"), None)
    story.first_proposal = next((t for t in story.trials if t.origin == "proposal"), None)
    story.best = next((t for t in story.trials if t.trial_id == result.get("best_trial")), None)
    story.lines = _sentences(story, len(proposals))
    return story


def _compare(a: TrialStory, b: TrialStory, n: int, metric: str) -> str:
    """'+12.5 points over X (95% CI +3 to +22)' or 'a tie with X within noise (...)'."""
    if a.metric is None or b.metric is None:
        return ""
    if n <= 0 or not (0 <= a.metric <= 1 and 0 <= b.metric <= 1):
        return f"{a.metric - b.metric:+.3f} {metric}"
    d, low, high = difference(a.metric, n, b.metric, n)
    span = f"95% CI {100 * low:+.0f} to {100 * high:+.0f} points, n={n} each"
    if low <= 0 <= high:
        return f"{100 * d:+.1f} points: a tie within noise ({span})"
    return f"{100 * d:+.1f} points ({span})"


def _sentences(story: SweepStory, n_proposed: int) -> list[str]:
    n, m = story.questions, story.metric
    lines = []
    if story.baseline is not None:
        lines.append(f"Zero-shot baseline (trial {story.baseline.number}, {story.baseline.label}): validation {m} {fmt_ci(story.baseline.metric, n)}.")
    proposals = [t for t in story.trials if t.origin == "proposal"]
    if story.first_proposal is not None:
        fp = story.first_proposal
        versus = f"; against the baseline {_compare(fp, story.baseline, n, m)}" if story.baseline and fp.metric is not None else ""
        lines.append(f"First meta-learner proposal (trial {fp.number}, {fp.label}): {fmt_ci(fp.metric, n)}{versus}.")
        ranks = ", ".join(f"trial {t.number} ranked {t.rank if t.rank else '-'}" for t in proposals)
        lines.append(f"The {len(proposals)} proposals in this space: {ranks} of {sum(t.rank is not None for t in story.trials)} finished trials.")
    elif n_proposed == 0:
        lines.append("No meta-learner proposals (no warm_start section): the search started cold.")
    best = story.best
    if best is None:
        lines.append("No trial finished.")
        return lines
    searched = [t for t in story.trials if t.origin == "search" and t.metric is not None]
    where = {"proposal": "a meta-learner proposal", "baseline": "the zero-shot baseline", "configured": "a configured start point", "search": "the search itself (TPE)"}[best.origin]
    lines.append(f"Best: trial {best.number} ({best.label}), from {where}: validation {m} {fmt_ci(best.metric, n)}.")
    if story.baseline is not None and best is not story.baseline:
        lines.append(f"Best against the baseline: {_compare(best, story.baseline, n, m)}.")
    if story.first_proposal is not None and best is not story.first_proposal:
        lines.append(f"Best against the first proposal: {_compare(best, story.first_proposal, n, m)}.")
    if searched:
        top = max(searched, key=lambda t: direction_sign(story.direction) * t.metric)  # type: ignore[operator]
        lines.append(f"The search's own {len(searched)} trials reached {fmt_ci(top.metric, n)} at best (trial {top.number}, {top.label}).")
    if story.test_score is not None:
        lines.append(f"Test {m} of the chosen strategy: {fmt_ci(story.test_score, story.test_questions)} (scored once, never used to choose).")
    return lines
