"""The RayJob's entrypoint, run the way KubeRay runs it, on a real local Ray shaped like the
RayJob's cluster: a head with no CPUs and a worker node; ``RAY_ADDRESS`` set to the cluster (as
Ray's job supervisor sets it for an entrypoint), the config read from the ConfigMap's folder, the
pod's environment, and the sweep's Ray storage on the "shared volume" (a folder here)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest
import yaml
from mlflow.tracking import MlflowClient

from domaintune.deploy import CONFIG_MOUNT, SHARED_MOUNT
from domaintune.tracking import Tag
from tests.deploy.conftest import manifests

pytestmark = pytest.mark.heavy


@pytest.fixture
def rayjob_cluster():
    """Head ``num-cpus: '0'`` (the manifest's rayStartParams) and one worker node with 2 CPUs."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()


def test_the_entrypoint_runs_the_sweep_on_the_jobs_cluster_and_stores_on_the_shared_volume(rayjob_cluster, tmp_path):
    docs = manifests("rayjob", "experiments/replay_sweep.yaml", "--set", "search.num_samples=4",
                     "--gpus-per-worker", "0", "--cpus-per-worker", "2")
    mounted, shared = tmp_path / "etc", tmp_path / "mnt"
    mounted.mkdir()
    for name, text in docs["ConfigMap"]["data"].items():
        (mounted / name).write_text(text, encoding="utf-8")
    entrypoint = docs["RayJob"]["spec"]["entrypoint"].replace(CONFIG_MOUNT, str(mounted)).replace(SHARED_MOUNT, str(shared))
    argv = shlex.split(entrypoint)
    assert argv[0] == "domaintune"
    (worker,) = docs["RayJob"]["spec"]["rayClusterSpec"]["workerGroupSpecs"]
    pod_env = {e["name"]: e["value"].replace(SHARED_MOUNT, str(shared)) for e in worker["template"]["spec"]["containers"][0]["env"]
               if "value" in e}
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # what the Secret would hold
    env = {**os.environ, **pod_env, "MLFLOW_TRACKING_URI": uri, "RAY_ADDRESS": rayjob_cluster.address}
    done = subprocess.run([sys.executable, "-m", "domaintune", *argv[1:]], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    assert list(shared.glob("ray_results/**/experiment_state*.json")), "Tune's state is on the shared volume"
    assert not (tmp_path / ".domaintune").exists()  # nothing in the default, node-local place
    config = yaml.safe_load(docs["ConfigMap"]["data"]["replay_sweep.yaml"])
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(config["tracking"]["experiment"])
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) >= 2 and {run.info.status for run in runs} == {"FINISHED"}
    # The trials ran on the job's cluster, on its worker node (the head has no CPUs), not on a local Ray.
    worker_node = [node for node in rayjob_cluster.list_all_nodes() if node is not rayjob_cluster.head_node][0]
    trial_nodes = {run.data.tags[Tag.NODE_ID] for run in runs if Tag.NODE_ID in run.data.tags}
    assert trial_nodes == {worker_node.node_id}
