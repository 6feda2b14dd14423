"""Experts' feedback on a domain's champion: judgments in, history records and a new domain version out.

A feedback file (CSV or JSONL) has one judgment per row: ``question`` (the question as the
champion was asked it), ``judgment`` (``accept`` | ``reject`` | ``correct``), ``corrected``
(the right answer; required for ``correct``), and optionally ``answer`` (what the champion
answered), ``options`` (a JSON list, for a new multiple-choice question), ``expert`` and
``rationale``. A bad row is an error naming the file and the row, before anything is recorded.

Each judgment is recorded in MLflow as a trace of the champion's answer (in the experiment
``domaintune-feedback``, apart from the sweeps: traces switch the MLflow UI to its GenAI view)
with the expert's verdict as an MLflow 3 feedback assessment and a correction as an
expectation; the champion's model version keeps a summary. The judgments enter the history as
one record (the champion's strategy, metric ``accuracy`` = the share accepted, per-question
outcomes), which meta-learners and warm starts read; corrected answers become rows of a new
version of the domain (an existing question's answer is fixed in place; a new question joins
the train split), which the schedule's ``data_changed`` trigger then picks up.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domaintune.errors import json_objects
from domaintune.errors import ConfigError, DomainError

JUDGMENTS = ("accept", "reject", "correct")
COLUMNS = {"question", "judgment", "corrected", "answer", "options", "expert", "rationale"}
EXPERIMENT = "domaintune-feedback"


def default_feedback_history() -> Path:
    """Where feedback records are kept by default: beside the user's domains."""
    from domaintune.domains import user_domains_dir

    return user_domains_dir().parent / "history" / "feedback.jsonl"


@dataclass
class Judgment:
    row: int
    question: str
    judgment: str
    corrected: str | None = None
    answer: str | None = None
    options: list[str] | None = None
    expert: str = "expert"
    rationale: str = ""


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _judgment(values: dict[str, Any], where: str, number: int) -> Judgment:
    unknown = sorted(set(values) - COLUMNS)
    if unknown:
        raise ConfigError(f"{where}: row {number}: unknown column(s) {', '.join(unknown)}; known: {', '.join(sorted(COLUMNS))}")
    question = _text(values.get("question"))
    if question is None:
        raise ConfigError(f"{where}: row {number}: column 'question' is missing or empty")
    verdict = (_text(values.get("judgment")) or "").lower()
    if verdict not in JUDGMENTS:
        raise ConfigError(f"{where}: row {number}: column 'judgment' is {values.get('judgment')!r}; use one of {', '.join(JUDGMENTS)}")
    corrected = _text(values.get("corrected"))
    if verdict == "correct" and corrected is None:
        raise ConfigError(f"{where}: row {number}: judgment 'correct' needs the right answer in column 'corrected'")
    if verdict == "accept" and corrected is not None:
        raise ConfigError(f"{where}: row {number}: judgment 'accept' with a 'corrected' answer contradicts itself")
    options = values.get("options")
    if isinstance(options, str) and options.strip():
        try:
            options = json.loads(options)
        except json.JSONDecodeError:
            raise ConfigError(f"{where}: row {number}: column 'options' must be a JSON list of strings") from None
    if options in ("", None):
        options = None
    if options is not None and (not isinstance(options, list) or not all(isinstance(o, str) and o.strip() for o in options)):
        raise ConfigError(f"{where}: row {number}: column 'options' must be a list of non-empty strings")
    return Judgment(
        row=number,
        question=question,
        judgment="correct" if verdict == "reject" and corrected else verdict,
        corrected=corrected,
        answer=_text(values.get("answer")),
        options=options,
        expert=_text(values.get("expert")) or "expert",
        rationale=_text(values.get("rationale")) or "",
    )


