"""The meta-dataset build: design validation, complete-table export, resumable cells (tiny model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domaintune.errors import ConfigError, DomainError
from domaintune.meta.build import Design, build, complete_domains, evaluate_cell, load_design, longest_first, read_cells, to_history
from domaintune.strategy import Strategy

SHIPPED = Path(__file__).resolve().parents[2] / "experiments" / "meta_design.yaml"


def test_shipped_design_is_complete_and_large_enough():
    design = load_design(SHIPPED)
    assert len(design.domains) >= 20 and len(set(design.domains)) == len(design.domains)
    assert len(design.domains) * len(design.strategies) >= 320
    levels = {level for s in design.strategies for level in Strategy.from_dict(s).levels()}
    assert {"none", "black", "grey", "white"} <= levels


def test_design_errors_name_the_strategy(tmp_path):
    path = tmp_path / "design.yaml"
    path.write_text("domains: [jargon]\nstrategies:\n  - {template: plain}\n  - {template: nonsense}\n")
    with pytest.raises(ConfigError, match=r"strategies\[1\]"):
        load_design(path)
    path.write_text("domains: [jargon]\nstrategies:\n  - {template: plain}\n  - {template: plain, n_shots: 0}\n")
    with pytest.raises(ConfigError, match="twice"):
        load_design(path)
    path.write_text("domains: [jargon]\nquestion: 3\nstrategies: [{template: plain}]\n")
    with pytest.raises(ConfigError, match="question"):
        load_design(path)


def test_cells_go_domain_by_domain():
    design = Design(domains=["a", "b"], strategies=[{"template": "plain"}, {"template": "cloze"}])
    assert list(design.cells()) == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]


def _row(domain: str, index: int, design: Design, accuracy: float = 0.5) -> dict:
    return {"domain": domain, "view": design.view, "fingerprint": "f" + domain, "index": index, "strategy": design.strategies[index],
            "questions": design.questions, "accuracy": accuracy, "stderr": 0.1, "steps": 0, "cost": {"eval_seconds": 1.0},
            "model": "smollm2-135m-instruct", "outcomes": [1, 0]}


def test_dear_cells_are_submitted_first_priced_from_the_cells_recorded_so_far():
    design = Design(domains=["a", "b"], strategies=[{"template": t} for t in ("plain", "cloze", "instruction", "qa")], questions=10)
    a, b = design.tasks()

    def cell(domain: str, index: int, seconds: float, scoring: float) -> dict:
        return {**_row(domain, index, design), "seconds": seconds, "cost": {"eval_seconds": scoring}}

    # b #2 has its own cell (390 s + 1 s a question); b #0 and #1 are priced from a's cells of the
    # same strategies (5 + 0.5 and 50 + 5 s a question); a #3 was never recorded (free).
    rows = [cell("a", 0, 10.0, 5.0), cell("a", 1, 100.0, 50.0), cell("b", 2, 400.0, 10.0)]
    jobs = [(design, a, 3, 20, 1, 0)] + [(design, b, i, 20, 1, 0) for i in range(3)]
    assert [(task.domain, index) for _, task, index, *_ in longest_first(jobs, rows)] == [("b", 2), ("b", 1), ("b", 0), ("a", 3)]
    # Scoring scales with the job's questions: at 200 questions b #1 (1,050 s) outranks b #2 (590 s).
    jobs = [(design, b, i, 200, None, 160) for i in (2, 1)]
    assert [index for _, _, index, *_ in longest_first(jobs, rows)] == [1, 2]
    assert longest_first([], rows) == []


def test_only_complete_domains_are_exported():
    design = Design(domains=["a", "b"], strategies=[{"template": "plain"}, {"template": "cloze"}], questions=2)
    rows = [_row("a", 0, design), _row("a", 1, design), _row("b", 0, design)]
    assert complete_domains(design, rows) == ["a"]
    history = to_history(design, rows, source="test")
    assert history.domains() == ["a"] and len(history) == 2
    assert {r.stderr for r in history} == {0.1}
    # A cell scored on fewer questions than the design asks does not count.
    short = dict(_row("b", 1, design), questions=1)
    assert complete_domains(design, rows + [short]) == ["a"]


def test_build_scores_cells_with_outcomes_and_resumes(tmp_path, tiny_model_dir):
    design = Design(
        domains=["jargon"], questions=4, strategies=[{"template": "plain"}, {"template": "instruction", "scoring": "calibrated"}],
        runner={"model": tiny_model_dir, "max_length": 64},
    )
    out = tmp_path / "cells.jsonl"
    rows = build(design, out, workers=1, log=lambda line: None)
    assert [(r["domain"], r["index"]) for r in rows] == [("jargon", 0), ("jargon", 1)]
    for row in rows:
        assert len(row["outcomes"]) == 4 and set(row["outcomes"]) <= {0, 1}
        assert row["accuracy"] == pytest.approx(sum(row["outcomes"]) / 4)
        assert row["cost"]["eval_seconds"] > 0
    env = json.loads(out.with_suffix(".env.json").read_text())
    assert env["environment"]["packages"]["torch"] and env["design"]["questions"] == 4
    lines = out.read_text().splitlines()
    assert build(design, out, workers=1, log=lambda line: None) == read_cells(out)
    assert out.read_text().splitlines() == lines  # nothing re-evaluated


def test_a_design_asks_glossaries_in_its_view_and_other_task_kinds_in_their_own(tiny_model_dir):
    design = Design(view="definition_to_term", domains=["elements", "jargon"], questions=3,
                    strategies=[{"template": "plain"}], runner={"model": tiny_model_dir, "max_length": 64})
    factual, glossary = evaluate_cell(design, "elements", 0), evaluate_cell(design, "jargon", 0)
    assert (factual["view"], glossary["view"]) == ("multiple_choice", "definition_to_term")
    assert len(factual["outcomes"]) == len(factual["question_ids"]) == 3
    with pytest.raises(DomainError, match="has views"):
        evaluate_cell(design.model_copy(update={"view": "term_to_emoji"}), "jargon", 0)


def test_a_failing_cell_is_logged_and_the_build_goes_on(tmp_path, tiny_model_dir):
    """A cell that raises (here: a domain that does not exist) is logged with its domain and
    strategy and left out of the file, so a rerun tries it again; the other domains are built."""
    design = Design(domains=["no-such-domain", "jargon"], questions=4, strategies=[{"template": "plain"}],
                    runner={"model": tiny_model_dir, "max_length": 64})
    out, lines = tmp_path / "cells.jsonl", []
    rows = build(design, out, workers=1, log=lines.append)
    assert [(r["domain"], r["index"]) for r in rows] == [("jargon", 0)]
    failures = [line for line in lines if "FAILED" in line]
    assert len(failures) == 1 and failures[0].startswith("no-such-domain #0 FAILED: DomainError") and "no-such-domain" in failures[0][20:]
    assert any("no-such-domain: 1 cell(s) failed" in line for line in lines)
    assert complete_domains(design, rows) == ["jargon"]


def test_the_v2_design_has_48_strategies_over_all_levels_and_halving_rungs():
    design = load_design(SHIPPED.parent / "meta_design_v2.yaml")
    assert len(design.strategies) >= 48
    levels = {level for s in design.strategies for level in Strategy.from_dict(s).levels()}
    assert {"none", "black", "grey", "white"} <= levels
    assert sum(len(set(Strategy.from_dict(s).levels()) - {"none", "grey"}) >= 1 and len(set(Strategy.from_dict(s).levels()) - {"none"}) > 1 for s in design.strategies) >= 8  # hybrids
    assert design.halving[0].keep == 1.0 and design.halving[-1].questions >= 400
    with pytest.raises(ValueError, match="more questions"):
        Design(domains=["a"], strategies=[{"template": "plain"}], halving=[{"questions": 40}, {"questions": 20}])


def test_successive_halving_screens_all_and_refines_the_best_with_fidelity(tmp_path, tiny_model_dir):
    """Tiny model, few questions: every strategy at rung 0, the best one again at rung 1 on more
    questions (its rung-0 questions included), each cell recorded with its fidelity."""
    from domaintune.meta.build import build_halving, halving_plan

    strategies = [{"template": "plain"}, {"template": "instruction", "scoring": "calibrated"}, {"template": "cloze"}]
    design = Design(domains=["jargon"], strategies=strategies, questions=8, runner={"model": tiny_model_dir},
                    halving=[{"questions": 4}, {"questions": 8, "keep": 1}])
    out = tmp_path / "cells.jsonl"
    rows = build_halving(design, out, workers=0, log=lambda line: None)
    first = [r for r in rows if r["rung"] == 0]
    second = [r for r in rows if r["rung"] == 1]
    assert sorted(r["index"] for r in first) == [0, 1, 2] and all(r["fidelity"] == {"questions": 4, "steps": 0} for r in first)
    best = sorted(first, key=lambda r: (-r["accuracy"], r["index"]))[0]["index"]
    assert [r["index"] for r in second] == [best] == halving_plan(design, rows, "jargon", 1)
    assert second[0]["fidelity"]["questions"] == 8 and second[0]["question_ids"][:4] == next(r for r in first if r["index"] == best)["question_ids"]
    assert build_halving(design, out, workers=0, log=lambda line: None) == rows  # resumes: nothing evaluated twice
    # the history keeps each strategy's highest rung: the refined cell for the best, the screen for the rest
    from domaintune.meta.build import complete_domains, final_cells, to_history

    assert complete_domains(design, rows) == ["jargon"] and complete_domains(design, first) == []
    assert {i: c["rung"] for (_, i), c in final_cells(design, rows).items()} == {i: int(i == best) for i in range(3)}
    history = to_history(design, rows, source="test")
    assert sorted(r.questions for r in history) == [4, 4, 8] and all(len(r.outcomes) == r.questions for r in history)


def test_a_finished_domain_commits_its_cells_alone_and_an_unchanged_file_quietly(tmp_path, capsys):
    import subprocess

    from domaintune.meta.build import _commit

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    cells, other = tmp_path / "cells.jsonl", tmp_path / "other.txt"
    cells.write_text('{"a": 1}\n')
    other.write_text("not the build's\n")
    git("add", "other.txt")
    _commit(cells, "cells: a")
    assert git("log", "--format=%s") == "cells: a\n" and git("show", "--name-only", "--format=") == "cells.jsonl\n"
    assert "A  other.txt" in git("status", "--short")  # what else was staged stays staged, not committed
    _commit(cells, "cells: unchanged")  # nothing to commit: no new commit, no warning
    assert git("log", "--format=%s") == "cells: a\n" and "warning" not in capsys.readouterr().out


def test_a_grouped_design_builds_task_by_task_with_evaluation_questions_no_rung_saw(tmp_path, tiny_model_dir):
    """Two tasks (a glossary asked in multiple choice, the same asked as free text), halving on
    the first 4 and 6 validation questions, then the finalists scored on up to 5 questions after
    those: disjoint from every rung's, recorded apart from the table, and resumed like the rest."""
    from domaintune.meta.build import build_halving, complete_tasks, evaluation_cells, final_cells, halving_plan

    design = Design(
        seed=0, runner={"max_length": 64, "max_new_tokens": 4},
        halving=[{"questions": 4}, {"questions": 6, "keep": 1}], evaluation={"questions": 5, "min_questions": 3},
        groups=[{"view": "definition_to_term", "model": tiny_model_dir, "domains": ["jargon"]},
                {"view": "name_the_term", "model": tiny_model_dir, "domains": ["jargon"], "strategies": "free"}],
        strategies=[{"template": "plain"}, {"template": "instruction", "scoring": "calibrated"}],
        strategy_sets={"free": [{"template": "plain"}, {"template": "instruction"}]},
    )
    out = tmp_path / "cells.jsonl"
    rows = build_halving(design, out, workers=0, log=lambda line: None)
    tasks = design.tasks()
    assert [t.key for t in complete_tasks(design, rows)] == [t.key for t in tasks] and len(tasks) == 2
    assert {r["metric"] for r in rows if r["view"] == "name_the_term"} == {"f1"}
    assert {r["metric"] for r in rows if r["view"] == "definition_to_term"} == {"accuracy"}
    evaluation = evaluation_cells(rows)
    assert sorted(evaluation) == sorted((t.key, i) for t in tasks for i in halving_plan(design, rows, t, 1))  # the finalists
    for (key, index), cell in evaluation.items():
        screened = {q for r in rows if r["task"] == key and "rung" in r for q in r["question_ids"]}
        assert cell["questions"] == 5 and not screened & set(cell["question_ids"])
        assert (key, index) in final_cells(design, rows) and final_cells(design, rows)[(key, index)] is not cell
    assert build_halving(design, out, workers=0, log=lambda line: None) == rows  # resumes: nothing evaluated twice


