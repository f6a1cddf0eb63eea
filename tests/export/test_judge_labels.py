"""Preference exports with judge labels: ``labels`` ``humans``, ``judge-accepted`` and ``both``.

The expected rows are written out by hand from the planted data: 60 calibration items the
one rater answered A (the judge agrees at confidence 0.9 on 40, disagrees at 0.5 on 20), and
items nobody rated that the judge answered with known confidences. ``escalate`` at target
0.8, delta 0.1 accepts exactly the new items at confidence above 0.5 (see
tests/services/test_escalation.py for the threshold).
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from tests.factories import make_item, make_project, make_rater
from tests.judge_builders import choice, make_judge, make_judgment, make_verdict
from workbench.errors import InvalidInput
from workbench.export import ExportOptions, count_preferences, export_preferences
from workbench.services.escalation import escalate

NEW = {"new-sure": ("B", 0.95), "new-fair": ("A", 0.6), "new-tie": ("tie", 0.9), "new-unsure": ("B", 0.3)}


def build(session: Session, judge_name: str = "gpt-judge"):
    project = make_project(session, name="judge labels")
    human = make_rater(session)
    judge = make_judge(session, judge_name, model="judge-model-1")
    for n in range(60):
        item = make_item(session, project, external_id=f"cal-{n:02d}")
        make_judgment(session, project, item, human, choice("A"))
        make_verdict(session, project, item, judge, choice("A" if n < 40 else "B"), 0.9 if n < 40 else 0.5)
    items = {}
    for external_id, (answer, confidence) in NEW.items():
        items[external_id] = make_item(session, project, external_id=external_id)
        make_verdict(session, project, items[external_id], judge, choice(answer), confidence)
        # The swapped repeat says the opposite: it must never be read as the label.
        flipped = {"A": "B", "B": "A", "tie": "tie"}[answer]
        make_verdict(session, project, items[external_id], judge, choice(flipped), confidence, swapped=True)
    report = escalate(session, project, judge, 0.8, 0.1)
    assert report.accepted == ("new-fair", "new-sure", "new-tie")
    session.flush()
    return project, judge, human, items


def rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def export(session, project, tmp_path, name="out", **options):
    summary = export_preferences(
        session, project, tmp_path / name, ExportOptions(formats=("jsonl", "parquet"), **options)
    )
    manifest = json.loads(summary.manifest_path.read_text(encoding="utf-8"))
    return summary, rows(summary.preferences_path), manifest


def test_humans_is_the_default_and_writes_no_provenance(session, tmp_path):
    project, _, _, _ = build(session)
    summary, out, manifest = export(session, project, tmp_path)
    assert len(out) == 60 and summary.judge_rows == 0
    assert "source" not in out[0] and "source" not in manifest["columns"] and "labels" not in manifest


def test_judge_accepted_writes_only_the_accepted_primary_verdicts(session, tmp_path):
    project, judge, _, items = build(session)
    summary, out, manifest = export(session, project, tmp_path, labels="judge-accepted")
    # new-tie is dropped (ties=drop); new-unsure was escalated, not accepted.
    assert [r["item_id"] for r in out] == ["new-fair", "new-sure"]
    fair, sure = out
    assert (fair["chosen"], fair["rejected"]) == (
        items["new-fair"].responses[0].text,
        items["new-fair"].responses[1].text,
    )
    assert (sure["chosen"], sure["rejected"]) == (
        items["new-sure"].responses[1].text,
        items["new-sure"].responses[0].text,
    )
    assert {(r["source"], r["judge"]) for r in out} == {("judge", "gpt-judge")}
    assert [r["judge_confidence"] for r in out] == [0.6, 0.95]
    assert [(r["n_ratings"], r["agreement"], r["margin"]) for r in out] == [(1, 1.0, 1.0)] * 2
    labels = manifest["labels"]
    assert labels["source"] == "judge-accepted" and labels["judge"] == {"name": "gpt-judge", "model": "judge-model-1"}
    assert labels["judge_counts"] == {
        "accepted": 3, "no_answer": 0, "left_to_raters": 0, "dropped_tie": 1, "exported": 2, "rows": 2,
    }  # fmt: skip
    assert labels["guarantee"]["target_agreement"] == 0.8 and labels["guarantee"]["delta"] == 0.1
    assert manifest["rubric"]["versions"] == [] and summary.rows == 0 and summary.judge_rows == 2
    table = pq.read_table(tmp_path / "out" / "preferences.parquet").to_pylist()
    assert [{k: r[k] for k in sorted(r)} for r in table] == out


def test_both_keeps_raters_rows_and_fills_in_judge_labels(session, tmp_path):
    project, judge, human, items = build(session)
    # A rater answers new-sure after the escalation: the rater's answer is the row.
    make_judgment(session, project, items["new-sure"], human, choice("A"))
    summary, out, manifest = export(session, project, tmp_path, labels="both", ties="keep")
    by_id = {r["item_id"]: r for r in out}
    assert len(out) == 63
    assert (
        by_id["new-sure"]["source"] == "humans" and by_id["new-sure"]["chosen"] == items["new-sure"].responses[0].text
    )
    assert by_id["new-sure"]["judge"] is None and by_id["new-sure"]["judge_confidence"] is None
    assert by_id["new-tie"]["source"] == "judge" and by_id["new-tie"]["tie"] is True
    assert by_id["new-fair"]["source"] == "judge"
    assert sum(r["source"] == "humans" for r in out) == 61
    counts = manifest["labels"]["judge_counts"]
    assert (counts["left_to_raters"], counts["exported"], counts["rows"]) == (1, 2, 2)
    assert manifest["counts"]["exported"] == 61
    totals = count_preferences(session, project, ExportOptions(labels="both", ties="keep"))
    assert (totals.exported, totals.judge_exported, totals.judge_rows) == (61, 2, 2)


def test_kto_and_per_rater_rows_carry_the_judge(session, tmp_path):
    project, _, _, _ = build(session)
    _, kto, _ = export(session, project, tmp_path, "kto", labels="judge-accepted", shape="kto")
    assert [(r["item_id"], r["label"], r["judge_confidence"]) for r in kto] == [
        ("new-fair", True, 0.6), ("new-fair", False, 0.6), ("new-sure", True, 0.95), ("new-sure", False, 0.95),
    ]  # fmt: skip
    _, per_rater, manifest = export(session, project, tmp_path, "pr", labels="both", aggregate="per_rater")
    judge_rows = [r for r in per_rater if r["source"] == "judge"]
    assert {r["rater"] for r in judge_rows} == {"judge:gpt-judge"} and len(judge_rows) == 2
    assert "rater" in manifest["columns"]


def test_refusals_name_the_fix(session, tmp_path):
    project = make_project(session, name="no judges")
    with pytest.raises(InvalidInput, match="judge escalate"):
        export_preferences(session, project, tmp_path / "a", ExportOptions(labels="judge-accepted"))
    with pytest.raises(InvalidInput) as err:
        ExportOptions(labels="humans", judge="gpt-judge")
    assert err.value.errors[0].location == "judge"
    with pytest.raises(InvalidInput) as err:
        ExportOptions(labels="judges")
    assert "humans, judge-accepted, both" in err.value.errors[0].message


def test_two_judges_need_a_name(session, tmp_path):
    project, _, _, _ = build(session)
    other = make_judge(session, "other-judge")
    for n in range(40):
        make_verdict(session, project, make_item(session, project, external_id=f"o-{n}"), other, choice("A"), 0.9)
    # Calibrate the second judge on the same human labels.
    from workbench.models import Item

    for item in session.query(Item).filter(Item.project_id == project.id, Item.external_id.like("cal-%")):
        make_verdict(session, project, item, other, choice("A"), 0.9)
    escalate(session, project, other, 0.8, 0.1)
    with pytest.raises(InvalidInput, match="several judges"):
        export_preferences(session, project, tmp_path / "a", ExportOptions(labels="judge-accepted"))
    summary, out, _ = export(session, project, tmp_path, labels="judge-accepted", judge="other-judge")
    assert len(out) == 40 and {r["judge"] for r in out} == {"other-judge"}
    with pytest.raises(InvalidInput, match="no accepted labels"):
        export_preferences(session, project, tmp_path / "b", ExportOptions(labels="both", judge="nobody"))


@pytest.fixture
def cli_db(database_url, monkeypatch, tmp_path, runner):
    from workbench.cli import main
    from workbench.db import make_engine

    monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(database_url)
    with Session(engine) as session:
        build(session)
        session.commit()
    engine.dispose()
    return database_url


def test_cli_export_with_judge_labels(runner, cli_db, tmp_path):
    from workbench.cli import main

    args = ["export", "judge labels", "--out", str(tmp_path / "cli"), "--format", "jsonl", "--labels", "both"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["rows"], summary["judge_rows"]) == (60, 2)
    sources = [r["source"] for r in rows(tmp_path / "cli" / "preferences.jsonl")]
    assert sources.count("judge") == 2 and sources.count("humans") == 60
    wrong = runner.invoke(main, [*args, "--judge", "nobody"])
    assert wrong.exit_code == 1 and "no accepted labels" in wrong.output


def test_export_page_counts_judge_rows(app, client, auth):
    with app.extensions["workbench"].sessionmaker() as session:
        project, _, _, _ = build(session)
        session.commit()
        project_id = project.id
    auth.login_as("researcher")
    page = client.get(f"/projects/{project_id}/export")
    assert 'name="labels"' in page.text and "accepted judge labels" in page.text
    count = client.get(
        f"/projects/{project_id}/export/count", query_string={"labels": "both"}, headers={"HX-Request": "true"}
    )
    assert count.status_code == 200 and "<strong>2 rows</strong> from 2 items labelled by the judge" in count.text
    bad = client.get(
        f"/projects/{project_id}/export/count",
        query_string={"labels": "both", "judge": "nobody"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422 and "no accepted labels" in bad.text


def test_the_dataset_card_states_the_guarantee(session, tmp_path):
    project, _, _, _ = build(session)
    summary, _, _ = export(session, project, tmp_path, labels="both")
    card = summary.card_path.read_text(encoding="utf-8")
    assert (
        "## Labels" in card and "judge `gpt-judge`" in card and "at least 0.8 with probability at least 1 - 0.1" in card
    )


def test_research_api_exports_judge_labels(app, client):
    from tests.factories import make_user
    from workbench.services.users import create_api_token

    with app.extensions["workbench"].sessionmaker() as session:
        project, _, _, _ = build(session)
        token = create_api_token(session, make_user(session, "researcher"))
        session.commit()
        project_id = project.id
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/projects/{project_id}/export"
    response = client.get(url, query_string={"labels": "judge-accepted", "bootstrap": 0}, headers=headers)
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [(r["item_id"], r["source"]) for r in lines] == [("new-fair", "judge"), ("new-sure", "judge")]
    wrong = client.get(url, query_string={"labels": "both", "judge": "nobody"}, headers=headers)
    assert wrong.status_code == 422 and "no accepted labels" in wrong.text
