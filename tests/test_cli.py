"""The ``workbench`` command, end to end on a real database."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main
from workbench.services.demo import MACHINE_JUDGE

MACHINE_NAME = MACHINE_JUDGE[1]

RELIABILITY_CASES = [
    ("wikipedia.csv", "nominal", 0.691),
    ("wikipedia.csv", "interval", 0.811),
    ("krippendorff-2018-p290.csv", "nominal", 0.743),
    ("krippendorff-2018-p290.csv", "ordinal", 0.815),
    ("krippendorff-2018-p290.csv", "interval", 0.849),
    ("krippendorff-2018-p290.csv", "ratio", 0.797),
    ("hayes-krippendorff-2007.csv", "ordinal", 0.7598),
    ("krippendorff-1980-p139.csv", "nominal", 0.642),
    ("krippendorff-1980-p139.csv", "interval", 0.547),
    ("krippendorff-1980-p139.csv", "ratio", 0.483),
    ("krippendorff-2004-p227.csv", "nominal", 0.734),
    ("krippendorff-2004-binary-2coders.csv", "nominal", 0.095),
    ("krippendorff-2018-p306.csv", "nominal", 0.234),
    ("krippendorff-2018-p310.csv", "nominal", 0.759),
]


def test_cases_cover_every_published_value(reference_data):
    expected = json.loads((reference_data / "reliability" / "expected.json").read_text())
    published = {
        (f, level, value) for f, entry in expected.items() for level, value in entry["published_alpha"].items()
    }
    assert published == set(RELIABILITY_CASES)


@pytest.mark.parametrize(("file", "level", "published"), RELIABILITY_CASES)
def test_alpha_reproduces_published_values(runner, reference_data, file, level, published):
    result = runner.invoke(main, ["alpha", str(reference_data / "reliability" / file), "--level", level, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["alpha"] == pytest.approx(published, abs=1e-3)


def test_alpha_human_output_with_bootstrap(runner, reference_data):
    result = runner.invoke(
        main,
        [
            "alpha",
            str(reference_data / "reliability" / "krippendorff-2018-p290.csv"),
            "--level",
            "ordinal",
            "--bootstrap",
            "500",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Krippendorff's alpha (ordinal) = 0.81" in result.output
    assert "95% CI [" in result.output


def test_alpha_refuses_a_numeric_level_for_letters(runner, reference_data):
    result = runner.invoke(
        main, ["alpha", str(reference_data / "reliability" / "krippendorff-2004-p227.csv"), "--level", "interval"]
    )
    assert result.exit_code == 1
    assert "only --level nominal" in result.output


def test_rubrics_validate_ok_and_broken(runner, tmp_path):
    ok = runner.invoke(main, ["rubrics", "validate", "rubrics/"])
    assert ok.exit_code == 0 and ok.output.count("ok ") >= 2
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "slug: Bad Slug\ntitle: x\ntask_kind: single\nguidelines: g\nquestions:\n  - id: q\n    type: likert\n    prompt: p\n    min: 5\n    max: 1\n"
    )
    result = runner.invoke(main, ["rubrics", "validate", str(broken)])
    assert result.exit_code == 1
    assert "/slug" in result.output and "does not match" in result.output
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("slug: [unclosed\n")
    result = runner.invoke(main, ["rubrics", "validate", str(bad_yaml)])
    assert result.exit_code == 1 and "line 2" in result.output


@pytest.fixture
def cli_db(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    return database_url


def _ok(runner, *args, input=None):
    result = runner.invoke(main, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_refuse_an_unmigrated_database(runner, cli_db):
    result = runner.invoke(main, ["projects", "list"])
    assert result.exit_code == 1 and "workbench db upgrade" in result.output


def test_full_cli_flow(runner, cli_db, tmp_path):
    _ok(runner, "db", "upgrade")
    _ok(runner, "users", "create", "r@example.org", "--role", "rater", "--password", "long enough pw")
    assert (
        "already exists"
        in runner.invoke(main, ["users", "create", "r@example.org", "--password", "long enough pw"]).output
    )
    assert "new" in _ok(runner, "rubrics", "load", "rubrics/")
    assert "unchanged" in _ok(runner, "rubrics", "load", "rubrics/pairwise-helpful-harmless.yaml")
    assert "overlap 2" in _ok(
        runner, "projects", "create", "p1", "--rubric", "pairwise-helpful-harmless", "--overlap", "2"
    )

    good = tmp_path / "items.jsonl"
    rows = [
        {"id": "a", "prompt": "Say hi", "responses": [{"model": "m1", "text": "hi"}, {"model": "m2", "text": "hello"}]},
        {"id": "b", "prompt": [{"role": "user", "content": "2+2?"}], "responses": [{"text": "4"}, {"text": "5"}]},
    ]
    good.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert "imported 2 items; 0 already present" in _ok(runner, "import", "p1", str(good))
    assert "imported 0 items; 2 already present" in _ok(runner, "import", "p1", str(good))

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "c", "prompt": "x", "responses": [{"text": "only one"}]}) + "\n{not json\n")
    result = runner.invoke(main, ["import", "p1", str(bad)])
    assert result.exit_code == 1
    assert (
        "line 1: responses" in result.output and "line 2" in result.output and "nothing was imported" in result.output
    )
    assert "items=2 " in _ok(runner, "projects", "list")

    out = tmp_path / "export"
    _ok(runner, "export", "p1", "--out", str(out))
    assert (out / "preferences.jsonl").exists() and (out / "manifest.json").exists()
    assert json.loads(_ok(runner, "agreement", "p1", "--json")) == []
    token = _ok(runner, "tokens", "create", "r@example.org").strip()
    assert token.startswith("wb_")


def test_demo_seeds_once_without_serving(runner, cli_db):
    first = _ok(runner, "demo", "--no-serve")
    assert "demo data created" in first and "rater@example.org" in first and "workbench-demo" in first
    assert "already present" in _ok(runner, "demo", "--no-serve")
    listing = _ok(runner, "projects", "list")
    assert "items=40  judgments=64/120" in listing and "items=15  judgments=0/30" in listing


def test_raters_and_leaderboard_commands(runner, cli_db):
    _ok(runner, "demo", "--no-serve")
    raters = json.loads(_ok(runner, "raters", "1", "--json"))
    assert raters["question"] == "helpful"
    by_name = {r["rater"]: r for r in raters["raters"]}
    assert by_name["Rater Two"]["n_judgments"] == 12 and by_name[MACHINE_NAME]["machine"] is True
    assert "worst first" in _ok(runner, "raters", "1", "--question", "helpful.strength")
    board = json.loads(_ok(runner, "leaderboard", "1", "--bootstrap", "100", "--json"))
    assert board["question_id"] == "helpful"
    assert set(board["humans"]["models"]) == {"gpt4", "gpt35", "vicuna-13b"}
    assert board["machines"]["n_comparisons"] == 40
    text = _ok(runner, "leaderboard", "1", "--bootstrap", "100")
    assert "human raters" in text and "machine raters" in text and "humans vs machines" in text
    result = runner.invoke(main, ["leaderboard", "2"])
    assert result.exit_code == 1 and "no pairwise question" in result.output


def test_raters_honours_threshold_setting(runner, cli_db, monkeypatch):
    _ok(runner, "demo", "--no-serve")
    assert "higher without these judgments" in _ok(runner, "raters", "1")
    monkeypatch.setenv("WORKBENCH_CALIBRATION_THRESHOLDS", '{"max_delta_alpha": 1.0}')
    assert "higher without these judgments" not in _ok(runner, "raters", "1")
    monkeypatch.setenv("WORKBENCH_CALIBRATION_THRESHOLDS", '{"nope": 1}')
    result = runner.invoke(main, ["raters", "1"])
    assert result.exit_code == 1 and "unknown threshold" in result.output


def test_report_writes_a_self_contained_file(runner, cli_db, tmp_path):
    _ok(runner, "demo", "--no-serve")
    out = tmp_path / "out" / "report.html"
    output = _ok(runner, "report", "Vicuna80 pairwise (demo)", "--out", str(out), "--bootstrap", "100")
    assert "wrote" in output
    html = out.read_text()
    assert html.startswith("<!doctype html>") and "<style>" in html and "<svg" in html
    assert 'href="/' not in html and 'src="' not in html  # nothing to fetch
    assert "Quality report: Vicuna80 pairwise (demo)" in html and 'id="coverage"' in html
    result = runner.invoke(main, ["report", "no such project", "--out", str(out)])
    assert result.exit_code == 1 and "no project" in result.output
    assert "&#34;" not in html.split("</style>")[0]  # the stylesheet is inlined verbatim
