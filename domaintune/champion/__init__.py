"""A champion per domain: the chosen strategy as an MLflow pyfunc model, promoted by a paired test.

``challenge`` registers a sweep's chosen strategy as a version of the registered model
``<domain>`` and moves the ``champion`` alias to it only if it beats the current champion on
the same validation questions (exact one-sided sign test on the discordant questions,
McNemar's exact test for 1/0 outcomes, alpha 0.05). ``show`` and ``rollback`` serve the CLI.
The pyfunc model itself lives in ``_model`` (imports MLflow; loaded on use).
"""

from __future__ import annotations

from domaintune.champion._paired import ALPHA, PairedTest, by_question, paired_test, sign_test_p
from domaintune.champion._registry import (
    ALIAS,
    Decision,
    challenge,
    champion_version,
    load_champion,
    record_check,
    registered_name,
    registry_client,
    rollback,
    show,
)
from domaintune.champion._spec import champion_spec

__all__ = [
    "ALIAS",
    "ALPHA",
    "Decision",
    "PairedTest",
    "by_question",
    "challenge",
    "champion_version",
    "load_champion",
    "paired_test",
    "record_check",
    "registered_name",
    "registry_client",
    "champion_spec",
    "rollback",
    "show",
    "sign_test_p",
]
from domaintune.champion._feedback import apply_feedback, default_feedback_history, read_judgments
