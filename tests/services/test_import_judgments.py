"""Importing judgments from elsewhere: external raters, response ids, duplicates, round trips on real data."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.factories import make_item, make_project
from workbench.errors import ImportInvalid
from workbench.export import ExportOptions, export_preferences
from workbench.models import Judgment, User
from workbench.rubric import parse_rubric
from workbench.services.adapters import llmbar_items, llmbar_judgments
from workbench.services.agreement import project_agreement
from workbench.services.calibration import rater_calibration
from workbench.services.import_formats import text_lines_as_rows
from workbench.services.imports import import_rows
from workbench.services.judgment_import import EXTERNAL_DOMAIN, import_judgments
from workbench.services.projects import create_project
from workbench.services.rubrics import load_rubric

ONE_QUESTION = {
    "slug": "which-is-better",
    "title": "Which is better",
    "version": 1,
    "task_kind": "pairwise",
    "guidelines": "Pick the better response.",
    "questions": [
        {"id": "better", "type": "pairwise", "label": "Better", "prompt": "Which is better?", "allow_tie": True}
    ],
}


def one_question_project(session, name="labels"):
    load_rubric(session, parse_rubric(ONE_QUESTION))
    return create_project(session, name, ONE_QUESTION["slug"], overlap_k=3)


def rows(*records):
    return text_lines_as_rows([r if isinstance(r, str) else json.dumps(r) for r in records])


def judgment_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Judgment))


@pytest.fixture
def project(session):
    project = make_project(session, overlap_k=3)
    for name in ("x1", "x2"):
        make_item(session, project, external_id=name)
    session.commit()
    return project


def answer(choice, strength=None):
    pick = {"choice": choice} if strength is None else {"choice": choice, "strength": strength}
    return {"helpful": pick, "harmless": {"choice": "tie"}}


def test_raters_become_inactive_external_users_and_reimport_changes_nothing(session, project):
    data = [
        {"item_id": "x1", "rater": "worker-17", "answers": answer("A", 2), "submitted_at": "2024-05-01T12:00:00Z"},
        {"item_id": "x2", "rater": "worker-17", "answers": answer("B", 3)},
        {"item_id": "x1", "rater": "worker-42", "answers": answer("r1", 1)},  # a response id
    ]
    report = import_judgments(session, project, rows(*data))
    assert (report.imported, report.duplicates, report.raters_created) == (3, 0, 2)
    users = session.scalars(select(User).where(User.email.like(f"%@{EXTERNAL_DOMAIN}"))).all()
    assert sorted(u.name for u in users) == ["worker-17", "worker-42"]
    assert all(not u.active and u.password_hash is None for u in users)
    stored = {(j.item.external_id, j.rater.name): j for j in session.scalars(select(Judgment))}
    assert stored[("x1", "worker-42")].answers["helpful"] == {"choice": "B", "strength": 1}  # r1 = position 1
    assert stored[("x1", "worker-17")].submitted_at.isoformat() == "2024-05-01T12:00:00+00:00"
    assert stored[("x1", "worker-17")].display_order == []
    session.commit()

    again = import_judgments(session, project, rows(*data))
    assert (again.imported, again.duplicates, again.raters_created) == (0, 3, 0)
    assert judgment_count(session) == 3


BAD = [
    pytest.param({"item_id": "nope", "rater": "w", "answers": answer("A", 1)}, "line 2: item_id", id="unknown-item"),
    pytest.param(
        {"item_id": "x1", "rater": "w", "answers": answer("r9")},
        "line 2: answers/helpful/choice",
        id="unknown-response-id",
    ),
    pytest.param({"item_id": "x1", "answers": answer("A", 1)}, "line 2: rater", id="missing-rater"),
    pytest.param({"item_id": "x1", "rater": 7, "answers": answer("A", 1)}, "line 2: rater", id="rater-not-text"),
    pytest.param(
        {"item_id": "x1", "rater": "w", "answers": {"helpful": {"choice": "A", "strength": 1}}},
        "line 2: answers/harmless",
        id="missing-answer",
    ),
    pytest.param(
        {"item_id": "x1", "rater": "w", "answers": answer("A", 9)},
        "line 2: answers/helpful/strength",
        id="strength-out-of-range",
    ),
    pytest.param(
        {"item_id": "x1", "rater": "w", "answers": answer("A", 1), "submitted_at": "2024-05-01"},
        "line 2: submitted_at",
        id="naive-time",
    ),
    pytest.param({"item_id": "x2", "rater": "a", "answers": answer("A", 1)}, "line 2: rater", id="same-rater-twice"),
    pytest.param("{broken", "line 2", id="broken-json"),
    pytest.param(
        {"item_id": "x1", "rater": "w", "answers": answer("A", 1), "extra": 1}, "line 2: extra", id="unknown-field"
    ),
]


@pytest.mark.parametrize(("bad", "where"), BAD)
def test_a_bad_row_aborts_the_import(session, project, bad, where):
    good = {"item_id": "x2", "rater": "a", "answers": answer("A", 1)}
    with pytest.raises(ImportInvalid) as info:
        import_judgments(session, project, rows(good, bad))
    session.rollback()
    locations = [e.location for e in info.value.errors]
    assert any(loc.startswith(where) for loc in locations), str(info.value)
    assert all(loc.startswith("line 2") for loc in locations), str(info.value)
    assert judgment_count(session) == 0
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_skip_invalid_keeps_the_good_rows(session, project):
    report = import_judgments(
        session,
        project,
        rows(
            {"item_id": "x1", "rater": "a", "answers": answer("A", 1)},
            {"item_id": "zz", "rater": "a", "answers": answer("A", 1)},
        ),
        skip_invalid=True,
    )
    assert report.imported == 1 and [e.as_dict() for e in report.rejected] == [
        {"line": 2, "field": "item_id", "message": f"no item 'zz' in project {project.name!r}"}
    ]


def test_imported_judgments_feed_agreement_and_calibration(session, project):
    data = [
        {"item_id": item, "rater": rater, "answers": answer(choice, 1)}
        for rater, picks in {"a": "AB", "b": "AB", "c": "AA"}.items()
        for item, choice in zip(("x1", "x2"), picks, strict=True)
    ]
    import_judgments(session, project, rows(*data))
    alphas = {qa.question_id: qa.result for qa in project_agreement(session, project, n_resamples=10)}
    assert alphas["helpful"].n_units == 2 and alphas["helpful"].alpha is not None
    report = rater_calibration(session, project, "helpful")
    assert sorted(r.name for r in report.rows) == ["a", "b", "c"]
    assert all(r.calibration.n_judgments == 2 for r in report.rows)


def test_llmbar_round_trip_matches_the_published_labels(session, reference_data, tmp_path):
    """Every LLMBar subset: items and gold labels in, preferences out; chosen = output_<label>."""
    files = sorted((reference_data / "preferences" / "llmbar").glob("*.dataset.json"))
    assert len(files) == 8
    project = one_question_project(session)
    expected = {}
    for path in files:
        pairs = json.loads(path.read_text(encoding="utf-8"))
        assert import_rows(session, project, llmbar_items(path)).imported == len(pairs)
        report = import_judgments(session, project, llmbar_judgments(path, "better"))
        assert report.imported == len(pairs)
        stem = path.name.removesuffix(".dataset.json")
        for n, pair in enumerate(pairs):
            label = int(pair["label"])
            expected[f"{stem}-{n:04d}"] = (pair["input"], pair[f"output_{label}"], pair[f"output_{3 - label}"])
    assert len(expected) == 885

    summary = export_preferences(
        session, project, tmp_path, ExportOptions(formats=("jsonl", "parquet"), alpha_resamples=0)
    )
    lines = [json.loads(line) for line in summary.preferences_path.read_text(encoding="utf-8").splitlines()]
    assert summary.exported == len(lines) == len(expected)
    for line in lines:
        prompt, chosen, rejected = expected[line["item_id"]]
        assert (line["prompt"], line["chosen"], line["rejected"]) == (prompt, chosen, rejected)
        assert line["n_ratings"] == 1 and line["agreement"] == 1.0

    import pyarrow.parquet as pq

    table = pq.read_table(summary.parquet_path)
    assert table.column("chosen").to_pylist() == [line["chosen"] for line in lines]
    assert table.column("rejected").to_pylist() == [line["rejected"] for line in lines]


def test_imported_pairwise_raters_show_their_true_tie_rate_and_no_order_figures(session):
    project = one_question_project(session, "ties")
    choices = ["tie", "A", "B", "A", "B", "A", "A", "B", "tie", "A"]  # 2 ties in 10
    import_rows(
        session,
        project,
        rows(*[{"id": f"u{n}", "prompt": "p", "responses": [{"text": "a"}, {"text": "b"}]} for n in range(10)]),
    )
    import_judgments(
        session,
        project,
        rows(
            *[{"item_id": f"u{n}", "rater": "w1", "answers": {"better": {"choice": c}}} for n, c in enumerate(choices)]
        ),
    )
    session.commit()
    (row,) = rater_calibration(session, project).rows
    assert row.calibration.tie_rate == pytest.approx(0.2)
    assert (
        row.calibration.straight_lining is None and row.calibration.drift is None
    )  # one shared timestamp: order unknown


def _repeated_rows():
    return rows(
        {"item_id": "u0", "rater": "w1", "answers": {"better": {"choice": "A"}}},
        {"item_id": "u1", "rater": "w1", "answers": {"better": {"choice": "B"}}},
        {"item_id": "u0", "rater": "w1", "answers": {"better": {"choice": "B"}}},
        {"item_id": "u0", "rater": "w1", "answers": {"better": {"choice": "tie"}}},
    )


def _two_items(session, name):
    project = one_question_project(session, name)
    import_rows(
        session,
        project,
        rows(*[{"id": f"u{n}", "prompt": "p", "responses": [{"text": "a"}, {"text": "b"}]} for n in range(2)]),
    )
    return project


def _stored(session, project):
    return sorted(
        (j.item.external_id, j.answers["better"]["choice"])
        for j in session.scalars(select(Judgment).where(Judgment.project_id == project.id))
    )


def test_repeated_rows_are_refused_by_default_with_the_option_named(session):
    project = _two_items(session, "refuse")
    with pytest.raises(ImportInvalid) as caught:
        import_judgments(session, project, _repeated_rows())
    assert any("--repeats" in e.message and "line 1" in e.message for e in caught.value.errors)


@pytest.mark.parametrize(
    ("policy", "expected", "stored", "dropped"),
    [
        ("keep-first", [("u0", "A"), ("u1", "B")], 0, 2),
        ("keep-last", [("u0", "tie"), ("u1", "B")], 0, 2),
        ("as-repeats", [("u0", "A"), ("u1", "B")], 1, 1),
    ],
)
def test_repeated_rows_follow_the_chosen_policy(session, policy, expected, stored, dropped):
    from workbench.models import RepeatJudgment

    project = _two_items(session, policy)
    report = import_judgments(session, project, _repeated_rows(), repeats=policy)
    assert (report.imported, report.repeats_stored, report.repeats_dropped) == (2, stored, dropped)
    assert _stored(session, project) == expected
    repeats = session.scalars(select(RepeatJudgment).where(RepeatJudgment.project_id == project.id)).all()
    assert [r.answers["better"]["choice"] for r in repeats] == (["B"] if policy == "as-repeats" else [])
    if policy == "as-repeats":
        (row,) = rater_calibration(session, project).rows
        assert (row.self_agreement.successes, row.self_agreement.trials) == (0, 1)  # A first, B on the repeat
