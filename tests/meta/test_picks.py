"""The meta-dataset build's picks stage (tiny model): every method's picks scored on evaluation
questions and, with ``exact_random``, every strategy of each task's table."""

from __future__ import annotations

from domaintune.meta.build import Design, read_cells, to_history


def test_the_exact_random_stage_scores_every_strategy_on_the_evaluation_questions_and_resumes(tmp_path, tiny_model_dir, monkeypatch):
    import subprocess

    from domaintune.meta import feature_table, leave_one_domain_out, picks
    from domaintune.meta.build import build_halving, evaluation_cells
    from domaintune.meta.picks import build_picks, missing_picks

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")

    strategies = [{"template": "plain"}, {"template": "instruction", "scoring": "calibrated"}, {"template": "cloze"}, {"template": "chat"},
                  {"template": "instruction"}]
    design = Design(
        seed=0, domains=["jargon", "elements"], strategies=strategies, runner={"model": tiny_model_dir, "max_length": 64},
        halving=[{"questions": 4}, {"questions": 6, "keep": 1}], evaluation={"questions": 5, "min_questions": 3},
    )
    out = tmp_path / "cells.jsonl"
    build_halving(design, out, workers=0, log=lambda line: None)
    finalists = set(evaluation_cells(read_cells(out)))
    assert len(finalists) == 2  # one finalist per task: the other strategies are not yet scored there

    # single-best asks for its first 3 of the 5 strategies; the exact stage asks for the rest too
    picks_only, exact = missing_picks(design, out, ["single-best"]), missing_picks(design, out, ["single-best"], exact_random=True)
    assert len(exact) == 2 * 4 and exact[: len(picks_only)] == picks_only and len(picks_only) < len(exact)

    lines: list[str] = []
    monkeypatch.setattr(picks, "COMMIT_EVERY", 4)
    scored = build_picks(design, out, workers=0, methods=["single-best"], commit=True, log=lines.append, exact_random=True)
    commits = [line for line in git("log", "--reverse", "--format=%s").splitlines() if "environment" not in line]
    assert commits == [  # each chunk of a long pass is committed as it finishes
        f"meta-dataset: {min(4, len(exact) - start)} picks scored on evaluation questions (pass 1, {min(start + 4, len(exact))} of {len(exact)})"
        for start in range(0, len(exact), 4)]
    cells = evaluation_cells(read_cells(out))
    assert set(cells) == {(task.key, i) for task in design.tasks() for i in range(len(strategies))}
    assert scored == len(cells) - len(finalists) and any("picks pass 1" in line for line in lines)
    assert missing_picks(design, out, ["single-best"], exact_random=True) == []
    assert build_picks(design, out, workers=0, methods=["single-best"], log=lambda line: None, exact_random=True) == 0  # resumes: nothing scored twice

    history = to_history(design, read_cells(out), source="test")
    result = leave_one_domain_out(history, feature_table(history.validated()), methods=["random", "single-best"], seeds=(0,), bootstrap=0)
    assert result["on"] == "evaluation" and result["evaluation"]["random"] == {"exact_tasks": 2, "drawn_tasks": 0, "draw": 3}
    assert result["methods"]["random"]["1"]["regret"] is not None and result["missing"] == []
