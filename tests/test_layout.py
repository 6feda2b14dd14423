"""The package's shape: stages in one-way layers, no circles, no reaching into another package's
private modules, no MLflow key spelled outside the schema, and files and functions a reader can
hold. ``python tests/test_layout.py`` prints the figures (files and lines per folder, the longest
functions, the arrows)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "domaintune"

# Bottom to top: a module may import its own package or a lower layer, never a higher one. An
# import inside a function, or under ``if TYPE_CHECKING:``, is an arrow like any other.
LAYERS = [
    "errors", "stats", "lm", "strategy", "history", "domains", "search_spaces", "runners", "tracking", "meta",
    "config", "reports", "sweep", "champion", "schedule", "deploy", "testing", "cli", "__main__",
]
TOP_LEVEL_MODULES = 6  # __init__, __main__ and the shared vocabulary: errors, strategy, history, config
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 60
SCHEMA_FOLDER = "tracking"  # the only home of the ``domaintune.*`` keys MLflow records carry


def modules(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package under ``root``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imported(tree: ast.AST, name: str, is_package: bool) -> list[tuple[str, list[str], int]]:
    """(module, names, line) of every import in a tree, relative ones resolved; at any depth."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([module] if module else []))
            found.append((module, [alias.name for alias in node.names], node.lineno))
    return found


def import_graph(root: Path, package: str = PACKAGE) -> dict[str, dict[str, int]]:
    """Module -> {module of the package it imports: line}; ``from pkg import submodule`` points at
    the submodule, ``from pkg.mod import name`` at ``pkg.mod`` (or the nearest module above it)."""
    known = modules(root, package)

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    graph: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        arrows: dict[str, int] = {}
        for module, names, line in _imported(ast.parse(path.read_text()), name, path.name == "__init__.py"):
            if module != package and not module.startswith(package + "."):
                continue
            targets = [f"{module}.{n}" if f"{module}.{n}" in known else resolve(module) for n in names] or [resolve(module)]
            for target in targets:
                if target and target != name:
                    arrows.setdefault(target, line)
        graph[name] = arrows
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, {}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def layer(module: str, package: str = PACKAGE) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # the package's own face is no layer


def upward_arrows(graph: dict[str, dict[str, int]], layers: list[str] = LAYERS) -> list[str]:
    """Arrows from a layer to a higher one, and modules in no known layer."""
    rank = {name: number for number, name in enumerate(layers)}
    problems = []
    for source, targets in sorted(graph.items()):
        mine = layer(source)
        if mine is not None and mine not in rank:
            problems.append(f"{source}: in no layer (add its package to LAYERS)")
            continue
        for target, line in sorted(targets.items()):
            theirs = layer(target)
            if mine is None or theirs is None or mine == theirs:
                continue
            if rank.get(theirs, -1) > rank[mine]:
                problems.append(f"{source}:{line} imports {target} ({mine} is below {theirs})")
    return problems


# -- the package's import graph ------------------------------------------------------------------

def test_the_package_has_no_import_cycle():
    found = cycles(import_graph(ROOT))
    assert not found, "import cycles (function-level imports included):\n" + "\n".join(" -> ".join(c) for c in found)


def test_every_arrow_runs_down_the_layers():
    problems = upward_arrows(import_graph(ROOT))
    assert not problems, "imports that run up the layers:\n" + "\n".join(problems)


def test_the_checks_catch_a_cycle_and_an_arrow_back_up(tmp_path):
    """The checker itself: a lower layer importing a higher one (inside a function, as the old
    ``history -> tracking`` arrow did) is reported, and so is the circle it closes."""
    package = tmp_path / PACKAGE
    for folder in ("history", "tracking"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "history" / "_read.py").write_text("def load():\n    from domaintune.tracking import client\n")
    (package / "tracking" / "_client.py").write_text("from domaintune.history._read import load\nclient = 1\n")
    graph = import_graph(tmp_path)
    assert upward_arrows(graph) == ["domaintune.history._read:2 imports domaintune.tracking (history is below tracking)"]
    assert upward_arrows({"domaintune.nowhere": {}}) == ["domaintune.nowhere: in no layer (add its package to LAYERS)"]
    (package / "tracking" / "__init__.py").write_text("from domaintune.tracking._client import client\n")
    assert cycles(import_graph(tmp_path)) == [["domaintune.history._read", "domaintune.tracking", "domaintune.tracking._client"]]


