"""The package's shape: no module reaches into another package's private modules, and the
library imports cheaply (heavy libraries load inside the functions that need them)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = re.compile(r"from (domaintune(?:\.[a-z_]+)*)\.(_[a-z][a-z_]*) import|import (domaintune(?:\.[a-z_]+)*)\.(_[a-z][a-z_]*)")


def test_no_module_imports_another_packages_private_module():
    """A package may import its own private modules; everything else uses public names."""
    offenders = []
    for folder in ("domaintune", "experiments", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            own = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])  # the package the file is in
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for match in PRIVATE.finditer(line):
                    package = match.group(1) or match.group(3)
                    if not (own == package or own.startswith(package + ".")):  # its own package or a subpackage of it
                        offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "private imports across packages:\n" + "\n".join(offenders)


def test_runners_and_history_import_without_ray_mlflow_or_torch():
    """What a bare GPU box runs (a runner) and what the meta-learner reads (history) stay light."""
    code = (
        "import sys; import domaintune.runners, domaintune.history, domaintune.config, domaintune.meta; "
        "print(sorted(m for m in ('ray', 'mlflow', 'torch', 'transformers', 'peft') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
