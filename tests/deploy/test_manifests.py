"""The generated RayJob and CronJob: their Kubernetes shapes, and that the commands they run are
commands the CLI has today (a renamed flag breaks these tests)."""

from __future__ import annotations

import shlex

import pytest
import yaml

from domaintune.config import load_config
from domaintune.deploy import CONFIG_MOUNT, SHARED_MOUNT, STORAGE, k8s_name, poll_cron
from domaintune.schedule import load_schedule
from tests.deploy.conftest import check_command, manifests, run_cli


def _pods(job: dict) -> list[dict]:
    cluster = job["spec"]["rayClusterSpec"]
    return [cluster["headGroupSpec"]["template"]["spec"]] + [g["template"]["spec"] for g in cluster["workerGroupSpecs"]]


def _mounts(pod: dict, config_map: str) -> None:
    """The pod mounts the shared claim at SHARED_MOUNT and the ConfigMap at CONFIG_MOUNT."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    (container,) = pod["containers"]
    mounted = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    assert mounted[SHARED_MOUNT]["persistentVolumeClaim"]["claimName"] == "team-rwx"
    assert mounted[CONFIG_MOUNT]["configMap"]["name"] == config_map
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_TRACKING_URI"]["valueFrom"]["secretKeyRef"] == {"name": "mlflow-prod", "key": "MLFLOW_TRACKING_URI"}


def test_a_rayjob_runs_the_current_sweep_command_on_an_ephemeral_cluster(tmp_path):
    docs = manifests("rayjob", "experiments/replay_sweep.yaml", "--set", "search.num_samples=4", "--workers", "3",
                     "--gpus-per-worker", "2", "--storage-claim", "team-rwx", "--mlflow-secret", "mlflow-prod",
                     "--namespace", "tuning", "--image", "registry.example.com/domaintune:1")
    job, files = docs["RayJob"], docs["ConfigMap"]
    assert (job["apiVersion"], files["apiVersion"]) == ("ray.io/v1", "v1")
    assert job["metadata"]["namespace"] == files["metadata"]["namespace"] == "tuning"
    spec = job["spec"]
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] > 0
    (workers,) = spec["rayClusterSpec"]["workerGroupSpecs"]
    assert workers["replicas"] == workers["minReplicas"] == workers["maxReplicas"] == 3
    assert workers["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert spec["rayClusterSpec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"  # trials run on the workers
    for pod in _pods(job):
        _mounts(pod, files["metadata"]["name"])
        assert pod["containers"][0]["image"] == "registry.example.com/domaintune:1"

    command, params = check_command(spec["entrypoint"])
    assert command.name == "sweep" and params["resume"] is True and params["address"] == "auto"
    # The config the entrypoint names is the ConfigMap's file, and it loads with the entrypoint's overrides.
    config_path = params["config"]
    assert config_path.startswith(CONFIG_MOUNT + "/")
    key = config_path.removeprefix(CONFIG_MOUNT + "/")
    (tmp_path / key).write_text(files["data"][key], encoding="utf-8")
    overrides = dict(item.split("=", 1) for item in params["set_"])
    config = load_config(tmp_path / key, {k: yaml.safe_load(v) for k, v in overrides.items()})
    assert config.storage == STORAGE and STORAGE.startswith(SHARED_MOUNT + "/")  # every node sees it (ray#37177)
    assert (config.name, config.search.num_samples) == ("replay-sweep", 4)


def test_the_check_catches_a_renamed_command_or_flag():
    check_command(["domaintune", "sweep", "c.yaml", "--resume"])
    with pytest.raises(AssertionError, match="has no option"):
        check_command(["domaintune", "sweep", "c.yaml", "--resume-latest"])
    with pytest.raises(AssertionError, match="has no command"):
        check_command(["domaintune", "schedule", "run-all", "s.yaml"])
    with pytest.raises(Exception, match="Missing parameter: file") as missing:
        check_command(["domaintune", "schedule", "run-due"])  # the schedule file is required
    assert type(missing.value).__name__ == "MissingParameter"


def test_a_cronjob_polls_run_due_and_mounts_the_schedule_with_its_configs(tmp_path):
    docs = manifests("cronjob", "experiments/schedule.yaml", "--poll-minutes", "10", "--storage-claim", "team-rwx",
                     "--mlflow-secret", "mlflow-prod")
    cron, files = docs["CronJob"], docs["ConfigMap"]
    assert (cron["apiVersion"], cron["kind"]) == ("batch/v1", "CronJob")
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Forbid" and spec["schedule"] == "*/10 * * * *"
    schedule = load_schedule("experiments/schedule.yaml")
    assert spec["schedule"] not in {entry.cron for entry in schedule.entries}  # run-due decides what is due
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    _mounts(pod, files["metadata"]["name"])
    assert pod["containers"][0]["workingDir"] == SHARED_MOUNT

    command, params = check_command(pod["containers"][0]["command"])
    assert command.name == "run-due" and params["as_json"] is True and params["force"] is False
    # Mounted as one folder, the schedule finds every entry's config beside it.
    assert set(files["data"]) == {"schedule.yaml", "evolving.yaml", "replay_sweep.yaml"}
    for name, text in files["data"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    mounted = load_schedule(tmp_path / params["file"].removeprefix(CONFIG_MOUNT + "/"))
    assert [e.name for e in mounted.entries] == [e.name for e in schedule.entries]
    assert mounted.sweep_config(mounted.entries[0]).name == "law-evolving"


def test_entrypoint_and_command_are_shell_words():
    job = manifests("rayjob", "experiments/demo.yaml", "--set", "search.gpus_per_trial=1")["RayJob"]
    argv = shlex.split(job["spec"]["entrypoint"])
    assert argv[argv.index("--set") + 1] == "search.gpus_per_trial=1"  # the user's override reaches the sweep
    assert argv[-2:] == ["--set", f"storage={STORAGE}"]


@pytest.mark.parametrize("setup, args, message", [
    (None, ("rayjob", "missing.yaml"), "missing.yaml: no such config file"),
    ("name: x\nsearch: {num_sampels: 3}\n", ("rayjob", "{}"), "num_sampels"),
    ("name: x\ntracking: {uri: 'sqlite:///mlflow.db'}\n", ("rayjob", "{}"), "tracking.uri"),
    ("name: x\nsearch: {gpus_per_trial: 2}\n", ("rayjob", "{}", "--gpus-per-worker", "1"), "search.gpus_per_trial"),
    ("name: x\nsearch: {cpus_per_trial: 4}\n", ("rayjob", "{}", "--cpus-per-worker", "2"), "search.cpus_per_trial"),
    ("name: x\n", ("rayjob", "{}", "--set", "storage=/tmp/x"), "--set storage"),
    (None, ("cronjob", "missing.yaml"), "missing.yaml: no such schedule file"),
])
def test_bad_input_exits_2_naming_the_file_and_key(tmp_path, setup, args, message):
    path = tmp_path / "bad.yaml"
    if setup is not None:
        path.write_text(setup)
    code, out, err = run_cli("deploy", *(a.replace("{}", str(path)) for a in args))
    assert code == 2 and out == "", err
    assert message in err and (setup is None or str(path) in err or message == "--set storage")


def test_a_schedule_whose_config_is_not_beside_it_is_refused(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "sweep.yaml").write_text("name: s\n")
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text("entries:\n  - {name: e, config: sub/sweep.yaml, cron: '0 3 * * *'}\n")
    code, _, err = run_cli("deploy", "cronjob", str(schedule))
    assert code == 2 and f"{schedule}: entries.0.config: 'sub/sweep.yaml' must be a file name beside" in err


def test_a_relative_history_path_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.jsonl").write_text("")
    (tmp_path / "c.yaml").write_text("name: c\nrunner: {kind: replay, history: [mine.jsonl]}\n")
    code, _, err = run_cli("deploy", "rayjob", "c.yaml")
    assert code == 2 and "c.yaml: runner.history: 'mine.jsonl' is a relative path" in err


def test_a_config_whose_file_name_cannot_be_a_configmap_key_is_refused(tmp_path):
    (tmp_path / "my sweep.yaml").write_text("name: s\n")
    code, _, err = run_cli("deploy", "rayjob", str(tmp_path / "my sweep.yaml"))
    assert code == 2 and "my sweep.yaml: a file mounted from a ConfigMap needs a name" in err


def test_names_and_poll_crons():
    assert k8s_name("domaintune", "Law_Evolving.v2") == "domaintune-law-evolving-v2"
    assert len(k8s_name("domaintune", "x" * 80)) == 47 and not k8s_name("a", "-" * 60).endswith("-")
    assert (poll_cron(15), poll_cron(60)) == ("*/15 * * * *", "0 * * * *")
    code, _, err = run_cli("deploy", "cronjob", "experiments/schedule.yaml", "--poll-minutes", "0")
    assert code == 2 and "--poll-minutes" in err
