"""The ``domaintune`` command line. Heavy libraries are imported inside commands only."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from typing import Any, Optional

import typer

from domaintune import __version__
from domaintune.errors import ConfigError, DomainError, DomaintuneError

app = typer.Typer(
    help="Find the best way to specialize an LLM to a domain, and learn from every past domain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
domains_app = typer.Typer(help="List, inspect and rebuild domains.", no_args_is_help=True)
spaces_app = typer.Typer(help="List and inspect named search spaces.", no_args_is_help=True)
model_app = typer.Typer(help="Prepare base models.", no_args_is_help=True)
meta_app = typer.Typer(help="Meta-learning: evaluate learners on a history.", no_args_is_help=True)
runs_app = typer.Typer(help="Tidy the tracking store: close what crashed sweeps left RUNNING.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(meta_app, name="meta")
app.add_typer(domains_app, name="domains")
app.add_typer(spaces_app, name="spaces")
app.add_typer(model_app, name="model")

EXIT_FAILURE, EXIT_USAGE, EXIT_BUSY, EXIT_INTERRUPTED = 1, 2, 3, 130


def _guarded(action: Callable[[], Any]) -> Any:
    """Run a command body; turn our errors into a one-paragraph message and an exit code."""
    try:
        return action()
    except (ConfigError, DomainError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except DomaintuneError as error:
        from domaintune.sweep import SweepBusyError

        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BUSY if isinstance(error, SweepBusyError) else EXIT_FAILURE) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: open MLflow runs were marked KILLED", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"domaintune {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """domaintune: search black-, grey- and white-box strategies for a domain with Ray Tune and MLflow."""


def _parse_set(items: list[str]) -> dict[str, Any]:
    import yaml

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. search.num_samples=16")
        overrides[key] = yaml.safe_load(value)
    return overrides


@app.command()
def sweep(
    config: str = typer.Argument(..., help="Sweep config, e.g. experiments/quickstart.yaml."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default $RAY_ADDRESS, else local)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: --set search.num_samples=16."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No Ray progress table."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the latest unfinished sweep of this config (same MLflow run, same Ray storage); start one if none."
    ),
    allow_duplicate: bool = typer.Option(
        False, "--allow-duplicate", help="Run even if the same sweep is already running (otherwise refused, exit 3)."
    ),
) -> None:
    """Run a sweep: evaluate strategies in parallel, record them in MLflow, score the best on test."""

    def body() -> None:
        from domaintune.config import load_config
        from domaintune.cli._print import print_sweep_result
        from domaintune.sweep import run_sweep

        cfg = load_config(config, _parse_set(set_))
        # With --json, stdout carries the JSON alone: Ray's own printing goes to stderr.
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            result = run_sweep(cfg, address=address, verbose=0 if quiet or as_json else 1, resume=resume, allow_duplicate=allow_duplicate)
        if as_json:
            _print_json(result.to_dict())
        else:
            print_sweep_result(result)
        if result.interrupted:
            raise KeyboardInterrupt
        if result.best_trial is None:
            typer.echo("error: no trial finished; see the FAILED runs in MLflow", err=True)
            raise typer.Exit(EXIT_FAILURE)

    _guarded(body)


@app.command("propose")
def propose_command(
    domain: str = typer.Option(..., "--domain", help="Domain name or folder."),
    n: int = typer.Option(5, "-n", help="How many strategies."),
    learner: Optional[str] = typer.Option(
        None, help="random | nearest | portfolio | surrogate (default: the best one leaving one domain out, see docs/meta_lodo.md)."
    ),
    view: Optional[str] = typer.Option(None, help="The domain's view (default: its first)."),
    history: list[str] = typer.Option([], "--history", help="History files (default: the shipped seed history)."),
    experiment: Optional[str] = typer.Option(None, help="Also learn from this MLflow experiment's trials."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Propose strategies for a domain from the history of other domains, with the reason for each."""

    def body() -> None:
        from domaintune.domains import load_domain
        from domaintune.meta import load_history, propose
        from domaintune.config import DEFAULT_LEARNER
        from domaintune.strategy import Strategy

        target = load_domain(domain).view(view)
        proposals = propose(target, load_history(list(history), None, experiment), learner or DEFAULT_LEARNER, n)
        if as_json:
            _print_json([{"strategy": p.strategy, "reason": p.reason, "predicted": p.predicted, "predicted_cost_seconds": p.predicted_cost} for p in proposals])
            return
        for i, proposal in enumerate(proposals, start=1):
            notes = [f"predicted {proposal.predicted:.2f} of the best"] if proposal.predicted is not None else []
            notes += [f"about {proposal.predicted_cost:.0f} CPU-s"] if proposal.predicted_cost is not None else []
            suffix = f" ({'; '.join(notes)})" if notes else ""
            typer.echo(f"{i}. {Strategy.from_dict(proposal.strategy).describe()}\n   {proposal.reason}{suffix}")

    _guarded(body)


