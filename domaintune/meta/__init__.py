"""Meta-learning on history records only (no model, no Ray): history, replay, learners."""

from __future__ import annotations

from domaintune.meta._base import REGISTRY, Learner, Proposal, normalized_scores, register_learner
from domaintune.meta._evaluate import leave_one_domain_out, markdown
from domaintune.meta._history import History, Record
from domaintune.meta._learners import GreedyPortfolio, NearestDomains, RandomLearner, Surrogate
from domaintune.meta._propose import SEED_HISTORY, load_history, propose
from domaintune.meta._replay import ReplayRunner
from domaintune.meta.features import FEATURE_GROUPS, MODEL_FREE_GROUPS, domain_features, select_groups

__all__ = [
    "FEATURE_GROUPS",
    "MODEL_FREE_GROUPS",
    "REGISTRY",
    "GreedyPortfolio",
    "History",
    "Learner",
    "NearestDomains",
    "Proposal",
    "RandomLearner",
    "Record",
    "ReplayRunner",
    "SEED_HISTORY",
    "load_history",
    "propose",
    "Surrogate",
    "domain_features",
    "leave_one_domain_out",
    "markdown",
    "normalized_scores",
    "register_learner",
    "select_groups",
]
