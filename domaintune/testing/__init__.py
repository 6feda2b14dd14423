"""Shared behaviour suites (as optuna's ``testing/``): every implementation of an interface
passes the same tests. Import from test modules only (these modules import pytest)."""
