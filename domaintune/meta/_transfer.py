"""Syne Tune's transfer-learning baselines, replayed on the recorded history.

Each baseline gets the *other* domains' recorded (normalized) scores as Syne Tune
``transfer_learning_evaluations`` and a config space with one categorical hyperparameter,
``strategy``, over the held-out domain's candidate strategy keys. It is then driven in an
ask/tell loop by the leave-one-domain-out benchmark (``_orders.py``).

Syne Tune is optional and imported lazily, only inside these functions. Its full dependency
list pulls xgboost with nvidia-nccl; the Makefile installs syne-tune ``--no-deps`` with
``xgboost-cpu``, which is all three baselines import beyond this project's own dependencies.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

from domaintune.errors import ConfigError
from domaintune.meta._base import normalized_scores
from domaintune.history import History

METHODS = ("syne-zeroshot", "syne-boundingbox", "syne-quantile")

Ask = Callable[[], str | None]
Tell = Callable[[str, float], None]


def missing_package() -> str | None:
    """The module that keeps the Syne Tune baselines from importing (e.g. ``syne_tune``,
    ``xgboost``), or None when they are available."""
    try:
        _classes()
    except ImportError as error:
        return (getattr(error, "name", None) or "syne_tune").split(".")[0]
    return None


def require(method: str) -> None:
    """A clear ConfigError when an explicitly requested Syne Tune baseline cannot run."""
    package = missing_package()
    if package is not None:
        raise ConfigError(
            f"meta method {method!r} needs the Python package {package!r}, which is not importable: "
            "`make install` installs Syne Tune and what its transfer-learning baselines import "
            "(SYNE_PACKAGES in the Makefile)"
        )


def _classes() -> dict[str, Any]:
    from syne_tune.config_space import choice
    from syne_tune.optimizer.schedulers.ask_tell_scheduler import AskTellScheduler
    from syne_tune.optimizer.schedulers.searchers.random_searcher import RandomSearcher
    from syne_tune.optimizer.schedulers.single_objective_scheduler import SingleObjectiveScheduler
    from syne_tune.optimizer.schedulers.transfer_learning.bounding_box import BoundingBox
    from syne_tune.optimizer.schedulers.transfer_learning.quantile_based.quantile_based_searcher import (
        QuantileBasedSurrogateSearcher,
    )
    from syne_tune.optimizer.schedulers.transfer_learning.transfer_learning_task_evaluation import (
        TransferLearningTaskEvaluations,
    )
    from syne_tune.optimizer.schedulers.transfer_learning.zero_shot import ZeroShotTransfer

    return {
        "choice": choice,
        "AskTellScheduler": AskTellScheduler,
        "RandomSearcher": RandomSearcher,
        "SingleObjectiveScheduler": SingleObjectiveScheduler,
        "BoundingBox": BoundingBox,
        "QuantileBasedSurrogateSearcher": QuantileBasedSurrogateSearcher,
        "TransferLearningTaskEvaluations": TransferLearningTaskEvaluations,
        "ZeroShotTransfer": ZeroShotTransfer,
    }


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Syne Tune prints (BoundingBox's box, the quantile searcher's timings) and logs warnings;
    keep them out of ``meta eval --json`` output."""
    logger = logging.getLogger("syne_tune")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def transfer_evaluations(
    train: History, candidates: list[str], config_space: dict[str, Any], objective: str, common: bool = False
) -> dict[str, Any]:
    """Task (domain) -> TransferLearningTaskEvaluations from ``train``'s records only.

    Rows are the candidate strategies recorded on that domain (``common``: only those recorded on
    every training domain, as ZeroShotTransfer requires). The objective is the domain's normalized
    score (``score``, to maximize) or its negation (``loss``, to minimize)."""
    import numpy as np
    import pandas as pd

    classes = _classes()
    scores = normalized_scores(train)
    shared = [k for k in candidates if all(k in s for s in scores.values())]
    out = {}
    for domain, table in sorted(scores.items()):
        keys = [k for k in (shared if common else candidates) if k in table]
        if not keys:
            continue
        sign = 1.0 if objective == "score" else -1.0
        values = np.array([sign * table[k] for k in keys], dtype=float).reshape(-1, 1, 1, 1)  # evals, seeds, fidelities, objectives
        out[domain] = classes["TransferLearningTaskEvaluations"](
            configuration_space=config_space,
            hyperparameters=pd.DataFrame({"strategy": pd.Series(keys, dtype=object)}),
            objectives_names=[objective],
            objectives_evaluations=values,
        )
    return out


