"""What domaintune records in MLflow, named once: every tag key, param and artifact.

No other module spells a ``domaintune.*`` key; they all use these names (tests/test_layout.py
checks it). Runs of five kinds carry ``Tag.KIND``: a sweep (parent run), a trial (its child
run), a challenger (a champion check), a schedule action, and experts' feedback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PREFIX = "domaintune."


def tag_key(name: str) -> str:
    """The MLflow tag key of a domaintune tag name (``check.<fingerprint>`` and the like)."""
    return PREFIX + name


def own_tags(tags: dict[str, str]) -> dict[str, str]:
    """Of a run's or model version's tags, domaintune's own, by name (the prefix dropped)."""
    return {k[len(PREFIX):]: v for k, v in tags.items() if k.startswith(PREFIX)}


STEP_METRIC = "step"  # logged with each trial report: the step it was made at (a history reads it without the curve)


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
    ANSWERED_FROM = tag_key("answered_from")  # the trial run a repeated strategy's answer was read from (it did not run)
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
    CONFIG = "config.json"  # a sweep's config
    SEARCH_SPACE = "search_space.json"
    SUMMARY = "summary.json"
    REPORT_HTML = "report.html"
    REPORT_JSON = "report.json"
    ERROR = "error.txt"
    WARM_START = "warm_start.json"  # a sweep's warm-start plan


# Params: a run's params are text; a lever's value is JSON unless it is text already.
MAX_PARAM = 6000  # the longest param value MLflow accepts; longer ones are cut with a marker
MAX_TAG = 5000  # the tail of a traceback kept in a tag (the whole text is an artifact)


def encode_param(value: Any) -> str:
    """A param value as MLflow keeps it: text as is, anything else as JSON, cut at ``MAX_PARAM``."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= MAX_PARAM else text[: MAX_PARAM - 3] + "..."


def encode_params(values: dict[str, Any]) -> dict[str, str]:
    return {key: encode_param(value) for key, value in values.items()}


def decode_param(text: str) -> Any:
    """A param value read back: JSON when it parses, else the text itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


# Tags on a trial run that say where it ran (the Ray node, the host, the device).
NODE_TAGS = {"node_id": Tag.NODE_ID, "node_ip": Tag.NODE_IP, "hostname": Tag.HOSTNAME, "worker_nice": Tag.WORKER_NICE, "device": Tag.DEVICE}


