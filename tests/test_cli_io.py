"""``workbench import``, ``import-judgments`` and ``export`` end to end on a migrated database."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from tests.services.test_import_judgments import ONE_QUESTION
from workbench.cli import main


@pytest.fixture
def cli_db(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    return database_url


def _ok(runner, *args):
    result = runner.invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_llmbar_through_the_cli(runner, cli_db, reference_data, tmp_path):
    rubric = tmp_path / "better.json"
    rubric.write_text(json.dumps(ONE_QUESTION))
    _ok(runner, "db", "upgrade")
    _ok(runner, "rubrics", "load", rubric)
    _ok(runner, "projects", "create", "bar", "--rubric", ONE_QUESTION["slug"])
    data = reference_data / "preferences" / "llmbar" / "LLMBar_Natural.dataset.json"
    pairs = json.loads(data.read_text(encoding="utf-8"))
    assert "imported 100 items" in _ok(runner, "import", "bar", data, "--format", "llmbar")
    out = _ok(runner, "import-judgments", "bar", data, "--format", "llmbar")
    assert "imported 100 judgments" in out and "1 new external rater" in out
    assert "0 judgments; 100 already present" in _ok(runner, "import-judgments", "bar", data, "--format", "llmbar")

    target = tmp_path / "out"
    summary = json.loads(_ok(runner, "export", "bar", "--out", target, "--alpha-resamples", "10"))
    assert summary["exported"] == 100
    table = pq.read_table(target / "preferences.parquet")
    winners = [p[f"output_{p['label']}"] for p in pairs]
    assert sorted(table.column("chosen").to_pylist()) == sorted(winners)
    assert {p.name for p in target.iterdir()} == {
        "preferences.jsonl",
        "preferences.parquet",
        "manifest.json",
        "README.md",
    }

    raw = tmp_path / "raw"
    _ok(runner, "export", "bar", "--out", raw, "--judgments", "--format", "jsonl")
    lines = (raw / "judgments.jsonl").read_text().splitlines()
    assert len(lines) == 100 and json.loads(lines[0])["rater_kind"] == "external"


def test_skip_invalid_writes_a_report(runner, cli_db, tmp_path):
    _ok(runner, "db", "upgrade")
    _ok(runner, "rubrics", "load", "rubrics/")
    _ok(runner, "projects", "create", "p", "--rubric", "pairwise-helpful-harmless")
    items = tmp_path / "items.csv"
    items.write_text("id,prompt,response_1,response_2\na,Hi?,hello,hey\nb,Hi?,only one,\n", encoding="utf-8")
    result = runner.invoke(main, ["import", "p", str(items)])
    assert result.exit_code == 1 and "line 3: responses" in result.output and "nothing was imported" in result.output
    out = _ok(runner, "import", "p", items, "--skip-invalid", "--no-progress")
    assert "imported 1 item" in out and "skipped 1 row" in out
    report = [json.loads(line) for line in (tmp_path / "items.csv.rejected.jsonl").read_text().splitlines()]
    assert report == [
        {"line": 3, "field": "responses", "message": "this project needs 2 responses per item, the row has 1"}
    ]
