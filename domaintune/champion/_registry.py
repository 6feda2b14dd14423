"""A champion per domain in the MLflow Model Registry: register challengers, promote, roll back.

Every challenger a scheduled sweep produces becomes a version of the registered model
``<domain>``; the ``champion`` alias moves to it only when it beats the current champion on
the same validation questions by the paired test in ``_paired`` (exact one-sided sign test,
alpha 0.05). The reason for each promotion or refusal is kept on the version (tags and
description), so the registry itself tells the story. The test split then scores the promoted
one, never to choose.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.champion._paired import ALPHA, PairedTest, by_question, paired_test
from domaintune.errors import ConfigError
from domaintune.tracking import Tag, own_tags, tag_key

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.runners import TrialResult

ALIAS = "champion"


def registered_name(domain: str) -> str:
    """The registered model's name for a domain (MLflow allows letters, digits, ``_ . -``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", domain).strip("-") or "domain"


def registry_client(uri: str | None) -> Any:
    """A client on the tracking store and its registry; MLflow's own calls (a model logged in a
    run, a model loaded) go to the same store."""
    import mlflow

    from domaintune.tracking import client

    registry = client(uri)
    mlflow.set_tracking_uri(registry.tracking_uri)
    mlflow.set_registry_uri(registry.tracking_uri)
    return registry


def champion_version(client: Any, name: str) -> Any | None:
    """The version the ``champion`` alias points at, or None (no model, or no alias yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, ALIAS)
    except MlflowException:
        return None


def load_champion(uri: str | None, name: str, version: str | int | None = None) -> Any:
    """The ``ChampionModel`` behind a version (default: the current champion), loaded through pyfunc."""
    import mlflow.pyfunc

    registry_client(uri)
    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}" if version else f"models:/{name}@{ALIAS}")
    return model.unwrap_python_model()


@dataclass
class Decision:
    name: str
    version: str
    promoted: bool
    reason: str
    previous: str | None  # the champion's version before this decision
    test: PairedTest | None
    test_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "version": self.version,
            "promoted": self.promoted,
            "reason": self.reason,
            "previous_champion": self.previous,
            "paired_test": self.test.to_dict() if self.test else None,
            "test_score": self.test_score,
        }


def _decide(challenger: TrialResult, champion_result: TrialResult | None, current: Any, alpha: float) -> tuple[bool, str, PairedTest | None]:
    """Promote or not, and why: the paired test on the questions both were scored on."""
    if current is None:
        return True, "first champion: the domain had none", None
    if champion_result is None or not champion_result.question_ids:
        return False, "refused: the champion could not be scored on the same questions", None
    test = paired_test(
        by_question(challenger.question_ids, challenger.outcomes), by_question(champion_result.question_ids, champion_result.outcomes), alpha
    )
    if test.questions == 0:
        return False, "refused: challenger and champion share no scored question", test
    return test.challenger_better, ("promoted: " if test.challenger_better else "refused: ") + test.describe(), test


def _version_tags(domain: Domain, spec: dict[str, Any], run_id: str, promoted: bool, reason: str, current: Any, test: PairedTest | None) -> dict[str, str]:
    """What a challenger's model version says about itself and the decision (tag names)."""
    tags = {
        "kind": "challenger",
        "domain": domain.name,
        "view": spec.get("view", ""),
        "domain_version": domain.version,
        "domain_fingerprint": domain.fingerprint,
        "strategy": json.dumps(spec.get("strategy", {}), sort_keys=True),
        "runner": json.dumps(spec.get("runner", {}), sort_keys=True),
        "sweep_run_id": spec.get("sweep_run_id", ""),
        "challenger_run_id": run_id,
        "validation": json.dumps(spec.get("validation", {})),
        "decision": "promoted" if promoted else "refused",
        "reason": reason[:4900],
        "decided_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "previous_champion": str(current.version) if current is not None else "",
    }
    if test is not None:
        tags["paired_test"] = json.dumps(test.to_dict())
    return tags


