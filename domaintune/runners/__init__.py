"""Runners evaluate one strategy on one domain and return its metric and cost (no Ray, no MLflow)."""

from __future__ import annotations

from domaintune.runners._base import Report, Runner, TrialResult
from domaintune.runners._lm import METRIC, LMRunner
from domaintune.runners._settings import RunnerSettings

__all__ = ["METRIC", "LMRunner", "Report", "Runner", "RunnerSettings", "TrialResult"]

