"""The champion as an ``mlflow.pyfunc`` model: everything a chosen strategy needs to answer.

A logged champion holds ``champion.json`` (the strategy, its prompt template and exemplars, its
retrieval index reference, the runner settings and the scores it was chosen on), the domain
snapshot it was chosen on (``domain/``: the train split its exemplars come from and the corpus
its retrieval index is built from) and, for a training strategy, its trained adapter or soft
prompt (``adapter/``). The base model is referenced by name (``runner.model``), not copied.

``mlflow.pyfunc.load_model("models:/<domain>@champion").predict(rows)`` takes rows with
``question`` and ``options`` and returns the chosen option (``answer``, ``answer_index``),
answered by the same runner code path the sweep scored it with.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow.pyfunc

if TYPE_CHECKING:
    from domaintune.domains import Domain
    from domaintune.runners import TrialResult


class ChampionModel(mlflow.pyfunc.PythonModel):
    """A chosen strategy that answers questions of its domain (see the module docstring)."""

    def load_context(self, context: Any) -> None:
        from domaintune.domains import load_domain_folder

        self.spec = json.loads(Path(context.artifacts["champion"]).read_text())
        domain = load_domain_folder(Path(context.artifacts["domain"]))
        self.domain = dataclasses.replace(domain, view_name=self.spec["view"])
        self.adapter = context.artifacts.get("adapter")

    def _strategy(self) -> Any:
        from domaintune.strategy import Strategy

        strategy = Strategy.from_dict(self.spec["strategy"])
        if strategy.trains and not self.adapter:
            # A full fine-tune keeps no adapter: it is retrained with the same seeds to the same step.
            strategy = strategy.model_copy(update={"steps": self.spec["steps"] or strategy.steps})
        return strategy

    def _runner(self, **changes: Any) -> Any:
        from domaintune.runners import RunnerSettings, make_runner

        return make_runner(RunnerSettings.model_validate({**self.spec["runner"], **changes}))

    def score(self, domain: Domain, split: str = "validation", replay_history: list[str] | None = None) -> TrialResult:
        """Score this champion on another version's ``split`` (its own prompt, exemplars, corpus, adapter).

        A champion chosen by the replay runner answers from a history keyed by domain name;
        ``replay_history`` (the schedule's current one) stands in for the history it was chosen from.
        """
        rows = domain.view(self.spec["view"]).splits[split] if not domain.view_name else domain.splits[split]
        target = dataclasses.replace(self.domain, splits={**self.domain.splits, split: rows})
        changes: dict[str, Any] = {}
        if self.spec["runner"].get("kind") == "replay":
            target = dataclasses.replace(target, name=domain.name)
            if replay_history is not None:
                changes["history"] = tuple(replay_history)
        return self._runner(**changes).run(target, self._strategy(), split=split, load_adapter=self.adapter)

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]  # MLflow reads hints as a schema
        """Rows with ``question`` and ``options`` -> a frame with ``answer_index`` and ``answer``."""
        import pandas as pd

        from domaintune.errors import ConfigError
        from domaintune.runners import scored_rows

        if self.spec["runner"].get("kind") != "lm":
            raise ConfigError(
                f"champion of {self.spec['domain']!r} was chosen by the {self.spec['runner'].get('kind')!r} runner "
                "(a simulated backend answering from a history): it has no model to answer new questions with"
            )
        records = model_input.to_dict("records") if isinstance(model_input, pd.DataFrame) else list(model_input)
        rows = []
        for number, record in enumerate(records, start=1):
            options = record.get("options")
            if hasattr(options, "tolist"):
                options = options.tolist()
            if isinstance(options, str):
                options = json.loads(options)
            if not isinstance(record.get("question"), str) or not isinstance(options, list) or len(options) < 2:
                raise ConfigError(f"predict: row {number}: needs a 'question' string and at least 2 'options'")
            rows.append({"id": str(number - 1), "question": record["question"], "options": [str(o) for o in options], "answer": 0})
        domain = dataclasses.replace(self.domain, splits={**self.domain.splits, "validation": rows})
        seed = int(self.spec["runner"].get("seed", 0))
        order = [int(row["id"]) for row in scored_rows(domain, "validation", 0, seed)]  # the runner's order
        result = self._runner(questions=len(rows)).run(domain, self._strategy(), split="validation", load_adapter=self.adapter)
        picked = [0] * len(rows)
        for position, choice in zip(order, result.predictions or []):
            picked[position] = int(choice)
        return pd.DataFrame({"answer_index": picked, "answer": [row["options"][i] for row, i in zip(rows, picked)]})


def log_champion(
    spec: dict[str, Any], domain: Domain, adapter_dir: str | None, registered_name: str, folder: Path
) -> Any:
    """Log the pyfunc model in the active run and register it; returns the ModelInfo."""
    from domaintune.domains import save_domain

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "champion.json").write_text(json.dumps(spec, indent=2, default=str))
    # A fresh fingerprint: the view's rows are stored, not the glossary they were built from.
    save_domain(dataclasses.replace(domain, fingerprint=""), folder / "domain")
    artifacts = {"champion": str(folder / "champion.json"), "domain": str(folder / "domain")}
    if adapter_dir and (Path(adapter_dir) / "adapter_config.json").exists():
        artifacts["adapter"] = adapter_dir
    return mlflow.pyfunc.log_model(
        name="champion",
        python_model=ChampionModel(),
        artifacts=artifacts,
        registered_model_name=registered_name,
        # Given, not inferred: inference would load the model and probe its imports.
        pip_requirements=["domaintune", "mlflow>=3.0", "torch>=2.4", "transformers>=5.0", "peft>=0.17", "pandas"],
    )
