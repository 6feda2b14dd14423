"""Running ``domaintune`` in-process, and checking that an argv is a command the CLI has today."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from domaintune.cli import app

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> tuple[int, str, str]:
    """``domaintune ARGS`` in-process, from the repository root: exit code, stdout, stderr."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def manifests(*args: str) -> dict[str, dict]:
    """The documents ``domaintune deploy ARGS`` prints, by kind."""
    code, out, err = run_cli("deploy", *args)
    assert code == 0, err
    documents = list(yaml.safe_load_all(out))
    kinds = {doc["kind"]: doc for doc in documents}
    assert len(kinds) == len(documents), "one document per kind"
    return kinds


def check_command(argv: list[str] | str) -> tuple[Any, dict]:
    """The click command an argv names and the values it parses to; a renamed command or flag fails.

    Every ``--option`` the argv uses must be one of the command's parameters, and click must parse
    the whole argv (types, required arguments) without running anything.
    """
    argv = shlex.split(argv) if isinstance(argv, str) else list(argv)
    assert argv[0] == "domaintune", argv
    command = typer.main.get_command(app)  # typer's own click: a group has ``commands``
    rest, path = argv[1:], ["domaintune"]
    while hasattr(command, "commands"):
        name, *rest = rest
        assert name in command.commands, f"{' '.join(path)} has no command {name!r}; it has {sorted(command.commands)}"
        command, path = command.commands[name], [*path, name]
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    used = [token.partition("=")[0] for token in rest if token.startswith("-")]
    unknown = [token for token in used if token not in known]
    assert not unknown, f"{' '.join(path)} has no option {unknown}; it has {sorted(known)}"
    with command.make_context(" ".join(path), list(rest)) as ctx:
        return command, dict(ctx.params)


@pytest.fixture(autouse=True)
def _in_the_repository(monkeypatch):
    monkeypatch.chdir(ROOT)
