"""What domaintune records in MLflow, named once: every tag key, param and artifact.

No other module spells a ``domaintune.*`` key; they all use these names (tests/test_layout.py
checks it). Runs of five kinds carry ``Tag.KIND``: a sweep (parent run), a trial (its child
run), a challenger (a champion check), a schedule action, and experts' feedback.
"""

from __future__ import annotations

PREFIX = "domaintune."


def tag_key(name: str) -> str:
    """The MLflow tag key of a domaintune tag name (``check.<fingerprint>`` and the like)."""
    return PREFIX + name


def own_tags(tags: dict[str, str]) -> dict[str, str]:
    """Of a run's or model version's tags, domaintune's own, by name (the prefix dropped)."""
    return {k[len(PREFIX):]: v for k, v in tags.items() if k.startswith(PREFIX)}


class Kind:
    """Values of ``Tag.KIND``."""

    SWEEP = "sweep"
    TRIAL = "trial"
    CHALLENGER = "challenger"
    SCHEDULE = "schedule"
    FEEDBACK = "feedback"


class Tag:
    """Every tag key domaintune writes, by the run that carries it."""

    KIND = tag_key("kind")
    # the domain, on sweep, trial, challenger, schedule and feedback runs
    DOMAIN = tag_key("domain")
    DOMAIN_VIEW = tag_key("domain_view")
    DOMAIN_VERSION = tag_key("domain_version")
    DOMAIN_FINGERPRINT = tag_key("domain_fingerprint")
    BASE_MODEL = tag_key("base_model")
    ERROR = tag_key("error")
    # a sweep's parent run
    SWEEP_KEY = tag_key("sweep_key")  # the hash of its config: the same config is the same sweep
    RAY_EXPERIMENT = tag_key("ray.experiment")  # Ray's experiment folder (what a resume restores)
    RESUMED = tag_key("resumed")
    CLOSED_BY = tag_key("closed_by")  # who closed a run a dead driver left RUNNING
    BEST_STRATEGY = tag_key("best_strategy")
    PARETO = tag_key("pareto")
    TEST_ADAPTER = tag_key("test_adapter")
    DRIVER_HOST = tag_key("driver.host")
    DRIVER_PID = tag_key("driver.pid")
    DRIVER_STARTED = tag_key("driver.started")
    HEARTBEAT = tag_key("heartbeat")
    RAY_SESSION = tag_key("ray.session_dir")
    RAY_PIDS = tag_key("ray.pids")
    RAY_LOCAL = tag_key("ray.local")
    # what every trial run of a sweep carries (what a history record needs)
    METRIC = tag_key("metric")
    DIRECTION = tag_key("direction")
    RUNNER = tag_key("runner")
    # a trial's child run
    TRIAL_ID = tag_key("trial_id")
    TRIAL_CONFIG = tag_key("trial_config")  # the point Ray sampled (what the search is told back)
    LEVELS = tag_key("levels")
    ADAPTER_DIR = tag_key("adapter_dir")
    STOPPED_EARLY = tag_key("stopped_early")
    ORIGIN = tag_key("origin")  # baseline, proposal, search, ...
    NODE_ID = tag_key("node_id")
    NODE_IP = tag_key("node_ip")
    HOSTNAME = tag_key("hostname")
    WORKER_NICE = tag_key("worker_nice")
    DEVICE = tag_key("device")
    # a schedule action's run
    ENTRY = tag_key("entry")
    ACTION = tag_key("action")
    REASON = tag_key("reason")
    SCHEDULE_FILE = tag_key("schedule_file")
    OUTCOME = tag_key("outcome")
    SWEEP_RUN_ID = tag_key("sweep_run_id")
    HISTORY_RECORDS = tag_key("history_records")
    DETAILS = tag_key("details")
    # experts' feedback (a run, its traces' attributes) and the registry's model versions
    MODEL = tag_key("model")
    MODEL_VERSION = tag_key("model_version")
    FEEDBACK_FILE = tag_key("feedback_file")
    FEEDBACK_ROW = tag_key("feedback_row")
    VIEW = tag_key("view")
    STRATEGY = tag_key("strategy")
    VALIDATION = tag_key("validation")
    CHAMPION_REASON = tag_key("champion_reason")
    PREVIOUS_CHAMPION = tag_key("previous_champion")
    ROLLED_BACK_AT = tag_key("rolled_back_at")
    DECISION = tag_key("decision")

    @staticmethod
    def check(fingerprint: str) -> str:
        """A model version's check on one version of its domain's data."""
        return tag_key(f"check.{fingerprint}")

    @staticmethod
    def feedback(run_id: str) -> str:
        """A model version's summary of one feedback run."""
        return tag_key(f"feedback.{run_id}")


def filter_kind(kind: str, **tags: str) -> str:
    """An MLflow ``filter_string`` for runs of one kind with the given tags (``Tag`` attribute
    names in lower case: ``domain=...``)."""
    parts = [f"tags.`{Tag.KIND}` = '{kind}'"]
    for name, value in tags.items():
        parts.append(f"tags.`{getattr(Tag, name.upper())}` = '{value}'")
    return " and ".join(parts)


class Artifact:
    """Artifact paths on domaintune's runs."""

    OUTCOMES = "outcomes.json"  # a finished trial's per-question outcomes
    STRATEGY = "strategy.json"  # a trial's strategy, every lever
    CONFIG = "config.json"  # a sweep's config
    SEARCH_SPACE = "search_space.json"
    SUMMARY = "summary.json"
    REPORT_HTML = "report.html"
    REPORT_JSON = "report.json"
    ERROR = "error.txt"