# -- private modules ------------------------------------------------------------------------------

def _private_imports(path: Path, own: str) -> list[str]:
    """Imports of a private module (``_name``) of a package other than ``own`` (or its parents)."""
    out = []
    for module, names, line in _imported(ast.parse(path.read_text()), "", False):
        dotted = [module] + [f"{module}.{n}" for n in names]
        for full in dotted:
            parts = full.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__") and parts[0] == PACKAGE:
                    owner = ".".join(parts[:i])
                    same = owner == own or (own != PACKAGE and (owner.startswith(own + ".") or own.startswith(owner + ".")))
                    if not same:
                        out.append(f"{path.relative_to(ROOT)}:{line}: {full}")
                    break
    return out


def test_no_module_imports_another_packages_private_module():
    """A package may import its own private modules; everything else, tests included, uses public
    names. A test under ``tests/<package>/`` is that package's own (it may test its private parts)."""
    offenders = []
    for folder in ("domaintune", "experiments", "benchmarks", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            own = ".".join(parts[:-1]) if folder == "domaintune" else ".".join((PACKAGE, *parts[1:-1])) if folder == "tests" else folder
            offenders += _private_imports(path, own)
    assert not offenders, "private imports across packages:\n" + "\n".join(sorted(set(offenders)))


# -- the trial-run schema -------------------------------------------------------------------------

def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                ids.add(id(first.value))
    return ids


def test_no_mlflow_key_is_spelled_outside_the_schema():
    """Every ``domaintune.*`` tag key lives in tracking/ (the schema); elsewhere a string may name
    only a module of the package (``domaintune.meta.build``), never a key."""
    known = set(modules(ROOT))
    key = re.compile(r"domaintune\.[A-Za-z_][\w.]*")
    offenders = []
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        if path.relative_to(ROOT / PACKAGE).parts[0] == SCHEMA_FOLDER:
            continue
        tree = ast.parse(path.read_text())
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                for match in key.findall(node.value):
                    if match.rstrip(".") not in known:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {match!r}")
    assert not offenders, "MLflow keys outside tracking/ (use tracking.Tag):\n" + "\n".join(offenders)


# -- sizes ----------------------------------------------------------------------------------------

def functions(root: Path = ROOT / PACKAGE) -> list[tuple[int, str]]:
    """(lines, where) of every function and method of the package, longest first."""
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"))
    return sorted(out, reverse=True)


def test_top_level_holds_the_shared_vocabulary_only():
    top = sorted(p.name for p in (ROOT / PACKAGE).glob("*.py"))
    assert len(top) <= TOP_LEVEL_MODULES, f"{len(top)} modules at the top of the package: {top}"


def test_no_file_is_over_the_limit():
    long = [(n, str(p.relative_to(ROOT))) for p in (ROOT / PACKAGE).rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES]
    assert not long, f"files over {MAX_FILE_LINES} lines: {sorted(long, reverse=True)}"


def test_no_function_is_over_the_limit():
    long = [f"{n} lines: {where}" for n, where in functions() if n > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)


# -- cheap imports --------------------------------------------------------------------------------

def test_runners_and_history_import_without_ray_mlflow_or_torch():
    """What a bare GPU box runs (a runner) and what the meta-learner reads (history) stay light."""
    code = (
        "import sys; import domaintune.runners, domaintune.history, domaintune.config, domaintune.meta; "
        "print(sorted(m for m in ('ray', 'mlflow', 'torch', 'transformers', 'peft') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def summary() -> str:
    """Files and lines per folder, top-level modules, the longest functions, the arrows."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path in (ROOT / PACKAGE).rglob("*.py"):
        rel = path.relative_to(ROOT / PACKAGE)
        folder = rel.parts[0] if len(rel.parts) > 1 else "(top level)"
        per[folder][0] += 1
        per[folder][1] += len(path.read_text().splitlines())
    graph = import_graph(ROOT)
    lines = ["folder            files  lines"]
    lines += [f"{folder:<17} {files:>5} {count:>6}" for folder, (files, count) in sorted(per.items())]
    lines.append(f"top-level modules: {per['(top level)'][0]}")
    lines.append(f"arrows: {sum(len(t) for t in graph.values())}, cycles: {len(cycles(graph))}, upward: {len(upward_arrows(graph))}")
    lines.append("longest functions:")
    lines += [f"  {n:>3} {where}" for n, where in functions()[:8]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(textwrap.dedent(summary()))
