"""``services.escalation`` and the ``judge alignment`` / ``judge escalate`` commands."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import make_item, make_project, make_rater
from tests.judge_builders import choice, make_judge, make_judgment, make_verdict
from workbench.cli import main
from workbench.db import make_engine
from workbench.errors import InvalidInput
from workbench.models import Escalation
from workbench.services.escalation import accepted_judge_labels, escalate, latest_escalation


def build(session: Session):
    """40 calibration items at confidence 0.9 where the judge agrees with the one human,
    20 at 0.5 where it does not, and items without human labels to decide."""
    project = make_project(session, name="escalation project")
    human = make_rater(session)
    judge = make_judge(session, "gpt-judge")
    for n in range(60):
        item = make_item(session, project, external_id=f"cal-{n:02d}")
        make_judgment(session, project, item, human, choice("A"))
        make_verdict(session, project, item, judge, choice("A" if n < 40 else "B"), 0.9 if n < 40 else 0.5)
    # People disagree here: neither calibration nor decided.
    split = make_item(session, project, external_id="split")
    make_judgment(session, project, split, human, choice("A"))
    make_judgment(session, project, split, make_rater(session), choice("B"))
    make_verdict(session, project, split, judge, choice("A"), 0.99)
    for external_id, confidence in (("new-sure", 0.95), ("new-fair", 0.6), ("new-unsure", 0.3), ("new-noconf", None)):
        make_verdict(
            session, project, make_item(session, project, external_id=external_id), judge, choice("B"), confidence
        )
    make_item(session, project, external_id="new-unjudged")
    gold = make_item(session, project, external_id="gold", is_gold=True)
    make_verdict(session, project, gold, judge, choice("A"), 0.99)
    session.flush()
    return project, judge


def test_threshold_decisions_and_replacement(session):
    project, judge = build(session)
    report = escalate(session, project, judge, 0.8, 0.1)
    s = report.selection
    # Above 0.5 only the 40 agreeing items remain: P(Bin(40, 0.2) <= 0) = 0.8**40 < 0.1; at 0.5,
    # 20 of 60 disagree and the search stops. The lowest passing grid point is 0.501.
    assert s.threshold == pytest.approx(0.501)
    assert (s.calibration_size, s.n_accepted, s.agreements) == (60, 40, 40)
    assert s.guaranteed_level == 0.8
    assert report.accepted == ("new-fair", "new-sure")
    assert report.escalated == ("new-noconf", "new-unjudged", "new-unsure")
    assert report.n_escalated_without_verdict == 2 and report.n_human_no_majority == 1
    rows = session.scalars(select(Escalation).where(Escalation.judge_id == judge.id)).all()
    assert len(rows) == 5 and {r.accepted for r in rows} == {True, False}

    strict = escalate(session, project, judge, 0.99, 0.01)
    assert strict.selection.threshold is None and strict.accepted == () and len(strict.escalated) == 5
    assert session.scalar(select(func.count()).select_from(Escalation)) == 5  # replaced, not added
    summary = latest_escalation(session, project, judge)
    assert (summary.accepted, summary.escalated, summary.threshold, summary.target_agreement) == (0, 5, None, 0.99)


def test_accepted_labels_carry_answers_and_provenance(session):
    project, judge = build(session)
    other = make_judge(session, "second-judge", model="other-model")
    assert accepted_judge_labels(session, project) == []
    escalate(session, project, judge, 0.8, 0.1)
    labels = accepted_judge_labels(session, project, judge)
    assert [label.external_id for label in labels] == ["new-sure", "new-fair"]  # item order
    first = labels[0]
    assert first.answers == choice("B")
    assert first.provenance["source"] == "judge" and first.provenance["judge"] == "gpt-judge"
    assert first.provenance["confidence"] == 0.95 and first.provenance["threshold"] == pytest.approx(0.501)
    assert (first.provenance["target_agreement"], first.provenance["delta"], first.provenance["question_id"]) == (
        0.8,
        0.1,
        "helpful",
    )
    assert accepted_judge_labels(session, project, other) == []
    assert len(accepted_judge_labels(session, project)) == 2


def test_levels_are_checked(session):
    project, judge = build(session)
    with pytest.raises(InvalidInput, match="target agreement"):
        escalate(session, project, judge, 1.0, 0.1)
    with pytest.raises(InvalidInput, match="delta"):
        escalate(session, project, judge, 0.8, 0)
    assert latest_escalation(session, project, judge) is None


@pytest.fixture
def cli_db(database_url, monkeypatch, tmp_path, runner):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(database_url)
    with Session(engine) as session:
        build(session)
        session.commit()
    engine.dispose()
    return database_url


def test_cli_escalate_and_alignment(runner, cli_db):
    result = runner.invoke(
        main,
        [
            "judge",
            "escalate",
            "escalation project",
            "--judge",
            "gpt-judge",
            "--target-agreement",
            "0.8",
            "--delta",
            "0.1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["accepted"] == ["new-fair", "new-sure"]
    assert payload["escalated"] == ["new-noconf", "new-unjudged", "new-unsure"]
    assert payload["threshold"] == pytest.approx(0.501) and payload["calibration_size"] == 60
    assert payload["guaranteed_level"] == 0.8 and (payload["accepted_count"], payload["escalated_count"]) == (2, 3)

    text = runner.invoke(
        main,
        [
            "judge",
            "escalate",
            "escalation project",
            "--judge",
            "gpt-judge",
            "--target-agreement",
            "0.8",
            "--delta",
            "0.1",
        ],
    )
    assert "threshold 0.501" in text.output and "accepted 2 items, escalated 3" in text.output

    result = runner.invoke(
        main, ["judge", "alignment", "escalation project", "--judge", "gpt-judge", "--bootstrap", "100", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["items"] == 60 and payload["agreement"] == pytest.approx(40 / 60)
    assert payload["confusion"]["matrix"] == [[40, 20, 0], [0, 0, 0], [0, 0, 0]]
    assert payload["cohen_kappa"] == pytest.approx(0.0)  # humans always said A: chance agreement
    assert payload["items_without_majority"] == 1 and payload["position_items"] == 0

    human = runner.invoke(
        main, ["judge", "alignment", "escalation project", "--judge", "gpt-judge", "--bootstrap", "50"]
    )
    assert "agreement 0.667" in human.output and "flags:" in human.output
    missing = runner.invoke(main, ["judge", "alignment", "escalation project", "--judge", "nobody"])
    assert missing.exit_code == 1 and "no judge 'nobody'" in missing.output


def test_cli_machine_raters_imported_are_not_human_labels(runner, cli_db, tmp_path):
    answers = {"helpful": {"choice": "A", "strength": 1}, "harmless": {"choice": "tie"}}
    rows = tmp_path / "published.jsonl"
    rows.write_text(json.dumps({"item_id": "new-unjudged", "rater": "gpt-4", "answers": answers}) + "\n")
    args = ["import-judgments", "escalation project", str(rows), "--machine-rater", "gpt-4", "--no-progress"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    escalate_args = ["judge", "escalate", "escalation project", "--judge", "gpt-judge"]
    escalate_args += ["--target-agreement", "0.8", "--delta", "0.1", "--json"]
    payload = json.loads(runner.invoke(main, escalate_args).output)
    assert "new-unjudged" in payload["escalated"]  # a machine's judgment is no human label
    rows.write_text(json.dumps({"item_id": "new-unjudged", "rater": "crowd", "answers": answers}) + "\n")
    assert runner.invoke(main, ["import-judgments", "escalation project", str(rows), "--no-progress"]).exit_code == 0
    payload = json.loads(runner.invoke(main, escalate_args).output)
    assert "new-unjudged" not in payload["escalated"] + payload["accepted"]  # a person labelled it
