"""Leave-one-domain-out benchmark of the meta-learners on the shipped seed history.

Prints the table and writes docs/meta_lodo.md (linked from the README). The same table, as
data: `domaintune meta eval --json`.

    .venv/bin/python benchmarks/meta_lodo.py [--seeds 5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()

    from domaintune.domains import load_domain
    from domaintune.meta import domain_features, leave_one_domain_out, load_history, markdown

    history = load_history()
    features = {d: domain_features(load_domain(d).view(v or None)) for d, v in {(r.domain, r.view) for r in history}}
    text = "# Meta-learners, leave one domain out\n\n" + markdown(leave_one_domain_out(history, features, seeds=tuple(range(args.seeds))))
    out = Path(__file__).resolve().parent.parent / "docs" / "meta_lodo.md"
    out.write_text(text)
    print(text)
