"""Domains: task data with splits, licence and fingerprint, built-in or the user's own folder."""

from __future__ import annotations

from domaintune.domains._domain import FREE_TEXT_CHOICE_VIEW, SPLITS, TASK_METRICS, TASKS, VIEWS, Domain, answer_text, compute_fingerprint
from domaintune.domains._evolving import EVOLVING, build_release, next_version, release_domain, save_version
from domaintune.domains._glossary import N_OPTIONS
from domaintune.domains._store import load_domain_folder, read_jsonl, save_domain
from domaintune.domains._user import import_domain, user_domains_dir
from domaintune.domains._catalog import BUILTIN_DIR, add_domain, builtin_domain_names, domain_folder, load_domain, user_domain_names

__all__ = [
    "FREE_TEXT_CHOICE_VIEW",
    "SPLITS",
    "TASKS",
    "TASK_METRICS",
    "VIEWS",
    "BUILTIN_DIR",
    "EVOLVING",
    "N_OPTIONS",
    "build_release",
    "load_domain_folder",
    "next_version",
    "release_domain",
    "save_version",
    "Domain",
    "add_domain",
    "domain_folder",
    "answer_text",
    "import_domain",
    "user_domain_names",
    "user_domains_dir",
    "builtin_domain_names",
    "compute_fingerprint",
    "load_domain",
    "read_jsonl",
    "save_domain",
]
