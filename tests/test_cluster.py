"""A real two-node Ray cluster on this machine: a sweep through RAY_ADDRESS lands trials on both
nodes (each child run names its node), and the chosen strategy's test score is right whether
its adapter is on the driver's disk or must be retrained (it lived on the other node)."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from domaintune.config import parse_config
from domaintune.domains import save_domain
from domaintune.errors import ConfigError

pytestmark = pytest.mark.slow


@pytest.fixture
def two_nodes(monkeypatch):
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    # Both nodes on the machine's own address: Ray turns a loopback address given to ray.init
    # into that address, so a cluster bound to 127.0.0.1 alone cannot take a driver.
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        monkeypatch.setenv("RAY_ADDRESS", cluster.address)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.mark.heavy
def test_a_sweep_on_two_nodes_records_each_trials_node_and_scores_the_chosen_one(two_nodes, tmp_path, tiny_model_dir, small_domain):
    import ray

    from domaintune.runners import make_runner, score_test
    from domaintune.strategy import Strategy
    from domaintune.sweep import run_sweep

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = parse_config(
        {
            "name": "cluster",
            "domain": str(save_domain(small_domain, tmp_path / "domain")),
            "runner": {"model": tiny_model_dir, "questions": 4, "test_questions": 6, "eval_every": 2},
            "space": {"adapter": "lora", "steps": 2, "batch_size": 2, "lora_rank": [2, 4], "learning_rate": [0.001, 0.01]},
            "search": {"num_samples": 4, "max_concurrent": 2, "scheduler": "fifo", "reuse_actors": True},
            "tracking": {"uri": uri, "experiment": "cluster"},
            "storage": str(tmp_path / "ray"),
        },
        "cluster test",
    )
    result = run_sweep(config, verbose=0)
    assert ray.is_initialized() and len([n for n in ray.nodes() if n["Alive"]]) == 2

    client = MlflowClient(uri)
    children = [r for r in client.search_runs([result.experiment_id]) if r.data.tags.get("domaintune.kind") == "trial"]
    assert len(children) == 4 and {c.info.status for c in children} == {"FINISHED"}
    nodes = {c.data.tags["domaintune.node_id"] for c in children}
    assert nodes == {n["NodeID"] for n in ray.nodes() if n["Alive"]}  # trials landed on both nodes
    parent = client.get_run(result.parent_run_id)
    assert parent.data.tags["domaintune.ray.local"] == "false"  # a cluster's processes are never reaped
    assert parent.data.tags["domaintune.test_adapter"] in {"reused", "retrained"}

    # The test score the sweep recorded is the one the chosen strategy gets both ways: from its
    # adapter where it is on disk, and retrained when the adapter lives on another node.
    best = next(t for t in result.trials if t.trial_id == result.best_trial)
    strategy = Strategy.from_dict(best.strategy)
    runner = make_runner(config.runner)
    domain = config.load_domain()
    retrained = score_test(runner, domain, strategy, best.steps, str(tmp_path / "elsewhere" / "adapter"))
    assert retrained.metrics["accuracy"] == result.test_score == parent.data.metrics["test_accuracy"]
    adapter = next(c for c in children if c.info.run_id == best.run_id).data.tags["domaintune.adapter_dir"]
    reused = score_test(runner, domain, strategy, best.steps, adapter)
    assert reused.metrics["accuracy"] == result.test_score


def test_an_unreachable_address_fails_fast_with_the_address_named(monkeypatch):
    import time

    from domaintune.sweep import init_ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    began = time.perf_counter()
    with pytest.raises(ConfigError, match=r"address: the Ray cluster at '127.0.0.1:9' is unreachable"):
        init_ray("127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"address: 'nonsense' is not host:port"):
        init_ray("nonsense")
    assert time.perf_counter() - began < 15  # ray.init alone retries a dead GCS for minutes
