"""tracking."""

from __future__ import annotations

from domaintune.tracking._writer import OUTCOMES_ARTIFACT, SweepTracker, check_reachable, open_experiment, resolve_tracking_uri
from domaintune.tracking._ui import domain_dataset, experiment_links, log_domain_input, log_strategy_model, run_url, runs_url, set_default_view
from domaintune.tracking._schema import PREFIX, Artifact, Kind, Tag, filter_kind, own_tags, tag_key