def challenge(
    uri: str | None,
    domain: Domain,
    challenger: TrialResult,
    spec: dict[str, Any],
    adapter_dir: str | None,
    experiment_id: str,
    champion_result: TrialResult | None = None,
    alpha: float = ALPHA,
    test_score: float | None = None,
    test_metric: str = "accuracy",
) -> Decision:
    """Register the challenger as a new version; move the alias only if it wins the paired test.

    ``champion_result`` is the current champion scored on the same validation questions (the
    caller scores it; None when there is no champion). ``test_score`` is recorded on a
    promoted version only: it was measured after the choice and never enters it.
    """
    from domaintune.champion._model import log_champion
    from domaintune.tracking import log_challenger

    client = registry_client(uri)
    name = registered_name(domain.name)
    current = champion_version(client, name)
    promoted, reason, test = _decide(challenger, champion_result, current, alpha)
    label = spec.get("description", "")
    numbers = {k: v for k, v in (test.to_dict() if test else {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    with tempfile.TemporaryDirectory() as tmp:
        run_id, info = log_challenger(
            experiment_id, f"challenger · {label}", spec.get("sweep_run_id", ""), domain.name,
            lambda: log_champion(spec, domain, adapter_dir, name, Path(tmp)), numbers,
            {"decision": reason, "paired_test": test.to_dict() if test else None},
        )
    version = str(info.registered_model_version)
    tags = _version_tags(domain, spec, run_id, promoted, reason, current, test)
    if promoted and test_score is not None:
        tags[f"test_{test_metric}"] = str(test_score)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, tag_key(key), str(value))
    client.update_model_version(name, version, description=f"{label}\n\n{reason}")
    if promoted:
        client.set_registered_model_alias(name, ALIAS, version)
        client.set_registered_model_tag(name, Tag.CHAMPION_REASON, reason[:4900])
    return Decision(name, version, promoted, reason, str(current.version) if current is not None else None, test, test_score if promoted else None)


def record_check(uri: str | None, domain: Domain, result: TrialResult, metric: str) -> dict[str, Any]:
    """Keep the champion's score on a domain version on its model version (``check.<fingerprint>``)."""
    client = registry_client(uri)
    name = registered_name(domain.name)
    current = champion_version(client, name)
    if current is None:
        raise ConfigError(f"domain {domain.name!r} has no champion to check")
    check = {
        "domain_version": domain.version,
        "domain_fingerprint": domain.fingerprint,
        "metric": metric,
        "value": result.metrics.get(metric),
        "questions": result.questions,
        "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    client.set_model_version_tag(name, current.version, Tag.check(domain.fingerprint), json.dumps(check))
    return {"version": str(current.version), **check}


def _version_dict(version: Any, alias_version: str | None) -> dict[str, Any]:
    tags = own_tags(version.tags or {})
    checks = {k[len("check."):]: json.loads(v) for k, v in tags.items() if k.startswith("check.")}
    return {
        "version": str(version.version),
        "champion": str(version.version) == alias_version,
        "decision": tags.get("decision"),
        "reason": tags.get("reason"),
        "strategy": json.loads(tags["strategy"]) if "strategy" in tags else None,
        "domain_version": tags.get("domain_version"),
        "domain_fingerprint": tags.get("domain_fingerprint"),
        "validation": json.loads(tags["validation"]) if "validation" in tags else None,
        "test_accuracy": float(tags["test_accuracy"]) if "test_accuracy" in tags else None,
        "sweep_run_id": tags.get("sweep_run_id"),
        "decided_at": tags.get("decided_at"),
        "previous_champion": tags.get("previous_champion") or None,
        "rolled_back_at": tags.get("rolled_back_at"),
        "checks": checks,
        "source": version.source,
    }


def show(uri: str | None, domain: str) -> dict[str, Any]:
    """The domain's champion and every version with its decision and reason, newest first."""
    from mlflow.exceptions import MlflowException

    client = registry_client(uri)
    name = registered_name(domain)
    try:
        client.get_registered_model(name)
    except MlflowException:
        raise ConfigError(f"domain {domain!r}: no registered model {name!r} in {client.tracking_uri} (no scheduled sweep has run)") from None
    current = champion_version(client, name)
    alias = str(current.version) if current is not None else None
    versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version), reverse=True)
    return {
        "domain": domain,
        "model": name,
        "champion": alias,
        "uri": f"models:/{name}@{ALIAS}",
        "versions": [_version_dict(v, alias) for v in versions],
    }


def rollback(uri: str | None, domain: str) -> dict[str, Any]:
    """Move the alias back to the champion the current one replaced; the current one is tagged rolled back."""
    client = registry_client(uri)
    name = registered_name(domain)
    current = champion_version(client, name)
    if current is None:
        raise ConfigError(f"domain {domain!r}: no champion to roll back (model {name!r})")
    previous = (current.tags or {}).get(Tag.PREVIOUS_CHAMPION)
    if not previous:
        raise ConfigError(f"domain {domain!r}: champion version {current.version} is the first; there is nothing to roll back to")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    client.set_registered_model_alias(name, ALIAS, previous)
    client.set_model_version_tag(name, current.version, Tag.ROLLED_BACK_AT, stamp)
    client.set_model_version_tag(name, current.version, Tag.DECISION, "rolled back")
    reason = f"rolled back from version {current.version} to version {previous} at {stamp}"
    client.set_registered_model_tag(name, Tag.CHAMPION_REASON, reason)
    return {"domain": domain, "model": name, "champion": previous, "rolled_back": str(current.version), "reason": reason}
