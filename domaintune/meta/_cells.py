"""Which of a build's cells count, and the cells as history records (what the meta-learners fit on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domaintune.meta._design import Design, halving_plan


def complete_domains(design: Design, rows: list[dict[str, Any]]) -> list[str]:
    """The design's domains whose row is done: every strategy at the design's questions or, with
    halving, every rung's planned cells."""
    if design.halving:
        have = {(r["domain"], r["index"], r.get("rung")) for r in rows}
        return [
            d for d in design.domains
            if all((d, i, rung) in have for rung in range(len(design.halving)) for i in halving_plan(design, rows, d, rung))
        ]
    have = {(r["domain"], r["index"]) for r in rows if r["questions"] >= design.questions}
    return [d for d in design.domains if all((d, i) in have for i in range(len(design.strategies)))]


def final_cells(design: Design, rows: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """(domain, strategy index) -> the cell that counts, for the complete domains: the one at the
    design's questions or, with halving, at the highest rung the strategy reached."""
    complete = set(complete_domains(design, rows))
    if design.halving:
        cells: dict[tuple[str, int], dict[str, Any]] = {}
        for r in rows:
            key = (r["domain"], r["index"])
            if r["domain"] in complete and (key not in cells or r.get("rung", 0) >= cells[key].get("rung", 0)):
                cells[key] = r
        return dict(sorted(cells.items()))
    return dict(sorted({(r["domain"], r["index"]): r for r in rows if r["domain"] in complete and r["questions"] >= design.questions}.items()))


def _question_ids(row: dict[str, Any], seed: int) -> list[str] | None:
    """The ids of the questions a cell scored, for cells recorded before ids were kept: the same
    seeded sample drawn again, when the domain is still the one the cell scored (same fingerprint)."""
    from domaintune.domains import load_domain
    from domaintune.errors import DomainError
    from domaintune.runners import question_id, scored_rows

    try:
        domain = load_domain(row["domain"]).view(row["view"])
    except DomainError:
        return None  # a domain that is gone: the cell keeps its outcomes, unpaired
    if domain.fingerprint != row["fingerprint"]:
        return None
    return [question_id(q) for q in scored_rows(domain, "validation", row["questions"], seed)]


def to_history(design: Design, rows: list[dict[str, Any]], source: str) -> Any:
    """The complete domains' cells that count (``final_cells``) as history records (validation
    split, with standard errors, outcomes and question ids)."""
    from domaintune.history import History, Record

    latest = final_cells(design, rows)
    return History(
        [
            Record(
                domain=r["domain"], fingerprint=r["fingerprint"], view=r["view"], strategy=r["strategy"],
                steps=int(r.get("steps", 0)), metric="accuracy", value=r["accuracy"], stderr=r["stderr"],
                cost=r["cost"], split="validation", base_model=Path(r["model"]).name, source=source,
                questions=r["questions"], question_ids=r.get("question_ids") or _question_ids(r, design.seed), outcomes=r.get("outcomes"),
            )
            for r in latest.values()
        ]
    )
