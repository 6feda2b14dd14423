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


def _corrected_splits(domain: Any, view: str, judgments: list[Judgment], where: str, seed: int) -> tuple[dict[str, list[dict[str, Any]]], int, int]:
    """The domain's splits with corrections applied: (splits, fixed in place, added to train)."""
    from domaintune.domains import N_OPTIONS

    splits = {split: [dict(row) for row in rows] for split, rows in domain.splits.items()}
    viewed = domain.view(view)
    index = {_key(row["question"]): (split, i) for split, rows in viewed.splits.items() for i, row in enumerate(rows)}
    rng = random.Random(seed)
    fixed = added = 0
    for j in (j for j in judgments if j.judgment == "correct"):
        assert j.corrected is not None
        found = index.get(_key(j.question))
        if domain.task == "glossary":
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
                fixed += 1
            else:
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
                added += 1
        elif domain.task == "qa":
            if found:
                splits[found[0]][found[1]]["answer"] = j.corrected
                fixed += 1
            else:
                splits["train"].append({"question": j.question, "answer": j.corrected})
                added += 1
        else:
            if found:
                row = splits[found[0]][found[1]]
                if j.corrected in row["options"]:
                    row["answer"] = row["options"].index(j.corrected)
                else:
                    row["options"][row["answer"]] = j.corrected
                fixed += 1
            else:
                if not j.options:
                    raise DomainError(f"{where}: row {j.row}: a new multiple-choice question needs its 'options'")
                options = list(j.options) if j.corrected in j.options else [*j.options, j.corrected]
                splits["train"].append({"question": j.question, "options": options, "answer": options.index(j.corrected)})
                added += 1
    return splits, fixed, added


# MLflow: traces with assessments, and a summary on the champion's model version ----------------

def _record_in_mlflow(uri: str | None, domain: Any, version: Any, spec: dict[str, Any], judgments: list[Judgment], source: str) -> dict[str, Any]:
    import mlflow
    from mlflow.entities import AssessmentSource

    from domaintune.champion._registry import registry_client
    from domaintune.tracking import open_experiment

    client = registry_client(uri)
    experiment_id = open_experiment(client, client.tracking_uri, EXPERIMENT)
    model = version.name
    trace_ids = []
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=f"feedback · {domain.name} · {model} v{version.version}",
        tags={"domaintune.kind": "feedback", "domaintune.domain": domain.name, "domaintune.model": model,
              "domaintune.model_version": str(version.version), "domaintune.feedback_file": source},
    ) as run:
        mlflow.set_experiment(experiment_id=experiment_id)  # traces go to the active experiment
        for j in judgments:
            with mlflow.start_span(name=f"{model}@champion.predict") as span:
                span.set_inputs({"question": j.question, **({"options": j.options} if j.options else {})})
                span.set_outputs({"answer": j.answer})
                span.set_attributes({"domaintune.model": model, "domaintune.model_version": str(version.version),
                                     "domaintune.domain_version": domain.version, "domaintune.feedback_row": j.row})
                trace_ids.append(span.trace_id)
        mlflow.flush_trace_async_logging()
        for j, trace_id in zip(judgments, trace_ids):
            who = AssessmentSource(source_type="HUMAN", source_id=j.expert)
            mlflow.log_feedback(trace_id=trace_id, name="expert_judgment", value=j.judgment, rationale=j.rationale or None, source=who)
            if j.corrected:
                mlflow.log_expectation(trace_id=trace_id, name="expected_answer", value=j.corrected, source=who)
        counts = {k: sum(j.judgment == k for j in judgments) for k in JUDGMENTS}
        mlflow.log_metrics({f"feedback_{k}": float(v) for k, v in counts.items()})
        mlflow.log_dict([dataclasses.asdict(j) for j in judgments], "judgments.json")
        run_id = run.info.run_id
    summary = {"run_id": run_id, "judgments": len(judgments), **counts, "file": source,
               "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    client.set_model_version_tag(model, version.version, f"domaintune.feedback.{run_id}", json.dumps(summary))
    return {"run_id": run_id, "experiment": EXPERIMENT, "traces": trace_ids, **counts}


def apply_feedback(domain_name: str, path: str | Path, uri: str | None = None, history: str | Path | None = None) -> dict[str, Any]:
    """Record an expert's judgments on ``domain_name``'s champion; return what was written where."""
    from domaintune.champion._registry import champion_version, registered_name, registry_client
    from domaintune.domains import load_domain, next_version, save_version
    from domaintune.history import History, Record
    from domaintune.runners import question_id

    path = Path(path)
    judgments = read_judgments(path)  # every row is checked before anything is written
    domain = load_domain(domain_name)
    client = registry_client(uri)
    name = registered_name(domain.name)
    version = champion_version(client, name)
    if version is None:
        raise ConfigError(f"domain {domain_name!r}: no champion in {client.tracking_uri} to give feedback on (model {name!r})")
    tags = version.tags or {}
    view = tags.get("domaintune.view") or domain.views[0]
    strategy = json.loads(tags.get("domaintune.strategy", "{}"))
    runner = json.loads(tags.get("domaintune.runner", "{}") or "{}")

    splits, fixed, added = _corrected_splits(domain, view, judgments, str(path), domain.seed)
    new_domain = None
    if fixed or added:
        candidate = next_version(domain, splits, note=f"{fixed + added} expert corrections from {path.name}", where=f"{path} (corrected)")

    recorded = _record_in_mlflow(uri, domain, version, {"view": view}, judgments, str(path))
    outcomes = [1.0 if j.judgment == "accept" else 0.0 for j in judgments]
    value = sum(outcomes) / len(outcomes)
    record = Record(
        domain=domain.name,
        domain_version=domain.version,
        fingerprint=domain.fingerprint,
        view=view,
        strategy=strategy,
        metric="accuracy",
        value=value,
        stderr=math.sqrt(value * (1 - value) / len(outcomes)),
        base_model=runner.get("model", tags.get("domaintune.base_model", "")),
        split="validation",
        source=f"feedback:{path.name}:mlflow:{recorded['run_id']}",
        questions=len(outcomes),
        question_ids=[question_id({"question": j.question}) for j in judgments],
        outcomes=outcomes,
    )
    history_path = Path(history).expanduser() if history else default_feedback_history()
    history_path.parent.mkdir(parents=True, exist_ok=True)
    with history_path.open("a", encoding="utf-8") as out:
        out.write(History([record]).records[0].model_dump_json() + "\n")
    if fixed or added:
        save_version(candidate)
        new_domain = candidate
    return {
        "domain": domain.name,
        "champion": {"model": name, "version": str(version.version)},
        "judgments": len(judgments),
        **{k: recorded[k] for k in JUDGMENTS},
        "accepted_share": value,
        "feedback_run_id": recorded["run_id"],
        "traces": len(recorded["traces"]),
        "history": str(history_path),
        "corrections": {"fixed_in_place": fixed, "added_to_train": added},
        "new_version": None if new_domain is None else {"version": new_domain.version, "fingerprint": new_domain.fingerprint},
    }