@dataclass
class TrialRun:
    """One trial's child run: its tags, params (the strategy's active levers), metrics and
    artifacts. ``SweepTracker`` writes it; ``read_trial_run`` reads it back for the history and
    for a resumed sweep. An empty field is not written (the sweep's trial tags supply it)."""

    trial_id: str
    strategy: dict[str, Any] = field(default_factory=dict)
    domain: str = ""
    domain_view: str = ""
    domain_version: str = ""
    domain_fingerprint: str = ""
    metric: str = ""
    direction: str = ""
    base_model: str = ""
    runner: str = ""
    config: dict[str, Any] | None = None  # the point Ray sampled
    levels: str = ""
    adapter_dir: str = ""
    stopped_early: bool | None = None
    traceback: str = ""  # a failed trial's error (Tag.ERROR keeps its tail, Artifact.ERROR all of it)
    origin: str = ""
    answered_from: str = ""  # the run whose recorded result answered this trial (a repeat, not run)
    node: dict[str, str] = field(default_factory=dict)  # NODE_TAGS names -> values
    # what a run read back holds besides its tags and params
    run_id: str = ""
    status: str = ""
    label: str = ""  # the run's name
    metrics: dict[str, float] = field(default_factory=dict)  # the last value of each
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, metric), when read
    outcomes: dict[str, Any] | None = None  # Artifact.OUTCOMES, when read
    artifact_uri: str = ""  # where the run's artifacts are (its outcomes are read from there)

    def tags(self) -> dict[str, str]:
        """The run's domaintune tags (only the fields that are set)."""
        values = {
            Tag.KIND: Kind.TRIAL, Tag.TRIAL_ID: self.trial_id, Tag.DOMAIN: self.domain, Tag.DOMAIN_VIEW: self.domain_view,
            Tag.DOMAIN_VERSION: self.domain_version, Tag.DOMAIN_FINGERPRINT: self.domain_fingerprint, Tag.METRIC: self.metric,
            Tag.DIRECTION: self.direction, Tag.BASE_MODEL: self.base_model, Tag.RUNNER: self.runner, Tag.LEVELS: self.levels,
            Tag.TRIAL_CONFIG: "" if self.config is None else json.dumps(self.config, sort_keys=True, default=str),
            Tag.ADAPTER_DIR: self.adapter_dir, Tag.STOPPED_EARLY: "" if self.stopped_early is None else str(self.stopped_early).lower(),
            Tag.ERROR: self.traceback[-MAX_TAG:], Tag.ORIGIN: self.origin, Tag.ANSWERED_FROM: self.answered_from,
            **{NODE_TAGS[name]: value for name, value in self.node.items()},
        }
        return {key: value for key, value in values.items() if value}

    def params(self) -> dict[str, str]:
        return encode_params(self.strategy)

    @classmethod
    def from_run(cls, run: Any, curve: list[tuple[int, float]] | None = None, outcomes: dict[str, Any] | None = None) -> TrialRun:
        """A trial run as MLflow returns it (``MlflowClient.search_runs``), with what was read beside it."""
        tags, info = run.data.tags, run.info
        config, early = tags.get(Tag.TRIAL_CONFIG), tags.get(Tag.STOPPED_EARLY)
        trial_id = tags.get(Tag.TRIAL_ID, "")
        return cls(
            trial_id=trial_id, strategy={k: decode_param(v) for k, v in run.data.params.items()},
            domain=tags.get(Tag.DOMAIN, ""), domain_view=tags.get(Tag.DOMAIN_VIEW, ""), domain_version=tags.get(Tag.DOMAIN_VERSION, "1"),
            domain_fingerprint=tags.get(Tag.DOMAIN_FINGERPRINT, ""), metric=tags.get(Tag.METRIC, "accuracy"),
            direction=tags.get(Tag.DIRECTION, "maximize"), base_model=tags.get(Tag.BASE_MODEL, ""), runner=tags.get(Tag.RUNNER, "lm"),
            config=json.loads(config) if config else None, levels=tags.get(Tag.LEVELS, ""), adapter_dir=tags.get(Tag.ADAPTER_DIR, ""),
            stopped_early=None if early is None else early == "true", traceback=tags.get(Tag.ERROR, ""), origin=tags.get(Tag.ORIGIN, ""),
            answered_from=tags.get(Tag.ANSWERED_FROM, ""),
            node={name: tags[key] for name, key in NODE_TAGS.items() if key in tags},
            run_id=info.run_id, status=info.status, label=info.run_name or trial_id,
            metrics=dict(run.data.metrics), curve=sorted(curve or []), outcomes=outcomes, artifact_uri=info.artifact_uri or "",
        )

    @property
    def error(self) -> str | None:
        """The last line of a failed trial's error, or None."""
        lines = self.traceback.strip().splitlines()
        return lines[-1] if lines else None

    @property
    def steps(self) -> int:
        """The last step the metric was reported at: the curve's last, else the ``step`` metric a
        trial logs with every report (0 for a run of an older release whose curve was not read)."""
        return self.curve[-1][0] if self.curve else int(self.metrics.get(STEP_METRIC, 0))

    @property
    def value(self) -> float | None:
        return self.metrics.get(self.metric)

    @property
    def cost(self) -> dict[str, float]:
        return {k[len("cost."):]: float(v) for k, v in self.metrics.items() if k.startswith("cost.")}

    @property
    def last(self) -> dict[str, Any]:
        """The final result as a trial reports it: its metrics, step and adapter folder."""
        return {**self.metrics, "step": self.steps, "adapter_dir": self.adapter_dir}


@dataclass
class SweepRun:
    """A sweep's parent run read back: its domain tags, the config it was run with (params), its scores."""

    run_id: str
    name: str
    experiment_id: str
    status: str
    started: int  # ms since the epoch
    tags: dict[str, str]
    params: dict[str, str]  # the flattened config (``runner.questions``), ``best.<lever>``
    metrics: dict[str, float]  # ``best_validation_<metric>``, ``test_<metric>``, ``trials``, ...

    @classmethod
    def from_run(cls, run: Any) -> SweepRun:
        info, data = run.info, run.data
        return cls(info.run_id, info.run_name, info.experiment_id, info.status, info.start_time, dict(data.tags), dict(data.params), dict(data.metrics))

    @property
    def is_sweep(self) -> bool:
        return self.tags.get(Tag.KIND) == Kind.SWEEP

    @property
    def metric(self) -> str:
        return self.params.get("metric", "accuracy")

    def count(self, param: str) -> int:
        """A whole-number config value (``runner.questions``), 0 when not recorded."""
        return int(self.params.get(param, "0") or 0)
