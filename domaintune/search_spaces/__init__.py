"""Search spaces over strategy levers: parsing, validation, named spaces, Optuna distributions."""

from __future__ import annotations

from domaintune.search_spaces._base import Dimension, SearchSpace, parse_dimension
from domaintune.search_spaces._library import DESCRIPTIONS, SPACES, get_space, register_space

__all__ = ["DESCRIPTIONS", "SPACES", "Dimension", "SearchSpace", "get_space", "parse_dimension", "register_space"]