@meta_app.command("eval")
def meta_eval(
    history: list[str] = typer.Option([], "--history", help="History files (default: the shipped seed history)."),
    view: Optional[str] = typer.Option(
        None, "--view", help="Of a domain recorded in several views, use this one's records (a table holds one view per domain)."
    ),
    seeds: int = typer.Option(5, help="Seeds for the random and TPE baselines and the surrogate."),
    features: str = typer.Option(
        "data,corpus", help="Meta-feature groups the learners see: data, corpus, probe (runs the base model once per domain), embedding."
    ),
    bootstrap: int = typer.Option(1000, min=0, help="Bootstrap replicates (over domains and questions) for the 95% intervals; 0: none."),
    as_json: bool = typer.Option(
        False, "--json", help="Per method and k: mean regret with its 95% interval, rank, gap; samples, cells, paired comparisons."
    ),
) -> None:
    """Leave-one-domain-out benchmark of every learner against the exact random expectation, the single best strategy,
    cold-start and warm-started TPE and Syne Tune's transfer baselines, with 95% intervals and paired tests."""

    def body() -> None:
        from domaintune.domains import load_domain
        from domaintune.meta import domain_features, leave_one_domain_out, load_history, markdown

        groups = tuple(g.strip() for g in features.split(",") if g.strip())
        records = load_history(list(history))
        records = records.in_view(view) if view else records
        views = {(r.domain, r.view) for r in records}
        values = {d: domain_features(load_domain(d).view(v or None), groups) for d, v in views}
        table = leave_one_domain_out(records, values, seeds=tuple(range(seeds)), bootstrap=bootstrap)
        table["features"] = list(groups)
        typer.echo(json.dumps(table, indent=2) if as_json else markdown(table), nl=not as_json)

    _guarded(body)


@meta_app.command("winners")
def meta_winners(
    history: list[str] = typer.Option([], "--history", help="History files (default: the shipped seed history)."),
    view: Optional[str] = typer.Option(
        None, "--view", help="Of a domain recorded in several views, use this one's records (a table holds one view per domain)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Per domain: best strategy, gap to the single best and whether it is beyond noise; per level."),
) -> None:
    """Which strategy wins where: each domain's best against the single best strategy (paired test on shared
    questions), how many domains differ beyond noise, and the domains each level (black, grey, white box) wins."""

    def body() -> None:
        from domaintune.meta import load_history, winners, winners_markdown

        records = load_history(list(history))
        report = winners(records.in_view(view) if view else records)
        if as_json:
            _print_json(report)
        else:
            typer.echo(winners_markdown(report), nl=False)

    _guarded(body)


