"""What a champion carries about itself (``champion.json``): strategy, prompt, retrieval, scores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domaintune.domains import Domain


def champion_spec(
    domain: Domain,
    strategy: dict[str, Any],
    steps: int,
    runner: dict[str, Any],
    validation: dict[str, Any],
    sweep_run_id: str,
    has_adapter: bool,
) -> dict[str, Any]:
    """The JSON a champion carries: what it is, how it prompts, what it retrieves from."""
    from domaintune.lm import TEMPLATES, VIEW_LABELS
    from domaintune.strategy import Strategy

    parsed = Strategy.from_dict(strategy)
    view = domain.view_name or "multiple_choice"
    template = TEMPLATES[parsed.template]
    labels = VIEW_LABELS.get(view, VIEW_LABELS["multiple_choice"])
    title = domain.title or domain.name
    if parsed.n_shots == 0:
        exemplars: Any = []
    elif parsed.exemplar_selection == "similar":
        exemplars = f"the {parsed.n_shots} most similar rows of the train split, chosen per question"
    elif parsed.exemplar_selection == "diverse":
        exemplars = f"the {parsed.n_shots} most diverse rows of the train split (seed {runner.get('seed', 0)})"
    else:
        from domaintune.runners import choose_exemplars

        exemplars = choose_exemplars(domain.splits["train"], parsed.n_shots, int(runner.get("seed", 0)))
    return {
        "domain": domain.name,
        "view": view,
        "domain_version": domain.version,
        "domain_fingerprint": domain.fingerprint,
        "strategy": parsed.active(),
        "description": parsed.describe(),
        "steps": steps,
        "runner": runner,
        "prompt": {
            "template": parsed.template,
            "preamble": template.preamble(title, labels),
            "query_example": template.query("<question>", title, labels),
            "chat": template.chat,
            "exemplars": exemplars,
        },
        "retrieval": {
            "method": parsed.retrieval,
            "top_k": parsed.top_k if parsed.retrieval != "none" else 0,
            "corpus": "domain/corpus.jsonl.gz" if domain.corpus else None,
            "passages": len(domain.corpus),
            "index": "built at load time from the corpus (bm25s / MiniLM)" if parsed.retrieval != "none" else None,
        },
        "adapter": "adapter" if has_adapter else None,
        "sweep_run_id": sweep_run_id,
        "validation": validation,
    }
