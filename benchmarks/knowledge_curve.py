"""The knowledge curve of the default learner on the shipped history: regret@1 and @3 against
the number of training tasks (random subsets of the other domains' tasks, several draws), per
task family. Does more history still help?

Writes docs/results/knowledge_curve.md and benchmarks/results/knowledge_curve.json; the same
curve is in `domaintune report --history`.

    .venv/bin/python benchmarks/knowledge_curve.py [--learner NAME] [--draws 5] [--history FILE]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from domaintune.reports import write_result_page as write_page

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent


def _cell(entry: dict, k: str) -> str:
    low, high = entry["ci"][k]
    return f"{entry['regret'][k]:.3f} [{low:.3f}, {high:.3f}]"


def markdown(curve: dict, learner: str, source: str) -> str:
    lines = [
        "# Knowledge curve: does more history still help?", "",
        f"**Question.** As the `{learner}` learner (the default) learns from more past tasks, how far are its first "
        "picks from a task's best strategy?", "",
        f"**Reproduce.** `.venv/bin/python benchmarks/knowledge_curve.py` (history: {source}; "
        f"{curve['seconds']:.0f} s here). The same curve is in `domaintune report --history`.", "",
        f"**Method.** For every task, the learner is fit on m tasks drawn at random from the other domains "
        f"({curve['curve'][0]['draws']} draws per size; never a task of the held-out domain), and its proposal order of "
        "the task's recorded strategies is scored by normalized regret after k picks. 95% intervals: bootstrap over "
        f"domains. {curve['note'][0].upper() + curve['note'][1:]}.", "",
        "| training tasks | tasks | regret@1 [95% CI] | regret@3 [95% CI] |", "|---|---|---|---|",
    ]
    lines += [f"| {e['size']} | {e['tasks']} | {_cell(e, '1')} | {_cell(e, '3')} |" for e in curve["curve"]]
    for family, entries in curve["families"].items():
        lines += ["", f"## {family}", "", "| training tasks | tasks | regret@1 [95% CI] | regret@3 [95% CI] |", "|---|---|---|---|"]
        lines += [f"| {e['size']} | {e['tasks']} | {_cell(e, '1')} | {_cell(e, '3')} |" for e in entries]
    first, last = curve["curve"][0], curve["curve"][-1]
    fell = {k: last["ci"][k][1] < first["ci"][k][0] for k in ("1", "3")}
    lines += ["", "**Reading.** From " + f"{first['size']} to {last['size']} training tasks, regret@1 goes "
              f"{first['regret']['1']:.3f} -> {last['regret']['1']:.3f} ({'intervals apart' if fell['1'] else 'intervals overlap: within noise'}) "
              f"and regret@3 {first['regret']['3']:.3f} -> {last['regret']['3']:.3f} "
              f"({'intervals apart' if fell['3'] else 'intervals overlap: within noise'})."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", default=None, help="default: domaintune.config.DEFAULT_LEARNER")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--history", action="append", default=[], help="history files (default: the shipped seed history)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "knowledge_curve.md")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "knowledge_curve.json")
    args = parser.parse_args()

    from domaintune.config import DEFAULT_LEARNER
    from domaintune.meta import feature_table, knowledge_curve, load_history

    learner = args.learner or DEFAULT_LEARNER
    history = load_history(args.history or None)
    curve = knowledge_curve(history, feature_table(history.validated()), learner, draws=args.draws)
    args.json.write_text(json.dumps({"learner": learner, **curve}, indent=2) + "\n")
    text = markdown(curve, learner, ", ".join(f"`{h}`" for h in args.history) or "the shipped seed history")
    write_page(args.out, text)
    print(text)
