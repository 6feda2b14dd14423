"""docs/kubernetes.md shows what ``domaintune deploy`` prints today: each ```sh block holding a
``domaintune deploy`` command is followed by a ```yaml block equal to that command's output.

``python tests/deploy/test_kubernetes_doc.py`` rewrites those YAML blocks from the commands.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.deploy.conftest import ROOT, run_cli

PAGE = ROOT / "docs" / "kubernetes.md"
GENERATED = re.compile(r"```sh\n(domaintune deploy [^\n]+)\n```\n\n```yaml\n(.*?)```", re.S)


def generated_blocks(text: str) -> list[tuple[str, str]]:
    """(command, the YAML block after it) for each generated block of the page."""
    return [(m.group(1), m.group(2)) for m in GENERATED.finditer(text)]


def output(command: str) -> str:
    code, out, err = run_cli(*shlex.split(command)[1:])
    assert code == 0, f"{command}: exit {code}: {err}"
    return out


def test_the_page_shows_the_commands_current_output():
    blocks = generated_blocks(PAGE.read_text())
    assert [shlex.split(c)[2] for c, _ in blocks] == ["rayjob", "cronjob"], "one RayJob and one CronJob block"
    for command, shown in blocks:
        assert shown == output(command), f"{PAGE.name} is stale for `{command}`: run python tests/deploy/test_kubernetes_doc.py"


def test_the_check_sees_a_stale_block():
    page = "```sh\ndomaintune deploy cronjob experiments/schedule.yaml\n```\n\n```yaml\nkind: CronJob\n```\n"
    ((command, shown),) = generated_blocks(page)
    assert command.endswith("schedule.yaml") and shown == "kind: CronJob\n" != output(command)


def rewrite() -> None:
    text = PAGE.read_text()
    text = GENERATED.sub(lambda m: f"```sh\n{m.group(1)}\n```\n\n```yaml\n{output(m.group(1))}```", text)
    PAGE.write_text(text)
    print(f"rewrote {len(generated_blocks(text))} blocks of {PAGE}")


if __name__ == "__main__":
    import os

    os.chdir(ROOT)
    rewrite()