@runs_app.command("clean")
def runs_clean(
    uri: Optional[str] = typer.Option(None, "--uri", help="Tracking URI (default $MLFLOW_TRACKING_URI, else ./mlflow.db)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", help="Only this experiment (default: every experiment)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be closed; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Close what crashed sweeps left RUNNING (mark KILLED) and kill their leftover local Ray processes.

    A sweep whose driver is alive (its process on this host, or a fresh heartbeat from another)
    is never touched; one without driver tags (an older release) is listed as unknown.
    """

    def body() -> None:
        from domaintune.sweep import clean_runs

        report = clean_runs(uri, experiment, dry_run)
        if as_json:
            _print_json(report)
            return
        verb = "would close" if dry_run else "closed"
        for row in report["closed"]:
            extra = f", killed Ray pids {row['ray_pids_killed']}" if row.get("ray_pids_killed") else ""
            typer.echo(f"{verb} sweep {row['name']} ({row['run_id']}): driver pid {row['pid']} on {row['host']} is gone; "
                       f"{len(row.get('closed', []))} run(s) marked KILLED{extra}")
        for row in report["orphans"]:
            typer.echo(f"{verb} trial run {row['name']} ({row['run_id']}): its sweep is {row['parent_status']}")
        for row in report["alive"]:
            typer.echo(f"left alone: sweep {row['name']} ({row['run_id']}) is running (pid {row['pid']} on {row['host']})")
        for row in report["unknown"]:
            typer.echo(f"left alone: sweep {row['name']} ({row['run_id']}) has no driver tags (an older release); close it in the MLflow UI")
        if not any(report[k] for k in ("closed", "orphans", "alive", "unknown")):
            typer.echo(f"nothing RUNNING in {report['tracking_uri']}")

    _guarded(body)


@app.command("report")
def report_command(
    sweep_run_id: Optional[str] = typer.Argument(None, help="A sweep's MLflow run id (printed by `domaintune sweep`)."),
    domain: Optional[str] = typer.Option(None, "--domain", help="Report on one domain: every sweep and version, champion, feedback."),
    history: bool = typer.Option(False, "--history", help="Report on the history as the meta-learner sees it (leave one domain out)."),
    html_path: Optional[str] = typer.Option(None, "--html", help="Write one self-contained HTML file (opens offline)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    uri: Optional[str] = typer.Option(None, help="Tracking URI (default as for sweeps)."),
    history_file: list[str] = typer.Option([], "--history-file", help="History files for --history / --domain (default: the shipped seed history)."),
    experiment: Optional[str] = typer.Option(None, help="--history: also learn from this MLflow experiment's trials."),
    learner: Optional[str] = typer.Option(None, help="--history: the learner to hold domains out with (default: the configured default)."),
    n: int = typer.Option(3, "-n", help="--history: proposals per held-out domain."),
) -> None:
    """A report for people: one sweep, one domain, or the whole history; terminal, --json or --html."""

    def body() -> None:
        from pathlib import Path

        chosen = [x for x in (sweep_run_id, domain, history or None) if x]
        if len(chosen) != 1:
            raise ConfigError("report: give exactly one of SWEEP_RUN_ID, --domain NAME or --history")
        from domaintune import reports
        from domaintune.tracking import resolve_tracking_uri

        def client() -> Any:
            from mlflow.tracking import MlflowClient

            from domaintune.tracking import check_reachable

            store = resolve_tracking_uri(uri)
            check_reachable(store)
            return MlflowClient(tracking_uri=store)

        if sweep_run_id:
            mlflow_client = client()
            inputs = reports.load_sweep(mlflow_client, sweep_run_id)
            data = reports.sweep_report(inputs)
            render, show = (lambda: reports.sweep_html(inputs, data)), reports.print_sweep_report
        elif domain:
            data = reports.domain_report(client(), domain, list(history_file))
            render, show = (lambda: reports.domain_html(data)), reports.print_domain_report
        else:
            from domaintune.config import DEFAULT_LEARNER
            from domaintune.meta import REGISTRY, load_history

            name = learner or DEFAULT_LEARNER
            if name not in REGISTRY:
                raise ConfigError(f"--learner: unknown {name!r}; known: {', '.join(sorted(REGISTRY))}")
            records = load_history(list(history_file), resolve_tracking_uri(uri) if experiment else None, experiment)
            data = reports.history_report(records, name, n)
            render, show = (lambda: reports.history_html(data)), reports.print_history_report
        if html_path:
            Path(html_path).write_text(render())
            data["html"] = str(Path(html_path).resolve())
        if as_json:
            _print_json(data)
        elif html_path:
            typer.echo(f"wrote {data['html']}")
        else:
            show(data)

    _guarded(body)


@app.command()
def ui(
    port: int = typer.Option(5000, help="Port for the MLflow UI."),
    uri: Optional[str] = typer.Option(None, help="Tracking URI (default as for sweeps)."),
) -> None:
    """Open the MLflow UI on the same store the sweeps write to."""
    import os
    import subprocess

    from domaintune.tracking import resolve_tracking_uri

    from domaintune.tracking import experiment_links

    store = _guarded(lambda: resolve_tracking_uri(uri))
    base = f"http://127.0.0.1:{port}"
    typer.echo(f"MLflow UI for {store} at {base}")
    # MLflow 3.17 opens an experiment on its GenAI overview; these links land on the runs table.
    for line in experiment_links(store, base):
        typer.echo(line)
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store, "--host", "127.0.0.1", "--port", str(port)]
    raise typer.Exit(subprocess.call(command, env=env))


def _domain_row(meta: dict[str, Any], origin: str) -> dict[str, Any]:
    coverage = meta.get("stats", {}).get("corpus_coverage", {})
    return {**meta, "origin": origin, "corpus_coverage": next(iter(coverage.values()), None)}


@domains_app.command("list")
def domains_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Built-in and user domains: task, views, sizes, licence, corpus coverage, fingerprint."""

    def body() -> None:
        from domaintune.domains import BUILTIN_DIR, builtin_domain_names, user_domain_names, user_domains_dir

        rows = [_domain_row(json.loads((BUILTIN_DIR / n / "domain.json").read_text()), "built-in") for n in builtin_domain_names()]
        rows += [_domain_row(json.loads((user_domains_dir() / n / "domain.json").read_text()), "user") for n in user_domain_names()]
        if as_json:
            _print_json(rows)
            return
        from domaintune.reports import print_table

        print_table(
            f"{len(rows)} domains",
            ["name", "origin", "task", "train", "val", "test", "corpus", "coverage", "licence", "fingerprint"],
            [
                [
                    r["name"], r["origin"], r["task"], *[str(r["sizes"][s]) for s in ("train", "validation", "test")],
                    str(r.get("corpus_passages", 0)),
                    "-" if r["corpus_coverage"] is None else f"{r['corpus_coverage']:.0%}",
                    r["licence"], r["fingerprint"],
                ]
                for r in rows
            ],
        )

    _guarded(body)


@domains_app.command("show")
def domains_show(
    name: str = typer.Argument(..., help="Domain name or domain folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    examples: int = typer.Option(2, help="Validation questions to show per view."),
) -> None:
    """One domain's metadata and a few questions in each view (the data is validated on load)."""

    def body() -> None:
        from domaintune.domains import load_domain

        domain = load_domain(name)
        views = {view: domain.view(view).splits["validation"][:examples] for view in domain.views}
        if as_json:
            _print_json({**domain.summary(), "examples": views})
            return
        for key, value in domain.summary().items():
            typer.echo(f"{key:16} {value}")
        for view, rows in views.items():
            for row in rows:
                typer.echo(f"\n[{view}] {row['question']}")
                for i, option in enumerate(row["options"]):
                    typer.echo(f"  {'*' if i == row['answer'] else ' '} {option}")

    _guarded(body)


@domains_app.command("validate")
def domains_validate(
    names: list[str] = typer.Argument(None, help="Domain names or folders (default: every domain)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check schema, split disjointness and fingerprint; exit 2 naming the first bad file, row and column."""

    def body() -> None:
        from domaintune.domains import builtin_domain_names, load_domain, user_domain_names

        checked = []
        for name in names or builtin_domain_names() + user_domain_names():
            domain = load_domain(name)
            checked.append({"name": domain.name, "fingerprint": domain.fingerprint, "sizes": domain.sizes})
            if not as_json:
                typer.echo(f"ok  {domain.name:24} {domain.fingerprint}  {domain.sizes}")
        if as_json:
            _print_json(checked)

    _guarded(body)


@domains_app.command("add")
def domains_add(
    name: str = typer.Argument(..., help="Name for the new domain."),
    train: str = typer.Option(..., help="Train split: .jsonl/.csv/.parquet file, or hub id owner/name:split."),
    validation: str = typer.Option(..., help="Validation split (same forms)."),
    test: str = typer.Option(..., help="Test split (same forms)."),
    corpus: Optional[str] = typer.Option(None, help="Knowledge passages for retrieval (a `text` column)."),
    licence: str = typer.Option("unspecified", help="The data's licence, recorded with it."),
    source: str = typer.Option("", help="Where the data came from."),
    title: str = typer.Option("", help="Field name used in prompts, e.g. 'maritime law'."),
    distractors: str = typer.Option("random", help="Glossaries: random or similar (MiniLM) distractors."),
    seed: int = typer.Option(0, help="Seeds distractor draws."),
    replace: bool = typer.Option(False, "--replace", help="Overwrite a user domain of the same name."),
    as_json: bool = typer.Option(False, "--json", help="Print the new domain's summary as JSON."),
) -> None:
    """Import a domain from files: multiple choice (question, options, answer) or a glossary (term, definition)."""

    def body() -> None:
        from domaintune.domains import add_domain, import_domain

        domain = import_domain(
            name, {"train": train, "validation": validation, "test": test}, corpus=corpus,
            licence=licence, source=source, title=title, seed=seed, distractors=distractors,
        )
        folder = add_domain(domain, replace=replace)
        if as_json:
            _print_json({**domain.summary(), "folder": str(folder)})
        else:
            typer.echo(f"added {domain.name} ({domain.task}, {domain.sizes}, fingerprint {domain.fingerprint}) at {folder}")

    _guarded(body)


@domains_app.command("build")
def domains_build(names: list[str] = typer.Argument(None, help="Builders to run (default: all).")) -> None:
    """Rebuild built-in domains from their Debian packages (needs apt-get install dict-*)."""
    from domaintune.domains.build import main as build

    _guarded(lambda: build(list(names or [])))


@spaces_app.command("list")
def spaces_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Named search spaces."""
    from domaintune.search_spaces import DESCRIPTIONS, SPACES

    if as_json:
        _print_json([{"name": n, "description": DESCRIPTIONS[n], "levers": sorted(SPACES[n])} for n in sorted(SPACES)])
        return
    for name in sorted(SPACES):
        typer.echo(f"{name:10} {DESCRIPTIONS[name]}")


@spaces_app.command("show")
def spaces_show(name: str, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One named search space, lever by lever."""

    def body() -> None:
        from domaintune.search_spaces import get_space
        from domaintune.strategy import lever_levels

        spec = get_space(name).spec()
        if as_json:
            _print_json(spec)
            return
        levels = lever_levels()
        for lever, value in spec.items():
            typer.echo(f"{lever:22} {levels[lever]:6} {value}")

    _guarded(body)


@model_app.command("prepare")
def model_prepare(
    name: str = typer.Argument("smollm2-135m-instruct", help="Built-in model name."),
    cache_dir: Optional[str] = typer.Option(None, help="Cache folder (default $DOMAINTUNE_CACHE or ~/.cache/domaintune)."),
) -> None:
    """Convert a built-in model to a cached safetensors copy once (about 30 s)."""
    from domaintune.lm import prepare_model

    typer.echo(_guarded(lambda: prepare_model(name, cache_dir)))


def _register_loop_commands() -> None:
    from domaintune.cli._schedule import register

    register(app, domains_app, _guarded, _print_json)


_register_loop_commands()