def read_judgments(path: str | Path) -> list[Judgment]:
    """Judgments from a CSV (header row) or JSONL file; errors name the file and row."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such feedback file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start})") from None
    judgments = []
    if path.suffix.lower() in (".jsonl", ".json"):
        for number, values in json_objects(text.splitlines(), str(path)):
            judgments.append(_judgment(values, str(path), number))
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        for number, values in enumerate(reader, start=1):
            if None in values:
                raise ConfigError(f"{path}: row {number}: more cells than header columns")
            judgments.append(_judgment(dict(values), str(path), number))
    else:
        raise ConfigError(f"{path}: a feedback file is .csv or .jsonl")
    if not judgments:
        raise ConfigError(f"{path}: holds no judgment")
    return judgments


# corrections -> a new domain version ----------------------------------------------------------

def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def _correct_glossary(splits: dict[str, list[dict[str, Any]]], view: str, j: Judgment, found: tuple[str, int] | None, where: str, rng: random.Random) -> bool:
    """Apply one correction to a glossary's splits; True when fixed in place, False when added to train."""
    from domaintune.domains import N_OPTIONS

    assert j.corrected is not None
    field, other = ("definition", "term") if view == "term_to_definition" else ("term", "definition")
    option_field = "options" if field == "definition" else "option_terms"
    if found:
        split, i = found
        row = splits[split][i]
        old = row[field]
        clash = [r for r in splits[split] if r is not row and _key(r[field]) == _key(j.corrected)]
        if clash:
            raise DomainError(f"{where}: row {j.row}: corrected answer {j.corrected!r} is already the {field} of another {split} question")
        # The old answer also stands as a distractor of other questions of the split.
        for r in splits[split]:
            r[option_field] = [j.corrected if o == old else o for o in r[option_field]]
        row[field] = j.corrected
        return True
    train = splits["train"]
    if len(train) < N_OPTIONS - 1:
        raise DomainError(f"{where}: row {j.row}: the train split is too small to draw distractors")
    others = rng.sample(range(len(train)), N_OPTIONS - 1)
    values = {field: j.corrected, other: j.question}
    terms = [train[k]["term"] for k in others] + [values["term"]]
    definitions = [train[k]["definition"] for k in others] + [values["definition"]]
    order = list(range(N_OPTIONS))
    rng.shuffle(order)
    train.append({
        "id": f"train-feedback-{len(train):05d}", "term": values["term"], "definition": values["definition"],
        "options": [definitions[k] for k in order], "option_terms": [terms[k] for k in order],
        "answer": order.index(N_OPTIONS - 1),
    })
    return False


def _correct_row(splits: dict[str, list[dict[str, Any]]], task: str, j: Judgment, found: tuple[str, int] | None, where: str) -> bool:
    """Apply one correction to a QA or multiple-choice domain's splits; True when fixed in place."""
    assert j.corrected is not None
    if task == "qa":
        if found:
            splits[found[0]][found[1]]["answer"] = j.corrected
            return True
        splits["train"].append({"question": j.question, "answer": j.corrected})
        return False
    if found:
        row = splits[found[0]][found[1]]
        if j.corrected in row["options"]:
            row["answer"] = row["options"].index(j.corrected)
        else:
            row["options"][row["answer"]] = j.corrected
        return True
    if not j.options:
        raise DomainError(f"{where}: row {j.row}: a new multiple-choice question needs its 'options'")
    options = list(j.options) if j.corrected in j.options else [*j.options, j.corrected]
    splits["train"].append({"question": j.question, "options": options, "answer": options.index(j.corrected)})
    return False


def _corrected_splits(domain: Any, view: str, judgments: list[Judgment], where: str, seed: int) -> tuple[dict[str, list[dict[str, Any]]], int, int]:
    """The domain's splits with corrections applied: (splits, fixed in place, added to train)."""
    splits = {split: [dict(row) for row in rows] for split, rows in domain.splits.items()}
    viewed = domain.view(view)
    index = {_key(row["question"]): (split, i) for split, rows in viewed.splits.items() for i, row in enumerate(rows)}
    rng = random.Random(seed)
    fixed = added = 0
    for j in (j for j in judgments if j.judgment == "correct"):
        found = index.get(_key(j.question))
        if domain.task == "glossary":
            in_place = _correct_glossary(splits, view, j, found, where, rng)
        else:
            in_place = _correct_row(splits, domain.task, j, found, where)
        fixed, added = fixed + in_place, added + (not in_place)
    return splits, fixed, added


# MLflow: traces with assessments, and a summary on the champion's model version ----------------

