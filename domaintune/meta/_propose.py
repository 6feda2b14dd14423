"""Proposals for a domain from a history: what `domaintune propose` and `warm_start` use."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from domaintune.errors import ConfigError
from domaintune.history import History, task_name
from domaintune.meta._base import REGISTRY, Proposal, family_of, model_of
from domaintune.meta.features import MODEL_FREE_GROUPS, domain_features, feature_table, task_family

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.runners import RunnerSettings


def propose(
    domain: Domain,
    history: History,
    learner: str,
    n: int = 5,
    groups: Iterable[str] = MODEL_FREE_GROUPS,
    settings: RunnerSettings | None = None,
) -> list[Proposal]:
    """n strategies for ``domain`` (in its view) with ``settings``' base model (default: the
    built-in one), from a learner fitted on every *other* domain's tasks (any view, any model).

    The learner sees the meta-feature ``groups`` (default: the model-free ones, so proposing
    loads no model). When the history has no task of this task's family, or none scored with its
    base model, every proposal says so in its ``caveats`` (what was learned comes from other
    kinds of task; a warm start then leaves more of its budget to the search).
    """
    from domaintune.runners import RunnerSettings

    if learner not in REGISTRY:
        raise ConfigError(f"learner: unknown {learner!r}; known: {', '.join(sorted(REGISTRY))}")
    settings = settings or RunnerSettings()
    view = domain.view_name or domain.views[0]
    viewed = domain if domain.view_name else domain.view(view)
    task = task_name(domain.name, view, settings.model)
    past = history.validated(finished=True).without_domain(domain.name)
    if not past.tasks():
        raise ConfigError(f"no history for other domains to learn from ({len(history)} records, all of {domain.name!r} or unfinished)")
    groups = tuple(groups)
    features = feature_table(past, groups, settings)
    features[task] = domain_features(viewed, groups, settings)
    own = [r for r in history if r.task == task]
    proposals = REGISTRY[learner](features).fit(past).propose(task, n, observed=own)
    notes = caveats(task_family(viewed), Path(settings.model).name, features, past.tasks())
    for p in proposals:
        p.caveats = list(notes)
    return proposals


def caveats(family: str, model: str, features: dict[str, dict[str, float]], past: list[str]) -> list[str]:
    """What the history lacks for this task: its family, its base model (empty when it has both)."""
    families = sorted({family_of(features[t]) for t in past} - {""})
    models = sorted({model_of(features[t]) for t in past} - {""})
    notes = []
    if families and family not in families:
        notes.append(f"no past task of the {family} family (the history has {', '.join(families)}): "
                     "these proposals come from other kinds of task")
    if models and model not in models:
        notes.append(f"no past task scored with base model {model} (the history has {', '.join(models)}): "
                     "these proposals come from other models")
    return notes
