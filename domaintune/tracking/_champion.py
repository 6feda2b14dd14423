"""The champion's runs: a challenger's run (the model it logs) and experts' feedback as traces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domaintune.tracking._schema import Kind, Tag


def log_challenger(
    experiment_id: str, name: str, parent_run_id: str, domain: str, log_model: Callable[[], Any], metrics: dict[str, float], decision: dict[str, Any],
) -> tuple[str, Any]:
    """A challenger's run under its sweep: ``log_model()`` logs the model in it (the active run);
    returns the run id and what ``log_model`` returned."""
    import mlflow

    tags = {"mlflow.parentRunId": parent_run_id, Tag.KIND: Kind.CHALLENGER, Tag.DOMAIN: domain}
    with mlflow.start_run(experiment_id=experiment_id, run_name=name[:250], tags=tags) as run:
        info = log_model()
        mlflow.log_metrics(metrics)
        mlflow.log_dict(decision, "decision.json")
        return run.info.run_id, info


def log_feedback_run(
    experiment_id: str, name: str, tags: dict[str, str], domain_version: str, judgments: list[dict[str, Any]], metrics: dict[str, float],
) -> tuple[str, list[str]]:
    """Experts' judgments as a feedback run: one trace per judged answer, the verdict as an MLflow
    feedback assessment and a correction as an expectation; returns the run id and the trace ids."""
    import mlflow
    from mlflow.entities import AssessmentSource

    trace_ids = []
    with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags={Tag.KIND: Kind.FEEDBACK, **tags}) as run:
        mlflow.set_experiment(experiment_id=experiment_id)  # traces go to the active experiment
        for j in judgments:
            with mlflow.start_span(name=f"{tags[Tag.MODEL]}@champion.predict") as span:
                span.set_inputs({"question": j["question"], **({"options": j["options"]} if j["options"] else {})})
                span.set_outputs({"answer": j["answer"]})
                span.set_attributes({Tag.MODEL: tags[Tag.MODEL], Tag.MODEL_VERSION: tags[Tag.MODEL_VERSION],
                                     Tag.DOMAIN_VERSION: domain_version, Tag.FEEDBACK_ROW: j["row"]})
                trace_ids.append(span.trace_id)
        mlflow.flush_trace_async_logging()
        for j, trace_id in zip(judgments, trace_ids):
            who = AssessmentSource(source_type="HUMAN", source_id=j["expert"])
            mlflow.log_feedback(trace_id=trace_id, name="expert_judgment", value=j["judgment"], rationale=j["rationale"] or None, source=who)
            if j["corrected"]:
                mlflow.log_expectation(trace_id=trace_id, name="expected_answer", value=j["corrected"], source=who)
        mlflow.log_metrics(metrics)
        mlflow.log_dict(judgments, "judgments.json")
        return run.info.run_id, trace_ids
