"""Proposals for a domain from a history: what `domaintune propose` and `warm_start` use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from domaintune.errors import ConfigError
from domaintune.history import History
from domaintune.meta._base import REGISTRY, Proposal
from domaintune.meta.features import MODEL_FREE_GROUPS, domain_features, feature_table

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
    """n strategies for ``domain`` (in its view) from a learner fitted on every *other* domain.

    The learner sees the meta-feature ``groups`` (default: the model-free ones, so proposing
    loads no model); the probe group uses ``settings``' base model (default: the built-in one).
    """
    if learner not in REGISTRY:
        raise ConfigError(f"learner: unknown {learner!r}; known: {', '.join(sorted(REGISTRY))}")
    view = domain.view_name or domain.views[0]
    past = History([r for r in history if r.domain != domain.name and (not r.view or r.view == view)])
    if not past.domains():
        raise ConfigError(f"no history for other domains in view {view!r} to learn from")
    groups = tuple(groups)
    features = feature_table(past, groups, settings, view=view)
    features[domain.name] = domain_features(domain.view(view) if not domain.view_name else domain, groups, settings)
    own = [r for r in history if r.domain == domain.name and r.view == view]
    return REGISTRY[learner](features).fit(past).propose(domain.name, n, observed=own)
