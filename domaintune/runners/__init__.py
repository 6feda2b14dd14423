"""Runners evaluate one strategy on one domain and return its metric and cost (no Ray, no MLflow).

``make_runner(settings)`` is the one door: it builds the runner ``settings.kind`` names from
the registry (``lm``: a real model; ``replay``: a recorded history).
"""

from __future__ import annotations

from domaintune.runners._base import Report, Runner, TrialResult, question_id, scored_rows
from domaintune.runners._chosen import score_test
from domaintune.runners._generation import exact_match, token_f1
from domaintune.runners._device import DEVICES, cap_gpu_memory, check_device, resolve_device, resolve_dtype
from domaintune.runners._lm import METRIC, LMRunner
from domaintune.runners._prompting import PromptBuilder
from domaintune.runners._choices import outcomes, outcomes_batched
from domaintune.runners._registry import DESCRIPTIONS, RUNNERS, make_runner, register_runner
from domaintune.runners._replay import ReplayRunner
from domaintune.runners._retrieval import retriever
from domaintune.runners._prompting import choose_exemplars
from domaintune.runners._settings import RunnerSettings

__all__ = [
    "exact_match",
    "token_f1",
    "DESCRIPTIONS",
    "DEVICES",
    "cap_gpu_memory",
    "check_device",
    "resolve_device",
    "resolve_dtype",
    "METRIC",
    "RUNNERS",
    "LMRunner",
    "PromptBuilder",
    "outcomes",
    "outcomes_batched",
    "Report",
    "ReplayRunner",
    "Runner",
    "RunnerSettings",
    "TrialResult",
    "choose_exemplars",
    "make_runner",
    "question_id",
    "register_runner",
    "retriever",
    "score_test",
    "scored_rows",
]
