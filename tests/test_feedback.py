"""Feedback files: every bad row is an error naming the file and the row, before anything is written.
(The whole path, judgments -> MLflow assessments + history record + new domain version, is
exercised on a real champion in tests/schedule/test_run_due.py.)"""

from __future__ import annotations

import pytest

from domaintune.errors import ConfigError
from domaintune.champion import apply_feedback, read_judgments


def test_csv_and_jsonl_judgments_are_read(tmp_path):
    csv = tmp_path / "f.csv"
    csv.write_text('question,judgment,corrected,options,expert\nWhat is a tort?,accept,,,ann\nA writ.,correct,mandamus,"[""a"", ""b""]",bob\nA fee.,reject,,,\n')
    rows = read_judgments(csv)
    assert [(j.row, j.judgment, j.corrected, j.expert) for j in rows] == [(1, "accept", None, "ann"), (2, "correct", "mandamus", "bob"), (3, "reject", None, "expert")]
    assert rows[1].options == ["a", "b"]
    jsonl = tmp_path / "f.jsonl"
    jsonl.write_text('{"question": "A writ.", "judgment": "reject", "corrected": "mandamus"}\n\n{"question": "A fee.", "judgment": "ACCEPT"}\n')
    rows = read_judgments(jsonl)
    assert [(j.row, j.judgment) for j in rows] == [(1, "correct"), (3, "accept")]  # a reject with a correction is a correction


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("f.csv", "question,judgment\nA writ.,maybe\n", r"f.csv: row 1: column 'judgment' is 'maybe'; use one of accept, reject, correct"),
        ("f.csv", "question,judgment\nA writ.,accept\nA fee.,correct\n", r"f.csv: row 2: judgment 'correct' needs the right answer in column 'corrected'"),
        ("f.csv", "question,judgment,verdict\nA writ.,accept,x\n", r"f.csv: row 1: unknown column\(s\) verdict"),
        ("f.csv", "question,judgment\n,accept\n", r"f.csv: row 1: column 'question' is missing or empty"),
        ("f.csv", "question,judgment\nA writ.,accept,extra\n", r"f.csv: row 1: more cells than header columns"),
        ("f.jsonl", '{"question": "A", "judgment": "accept"}\n{"question": "B", "judgment": "accept", "corrected": "x"}\n', r"f.jsonl: row 2: .*contradicts itself"),
        ("f.jsonl", '{"question": "A", "judgment": "accept"}\nnot json\n', r"f.jsonl: row 2: not valid JSON"),
        ("f.jsonl", '{"question": "A", "judgment": "correct", "corrected": "b", "options": "[1, 2"}\n', r"f.jsonl: row 1: column 'options' must be a JSON list"),
        ("f.txt", "question,judgment\n", r"f.txt: a feedback file is .csv or .jsonl"),
        ("f.csv", "question,judgment\n", r"f.csv: holds no judgment"),
    ],
)
def test_a_bad_row_is_an_error_naming_file_and_row(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_judgments(path)


def test_feedback_needs_a_champion(tmp_path, monkeypatch, tracking_uri):
    monkeypatch.setenv("DOMAINTUNE_DOMAINS", str(tmp_path / "domains"))
    path = tmp_path / "f.csv"
    path.write_text("question,judgment\nA writ.,accept\n")
    with pytest.raises(ConfigError, match="no champion .* to give feedback on"):
        apply_feedback("gcide-law-evolving", path, uri=tracking_uri, history=tmp_path / "h.jsonl")
    assert not (tmp_path / "h.jsonl").exists() and not (tmp_path / "domains").exists()
