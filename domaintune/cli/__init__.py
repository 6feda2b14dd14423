"""The ``domaintune`` command line: the typer app and where each command is registered.

The commands live in small modules by concern; heavy libraries are imported inside commands only.
"""

from __future__ import annotations

import typer

from domaintune import __version__
from domaintune.cli import _assets, _champion, _deploy, _domains, _meta, _report, _runs, _schedule, _sweep

app = typer.Typer(
    help="Find the best way to specialize an LLM to a domain, and learn from every past domain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"domaintune {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """domaintune: search black-, grey- and white-box strategies for a domain with Ray Tune and MLflow."""


def _group(name: str, description: str) -> typer.Typer:
    group = typer.Typer(help=description, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


# Commands first, then groups: the order `domaintune --help` lists them in.
app.command("sweep")(_sweep.sweep)
app.command("propose")(_meta.propose)
app.command("report")(_report.report)
app.command("ui")(_runs.ui)
app.command("feedback")(_champion.feedback)

runs_app = _group("runs", "Tidy the tracking store: close what crashed sweeps left RUNNING.")
runs_app.command("clean")(_runs.runs_clean)

meta_app = _group("meta", "Meta-learning: evaluate learners on a history.")
meta_app.command("eval")(_meta.meta_eval)
meta_app.command("winners")(_meta.meta_winners)

domains_app = _group("domains", "List, inspect and rebuild domains.")
domains_app.command("list")(_domains.domains_list)
domains_app.command("show")(_domains.domains_show)
domains_app.command("validate")(_domains.domains_validate)
domains_app.command("add")(_domains.domains_add)
domains_app.command("build")(_domains.domains_build)
domains_app.command("release")(_domains.domains_release)

spaces_app = _group("spaces", "List and inspect named search spaces.")
spaces_app.command("list")(_assets.spaces_list)
spaces_app.command("show")(_assets.spaces_show)

model_app = _group("model", "Prepare base models.")
model_app.command("prepare")(_assets.model_prepare)

schedule_app = _group("schedule", "Scheduled sweeps: list entries, run what is due, or serve a scheduler.")
schedule_app.command("list")(_schedule.schedule_list)
schedule_app.command("run-due")(_schedule.schedule_run_due)
schedule_app.command("serve")(_schedule.schedule_serve)

champion_app = _group("champion", "A domain's champion in the MLflow Model Registry.")
champion_app.command("show")(_champion.champion_show)
champion_app.command("rollback")(_champion.champion_rollback)

deploy_app = _group("deploy", "Kubernetes manifests: a KubeRay RayJob per sweep, a CronJob for the schedule.")
deploy_app.command("rayjob")(_deploy.deploy_rayjob)
deploy_app.command("cronjob")(_deploy.deploy_cronjob)

__all__ = ["app"]