def _record_in_mlflow(uri: str | None, domain: Any, version: Any, judgments: list[Judgment], source: str) -> dict[str, Any]:
    from domaintune.champion._registry import registry_client
    from domaintune.tracking import Tag, log_feedback_run, open_experiment

    client = registry_client(uri)
    experiment_id = open_experiment(client, client.tracking_uri, EXPERIMENT)
    model = version.name
    counts = {k: sum(j.judgment == k for j in judgments) for k in JUDGMENTS}
    run_id, trace_ids = log_feedback_run(
        experiment_id,
        f"feedback · {domain.name} · {model} v{version.version}",
        {Tag.DOMAIN: domain.name, Tag.MODEL: model, Tag.MODEL_VERSION: str(version.version), Tag.FEEDBACK_FILE: source},
        domain.version,
        [dataclasses.asdict(j) for j in judgments],
        {f"feedback_{k}": float(v) for k, v in counts.items()},
    )
    summary = {"run_id": run_id, "judgments": len(judgments), **counts, "file": source,
               "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    client.set_model_version_tag(model, version.version, Tag.feedback(run_id), json.dumps(summary))
    return {"run_id": run_id, "experiment": EXPERIMENT, "traces": trace_ids, **counts}


def _feedback_record(domain: Any, view: str, tags: dict[str, str], judgments: list[Judgment], source: str) -> Any:
    """The judgments as one history record: the champion's strategy, the share accepted, per question."""
    from domaintune.history import Record
    from domaintune.runners import question_id
    from domaintune.tracking import Tag

    runner = json.loads(tags.get(Tag.RUNNER, "{}") or "{}")
    outcomes = [1.0 if j.judgment == "accept" else 0.0 for j in judgments]
    value = sum(outcomes) / len(outcomes)
    return Record(
        domain=domain.name, domain_version=domain.version, fingerprint=domain.fingerprint, view=view,
        strategy=json.loads(tags.get(Tag.STRATEGY, "{}")), metric="accuracy", value=value,
        stderr=math.sqrt(value * (1 - value) / len(outcomes)), base_model=runner.get("model", tags.get(Tag.BASE_MODEL, "")),
        split="validation", source=source, questions=len(outcomes),
        question_ids=[question_id({"question": j.question}) for j in judgments], outcomes=outcomes,
    )


def apply_feedback(domain_name: str, path: str | Path, uri: str | None = None, history: str | Path | None = None) -> dict[str, Any]:
    """Record an expert's judgments on ``domain_name``'s champion; return what was written where."""
    from domaintune.champion._registry import champion_version, registered_name, registry_client
    from domaintune.domains import load_domain, next_version, save_version
    from domaintune.tracking import Tag

    path = Path(path)
    judgments = read_judgments(path)  # every row is checked before anything is written
    domain = load_domain(domain_name)
    client = registry_client(uri)
    name = registered_name(domain.name)
    version = champion_version(client, name)
    if version is None:
        raise ConfigError(f"domain {domain_name!r}: no champion in {client.tracking_uri} to give feedback on (model {name!r})")
    tags = version.tags or {}
    view = tags.get(Tag.VIEW) or domain.views[0]

    splits, fixed, added = _corrected_splits(domain, view, judgments, str(path), domain.seed)
    new_domain = None
    if fixed or added:
        candidate = next_version(domain, splits, note=f"{fixed + added} expert corrections from {path.name}", where=f"{path} (corrected)")

    recorded = _record_in_mlflow(uri, domain, version, judgments, str(path))
    record = _feedback_record(domain, view, tags, judgments, f"feedback:{path.name}:mlflow:{recorded['run_id']}")
    history_path = Path(history).expanduser() if history else default_feedback_history()
    history_path.parent.mkdir(parents=True, exist_ok=True)
    with history_path.open("a", encoding="utf-8") as out:
        out.write(record.model_dump_json() + "\n")
    if fixed or added:
        save_version(candidate)
        new_domain = candidate
    return {
        "domain": domain.name,
        "champion": {"model": name, "version": str(version.version)},
        "judgments": len(judgments),
        **{k: recorded[k] for k in JUDGMENTS},
        "accepted_share": record.value,
        "feedback_run_id": recorded["run_id"],
        "traces": len(recorded["traces"]),
        "history": str(history_path),
        "corrections": {"fixed_in_place": fixed, "added_to_train": added},
        "new_version": None if new_domain is None else {"version": new_domain.version, "fingerprint": new_domain.fingerprint},
    }
