"""Rebuild built-in domains from their Debian packages: ``python -m domaintune.domains.build [NAME ...]``."""

from __future__ import annotations

import sys
from collections.abc import Callable

from domaintune.domains import BUILTIN_DIR, Domain, save_domain
from domaintune.domains.builders import jargon

BUILDERS: dict[str, Callable[[], Domain]] = {jargon.NAME: jargon.build}

SOURCE_NOTE = """# {title}

- source: {source}
- licence: {licence}
- builder: `domaintune/domains/builders/{name}.py` version {builder_version}, seed {seed}
- fingerprint: {fingerprint}
- sizes: {sizes}

Rebuild with `apt-get install dict-{name}` then `python -m domaintune.domains.build {name}`;
the fingerprint must come out the same.
"""


def main(names: list[str]) -> None:
    for name in names or sorted(BUILDERS):
        if name not in BUILDERS:
            raise SystemExit(f"unknown builder {name!r}; known: {', '.join(sorted(BUILDERS))}")
        domain = BUILDERS[name]()
        folder = save_domain(domain, BUILTIN_DIR / name)
        (folder / "SOURCE.md").write_text(SOURCE_NOTE.format(**domain.summary()))
        print(f"{name}: {domain.sizes} fingerprint {domain.fingerprint} -> {folder}")


if __name__ == "__main__":
    main(sys.argv[1:])
