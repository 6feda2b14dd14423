"""Errors that name what is wrong and where; the CLI prints them without a traceback."""

from __future__ import annotations


class DomaintuneError(Exception):
    """Base class: a user-facing error with a message that names the file, key or value."""


class ConfigError(DomaintuneError, ValueError):
    """A sweep config or strategy value is invalid."""


class DomainError(DomaintuneError, ValueError):
    """A domain's files or rows are invalid."""


class TrackingError(DomaintuneError, RuntimeError):
    """The MLflow tracking store cannot be reached or used."""