def test_cells_of_an_earlier_build_are_reused_only_where_they_are_this_designs_cells(tmp_path):
    from domaintune.domains import load_domain
    from domaintune.meta.build import reusable_cells

    design = Design(domains=["jargon"], strategies=[{"template": "plain"}, {"template": "cloze"}], halving=[{"questions": 4}])
    fingerprint = load_domain("jargon").view("definition_to_term").fingerprint
    cell = {**_row("jargon", 0, design), "fingerprint": fingerprint, "rung": 0, "seed": 0, "fidelity": {"questions": 4, "steps": 0}}
    others = [
        {**cell, "fingerprint": "changed"},  # the domain changed since
        {**cell, "seed": 1},
        {**cell, "fidelity": {"questions": 8, "steps": 0}},  # another rung size
        {**cell, "index": 1},  # index 1 is another strategy here
        {**cell, "view": "term_to_definition"},  # another task
    ]
    reused = reusable_cells(design, [cell, *others], [], origin="old.jsonl")
    assert len(reused) == 1 and reused[0]["reused_from"] == "old.jsonl" and reused[0]["task"] == design.tasks()[0].key
    assert reusable_cells(design, [cell], reused, origin="old.jsonl") == []  # already there


def test_a_cell_line_cut_by_a_killed_build_is_left_out(tmp_path):
    design = Design(domains=["a"], strategies=[{"template": "plain"}])
    out = tmp_path / "cells.jsonl"
    whole = json.dumps(_row("a", 0, design))
    out.write_text(whole + "\n" + whole[:40])
    assert read_cells(out) == [json.loads(whole)]
    out.write_text(whole + "\nnot json\n")  # a bad line that is whole is an error, naming it
    with pytest.raises(ConfigError, match="row 2"):
        read_cells(out)