def searcher(method: str, train: History, candidates: list[str], seed: int) -> tuple[Ask, Tell]:
    """An ask/tell pair for one baseline, fit on ``train`` (the other domains) only; ``ask`` gives
    a candidate key (None when it has nothing more to suggest), ``tell`` takes its normalized score
    on the held-out domain (higher is better; converted to Syne Tune's direction here)."""
    require(method)
    builders = {"syne-zeroshot": _zeroshot, "syne-boundingbox": _boundingbox, "syne-quantile": _quantile}
    if method not in builders:
        raise ConfigError(f"unknown Syne Tune baseline {method!r}; known: {', '.join(METHODS)}")
    classes = _classes()
    space = {"strategy": classes["choice"](sorted(candidates))}
    return builders[method](classes, space, train, candidates, seed)


def _nothing() -> None:
    return None


def _ignore(key: str, value: float) -> None:
    return None


def _zeroshot(classes: dict[str, Any], space: dict[str, Any], train: History, candidates: list[str], seed: int) -> tuple[Ask, Tell]:
    data = transfer_evaluations(train, candidates, space, "score", common=True)
    if not data:
        return _nothing, _ignore
    with _quiet():
        scheduler = classes["ZeroShotTransfer"](
            config_space=space, metric="score", transfer_learning_evaluations=data, do_minimize=False, random_seed=seed
        )

    # ZeroShotTransfer keeps its greedy rank-based portfolio in get_config(); its suggest()
    # (inherited) would fall through to the default random searcher (syne-tune 0.15/0.16), and
    # results do not change the portfolio, so ask get_config() directly.
    def ask_zeroshot() -> str | None:
        config = scheduler.get_config()
        return None if config is None else str(config["strategy"])

    return ask_zeroshot, _ignore


def _boundingbox(classes: dict[str, Any], space: dict[str, Any], train: History, candidates: list[str], seed: int) -> tuple[Ask, Tell]:
    import numpy as np

    data = transfer_evaluations(train, candidates, space, "score")
    if not data:
        return _nothing, _ignore
    RandomSearcher = classes["RandomSearcher"]

    class SeededRandomSearcher(RandomSearcher):  # type: ignore[misc, valid-type]
        # Syne Tune's RandomSearcher samples from the global numpy state; seed it per run.
        def __init__(self, config_space: dict[str, Any], random_seed: int):
            super().__init__(config_space, random_seed=random_seed)
            self.rng = np.random.RandomState(random_seed)

        def suggest(self) -> dict[str, Any] | None:
            config = self._next_points_to_evaluate()
            if config is None:
                config = {k: v.sample(random_state=self.rng) if hasattr(v, "sample") else v for k, v in self.config_space.items()}
            return config

    def random_in_box(box: dict[str, Any], metric: str, do_minimize: bool, random_seed: int) -> Any:
        return classes["SingleObjectiveScheduler"](
            box, metric, do_minimize, searcher=SeededRandomSearcher(box, random_seed), random_seed=random_seed
        )

    with _quiet():
        base = classes["BoundingBox"](
            random_in_box, config_space=space, metric="score", transfer_learning_evaluations=data, do_minimize=False, random_seed=seed
        )
    return _ask_tell(classes["AskTellScheduler"](base), "score", 1.0)


def _quantile(classes: dict[str, Any], space: dict[str, Any], train: History, candidates: list[str], seed: int) -> tuple[Ask, Tell]:
    data = transfer_evaluations(train, candidates, space, "loss")  # the searcher always minimizes
    if sum(len(d.hyperparameters) for d in data.values()) < 2:  # it holds out 10% to estimate its noise
        return _nothing, _ignore
    Quantile = classes["QuantileBasedSurrogateSearcher"]

    class BatchSampledQuantile(Quantile):  # type: ignore[misc, valid-type]
        # The searcher draws its 100,000 cached candidates one config at a time (seconds per
        # fit); draw the same i.i.d. uniform configs from its own random state in batches.
        def _sample_random_config(self) -> dict[str, Any]:
            batch = getattr(self, "_batch", None)
            if not batch:
                size = 100_000
                columns = {k: v.sample(size=size, random_state=self.random_state) if hasattr(v, "sample") else [v] * size for k, v in self.config_space.items()}
                batch = self._batch = [dict(zip(columns, values)) for values in zip(*columns.values())]
            return batch.pop()

    with _quiet():
        inner = BatchSampledQuantile(config_space=space, transfer_learning_evaluations=data, random_seed=seed)
        base = classes["SingleObjectiveScheduler"](space, "loss", True, searcher=inner, random_seed=seed)
    return _ask_tell(classes["AskTellScheduler"](base), "loss", -1.0)


def _ask_tell(scheduler: Any, metric: str, sign: float) -> tuple[Ask, Tell]:
    pending: list[Any] = []

    def ask() -> str | None:
        with _quiet():
            trial = scheduler.ask()
        pending.append(trial)
        return str(trial.config["strategy"])

    def tell(key: str, value: float) -> None:
        with _quiet():
            scheduler.tell(pending.pop(), {metric: sign * value})

    return ask, tell
