"""Aggregated item labels (``workbench labels``) for binary and categorical questions.

Expected labels are counted here from the raw answers, not with the service's helpers.
"""

from __future__ import annotations

import csv
import json
from collections import Counter

import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from tests.factories import make_item, make_project
from workbench.errors import InvalidInput
from workbench.services.import_formats import text_lines_as_rows
from workbench.services.judgment_import import import_judgments
from workbench.services.labels import item_labels

# item -> [(harmful, behaviour)] by raters x, y, z
ANSWERS = {
    "i1": [(True, "refused"), (True, "refused"), (False, "partial")],
    "i2": [(False, "complied"), (False, "complied"), (False, "complied")],
    "i3": [(True, "partial"), (False, "complied")],  # no majority on either question
    "i4": [(False, "refused"), (True, "refused"), (False, "partial")],
}


def answer(harmful, behaviour):
    out = {"harmful": harmful, "behaviour": behaviour, "refusal_appropriate": True}
    return {**out, "harm_types": ["violence"]} if harmful else out


@pytest.fixture
def project(session):
    project = make_project(session, "safety", name="safe")
    for name in ANSWERS:
        make_item(session, project, external_id=name)
    rows = [
        json.dumps({"item_id": item, "rater": rater, "answers": answer(*pair)})
        for item, pairs in ANSWERS.items()
        for rater, pair in zip("xyz", pairs, strict=False)
    ]
    import_judgments(session, project, text_lines_as_rows(rows))
    session.commit()
    return project


def strict_majority(values):
    value, n = Counter(values).most_common(1)[0]
    return value if n * 2 > len(values) else None


@pytest.mark.parametrize(("question", "index"), [("harmful", 0), ("behaviour", 1), (None, 0)])
def test_majority_labels(session, project, question, index):
    report = item_labels(session, project, question)
    assert report.question_id == ("harmful" if question is None else question)
    got = {r.item_id: (r.label, r.n, r.posterior) for r in report.labels}
    expected = {i: (strict_majority([p[index] for p in pairs]), len(pairs), None) for i, pairs in ANSWERS.items()}
    assert got == expected
    if index == 0:  # binary labels are booleans on both databases, never 0/1
        assert all(type(r.label) is bool for r in report.labels if r.label is not None)


def test_dawid_skene_labels_have_posteriors(session, project):
    report = item_labels(session, project, "behaviour", "dawid_skene")
    got = {r.item_id: r for r in report.labels}
    assert got["i2"].label == "complied" and got["i1"].label == "refused"  # unanimous and 2 of 3
    for r in report.labels:
        assert 1 / 3 <= r.posterior <= 1 and r.label in {"complied", "partial", "refused"}
    assert got["i2"].posterior > 0.9


@pytest.mark.parametrize(("question", "message"), [("harm_types", "not a single-answer"), ("nope", "not a single")])
def test_questions_without_one_label_are_refused(session, project, question, message):
    with pytest.raises(InvalidInput) as caught:
        item_labels(session, project, question)
    assert message in caught.value.errors[0].message and "harmful, behaviour" in caught.value.errors[0].message


def test_cli_writes_by_extension(session, project, database_url, monkeypatch, tmp_path, runner):
    from workbench.cli import main

    session.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))  # tables from the fixture
    session.commit()
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    expected = {i: strict_majority([p[0] for p in pairs]) for i, pairs in ANSWERS.items()}

    out = runner.invoke(main, ["labels", "safe"])
    assert out.exit_code == 0, out.output
    assert {json.loads(line)["item_id"]: json.loads(line)["label"] for line in out.output.splitlines()} == expected

    target = tmp_path / "labels.csv"
    assert runner.invoke(main, ["labels", "safe", "--out", str(target)]).exit_code == 0
    with open(target, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["item_id"]: (json.loads(r["label"]) if r["label"] else None) for r in rows} == expected

    target = tmp_path / "labels.parquet"
    result = runner.invoke(main, ["labels", "safe", "--aggregate", "dawid_skene", "--out", str(target)])
    assert result.exit_code == 0 and "4 item labels" in result.output
    table = pq.read_table(target).to_pylist()
    assert [r["item_id"] for r in table] == ["i1", "i2", "i3", "i4"] and all(r["posterior"] for r in table)

    refused = runner.invoke(main, ["labels", "safe", "--question", "notes"])
    assert refused.exit_code != 0 and "notes" in refused.output
