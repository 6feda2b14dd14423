"""Meta-learning on history records: meta-features, learners, proposals, warm starts and the
leave-one-domain-out benchmark, and which strategy wins where. Importing it loads no model and no Ray; the ``probe`` and
``embedding`` feature groups load a model when asked for, and the meta-dataset build
(``domaintune.meta.build``) evaluates through the runner registry."""

from __future__ import annotations

from domaintune.history import SEED_HISTORY, History, Record, strategy_key
from domaintune.tracking import load_history
from domaintune.meta._base import REGISTRY, Learner, Proposal, normalized_scores, register_learner
from domaintune.meta._curve import knowledge_curve
from domaintune.meta._learners import GreedyPortfolio, NearestDomains, RandomLearner, Surrogate
from domaintune.meta._lodo import SEEDS as BENCHMARK_SEEDS
from domaintune.meta._lodo import benchmark, leave_one_domain_out
from domaintune.meta._lodo_markdown import markdown
from domaintune.meta._propose import propose
from domaintune.meta._table import TaskTable, task_tables
from domaintune.meta._winners import winners, winners_markdown
from domaintune.meta.features import FEATURE_GROUPS, MODEL_FREE_GROUPS, domain_features, feature_table, select_groups

__all__ = [
    "BENCHMARK_SEEDS",
    "FEATURE_GROUPS",
    "MODEL_FREE_GROUPS",
    "REGISTRY",
    "SEED_HISTORY",
    "TaskTable",
    "GreedyPortfolio",
    "History",
    "Learner",
    "NearestDomains",
    "Proposal",
    "RandomLearner",
    "Record",
    "Surrogate",
    "domain_features",
    "task_tables",
    "feature_table",
    "knowledge_curve",
    "benchmark",
    "leave_one_domain_out",
    "load_history",
    "markdown",
    "normalized_scores",
    "winners",
    "winners_markdown",
    "propose",
    "register_learner",
    "select_groups",
    "strategy_key",
]
