"""No strategy evaluated twice: a point already scored is answered from its record, and the search is told.

TPE on a small categorical space proposes points it has already tried (optuna#1547, #2021).
``Answering`` wraps the sweep's searcher (``ConcurrencyLimiter(OptunaSearch)``) and sees each
point before its trial starts. A point whose strategy (its active levers) this sweep already
scored, or an earlier sweep of the same data, model and runner settings did (the warm start's
``EarlierResult`` with a run), becomes a trial that carries the recorded result in its config
under ``ANSWER``: the trial reports it at once without running, so Ray, ASHA and Optuna see it
exactly like a real result. A point whose strategy is running now waits for that trial (one
point waits at a time, and nothing new is asked of the search meanwhile), then is answered by
it, or runs when it failed or was stopped early: those answer nothing.

Imported only when a sweep runs: it subclasses Ray Tune's ``Searcher``, so importing it imports Ray.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from ray.tune.search import Searcher

from domaintune.history import strategy_key

if TYPE_CHECKING:
    from domaintune.search_spaces import SearchSpace

# The config key of an answered trial. Its value is one JSON text, {"result", then "run_id" or
# "trial_id"}, so Ray's tables show one line that ends with where the answer came from.
ANSWER = "answered_from"


def split_answer(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A trial's config as the sampled point and the recorded answer it carries (None: it runs)."""
    point = {k: v for k, v in config.items() if k != ANSWER}
    return point, json.loads(config[ANSWER]) if ANSWER in config else None


def answer_of(result: dict[str, Any], metrics: list[str]) -> dict[str, Any]:
    """Of a trial's final result, what answers a repeat: its metrics, costs, step, adapter and folder."""
    keep = set(metrics) | {"train_loss", "step", "adapter_dir", "trial_dir"}
    return {k: v for k, v in result.items() if k in keep or k.startswith("cost.")}


class Answering(Searcher):
    """The sweep's searcher, with every repeat of a scored strategy answered from its record.

    ``answers`` maps a strategy key to ``{"run_id": ..., "result": ...}`` (earlier sweeps, a
    resumed sweep's finished trials); this sweep's own scored trials are added as
    ``{"trial_id": ..., "result": ...}`` (the recorder names their runs).
    """

    def __init__(self, searcher: Searcher, space: SearchSpace, answers: dict[str, dict[str, Any]] | None = None) -> None:
        self.searcher = searcher  # the name Ray's save and restore walk the wrappers by
        self.space = space
        self.answers: dict[str, dict[str, Any]] = dict(answers or {})
        self.running: dict[str, dict[str, Any]] = {}  # trial id -> point, of trials that run
        self.answered: set[str] = set()  # trials answered from a record
        self.waiting: tuple[str, dict[str, Any]] | None = None  # (the search's trial id, point): a repeat of a running strategy
        self.alias: dict[str, str] = {}  # a waiting point's trial id in Ray -> its id in the search
        # New trials it may still start (None: as many as Ray asks for). A resumed sweep whose
        # MLflow holds finished trials Ray's last saved state did not sets it, so the sweep
        # still ends at its num_samples.
        self.budget: int | None = None
        super().__init__(metric=searcher.metric, mode=searcher.mode)

    def key(self, point: dict[str, Any]) -> str:
        return strategy_key(self.space.strategy(point).active())

    def learn(self, point: dict[str, Any], answer: dict[str, Any]) -> None:
        """A scored strategy this searcher has not seen (a resumed sweep's finished trial) answers its repeats."""
        self.answers.setdefault(self.key(point), answer)

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return self.searcher.set_search_properties(metric, mode, config, **spec)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        return self.searcher.set_max_concurrency(max_concurrent)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.budget is not None and self.budget <= 0:
            return Searcher.FINISHED
        point = self._suggest(trial_id)
        if self.budget is not None and point is not None and point != Searcher.FINISHED:
            self.budget -= 1
        return point

    def _suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.waiting is not None:
            inner_id, point = self.waiting
            if self.key(point) in {self.key(p) for p in self.running.values()}:
                return None  # its strategy is still running: ask again at Ray's next step
            self.waiting = None
            self.alias[trial_id] = inner_id
            return self._answer_or_run(trial_id, point)
        point = self.searcher.suggest(trial_id)
        if point is None or point == Searcher.FINISHED:
            return point
        key = self.key(point)
        if key not in self.answers and key in {self.key(p) for p in self.running.values()}:
            self.waiting = (trial_id, point)
            return None
        return self._answer_or_run(trial_id, point)

    def _answer_or_run(self, trial_id: str, point: dict[str, Any]) -> dict[str, Any]:
        answer = self.answers.get(self.key(point))
        if answer is None:
            self.running[trial_id] = point
            return point
        self.answered.add(trial_id)
        source = {k: v for k, v in answer.items() if k != "result"}
        return {**point, ANSWER: json.dumps({"result": answer["result"], **source}, default=str)}

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.searcher.on_trial_result(self.alias.get(trial_id, trial_id), result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        point = self.running.pop(trial_id, None)
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        if point is not None and result and not error and all(m in result for m in metrics) and not self._cut(point, result):
            self.answers.setdefault(self.key(point), {"trial_id": trial_id, "result": answer_of(result, metrics)})
        self.searcher.on_trial_complete(self.alias.pop(trial_id, trial_id), result=result, error=error)

    def _cut(self, point: dict[str, Any], result: dict) -> bool:
        """A trial stopped before its last step (ASHA) scored less than its strategy: it answers nothing."""
        return self.space.strategy(point).cut_short(int(result.get("step", 0)))

    def add_evaluated_point(self, parameters: dict, value: float, error: bool = False, pruned: bool = False, intermediate_values: Any = None) -> None:
        self.searcher.add_evaluated_point(parameters, value, error, pruned, intermediate_values)

    def get_state(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("searcher", "space")}
        return copy.deepcopy(state)

    def set_state(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def save(self, checkpoint_path: str) -> None:
        self.searcher.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.searcher.restore(checkpoint_path)
