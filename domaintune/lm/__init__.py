"""lm."""

from __future__ import annotations

from domaintune.lm._models import BUILTIN_MODELS, DEFAULT_MODEL, default_cache_dir, load_model, load_tokenizer, prepare_model
from domaintune.lm._embeddings import embed, nearest_neighbours
from domaintune.lm._prompts import TEMPLATES, Template, VIEW_LABELS
