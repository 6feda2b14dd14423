"""``domaintune domains``: list, show, validate, add, build and release domains."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from domaintune.cli._common import guarded, print_json

JSON_HELP = "Print JSON."


def _domain_row(meta: dict[str, Any], origin: str) -> dict[str, Any]:
    coverage = meta.get("stats", {}).get("corpus_coverage", {})
    return {**meta, "origin": origin, "corpus_coverage": next(iter(coverage.values()), None)}


@guarded
def domains_list(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Built-in and user domains: task, views, sizes, licence, corpus coverage, fingerprint."""
    from domaintune.domains import BUILTIN_DIR, builtin_domain_names, user_domain_names, user_domains_dir

    rows = [_domain_row(json.loads((BUILTIN_DIR / n / "domain.json").read_text()), "built-in") for n in builtin_domain_names()]
    rows += [_domain_row(json.loads((user_domains_dir() / n / "domain.json").read_text()), "user") for n in user_domain_names()]
    if as_json:
        print_json(rows)
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


@guarded
def domains_show(
    name: str = typer.Argument(..., help="Domain name or domain folder."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    examples: int = typer.Option(2, help="Validation questions to show per view."),
) -> None:
    """One domain's metadata and a few questions in each view (the data is validated on load)."""
    from domaintune.domains import load_domain

    domain = load_domain(name)
    views = {view: domain.view(view).splits["validation"][:examples] for view in domain.views}
    if as_json:
        print_json({**domain.summary(), "examples": views})
        return
    for key, value in domain.summary().items():
        typer.echo(f"{key:16} {value}")
    for view, rows in views.items():
        for row in rows:
            typer.echo(f"\n[{view}] {row['question']}")
            for i, option in enumerate(row["options"]):
                typer.echo(f"  {'*' if i == row['answer'] else ' '} {option}")


@guarded
def domains_validate(
    names: list[str] = typer.Argument(None, help="Domain names or folders (default: every domain)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check schema, split disjointness and fingerprint; exit 2 naming the first bad file, row and column."""
    from domaintune.domains import builtin_domain_names, load_domain, user_domain_names

    checked = []
    for name in names or builtin_domain_names() + user_domain_names():
        domain = load_domain(name)
        checked.append({"name": domain.name, "fingerprint": domain.fingerprint, "sizes": domain.sizes})
        if not as_json:
            typer.echo(f"ok  {domain.name:24} {domain.fingerprint}  {domain.sizes}")
    if as_json:
        print_json(checked)


@guarded
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
    from domaintune.domains import add_domain, import_domain

    domain = import_domain(
        name, {"train": train, "validation": validation, "test": test}, corpus=corpus,
        licence=licence, source=source, title=title, seed=seed, distractors=distractors,
    )
    folder = add_domain(domain, replace=replace)
    if as_json:
        print_json({**domain.summary(), "folder": str(folder)})
    else:
        typer.echo(f"added {domain.name} ({domain.task}, {domain.sizes}, fingerprint {domain.fingerprint}) at {folder}")


@guarded
def domains_build(names: list[str] = typer.Argument(None, help="Builders to run (default: all).")) -> None:
    """Rebuild built-in domains from their Debian packages (needs apt-get install dict-*)."""
    from domaintune.domains.build import main as build

    build(list(names or []))


@guarded
def domains_release(
    name: str = typer.Argument(..., help="A built-in evolving domain, e.g. gcide-law-evolving."),
    version: Optional[str] = typer.Option(None, help="Which release (default: the next one)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Release a built-in evolving domain's next version into your domains ($DOMAINTUNE_DOMAINS)."""
    from domaintune.domains import release_domain

    released = release_domain(name, version)
    info = {"name": released.name, "version": released.version, "fingerprint": released.fingerprint, "sizes": released.sizes}
    print_json(info) if as_json else typer.echo(f"released {released.name} v{released.version} ({released.fingerprint}) {released.sizes}")
