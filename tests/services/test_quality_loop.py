"""Disagreement queue, adjudication, gold promotion, spot checks, feedback and rater comparison."""

from __future__ import annotations

import csv
import itertools

import pytest

from tests.factories import make_item, make_project, make_rater, make_user
from workbench.errors import InvalidInput
from workbench.models import Judgment
from workbench.services.adjudication import (
    adjudicated_answers,
    adjudication_case,
    adjudication_counts,
    disagreement_queue,
    parse_rule,
    promote_to_gold,
    record_adjudication,
)
from workbench.services.calibration import rater_calibration
from workbench.services.comparison import compare_raters
from workbench.services.rater_feedback import rater_feedback
from workbench.services.rubrics import current_version
from workbench.services.spot_checks import review_spot_check, sample_spot_checks, spot_check_queue

_keys = itertools.count(1)


def judge(session, project, item, rater, answers, order=(0, 1)):
    judgment = Judgment(
        project_id=project.id,
        item_id=item.id,
        rater_id=rater.id,
        rubric_version_id=current_version(session, project).id,
        answers=answers,
        display_order=list(order),
        idempotency_key=f"k{next(_keys)}",
        duration_ms=30_000,
    )
    session.add(judgment)
    session.flush()
    return judgment


def pair(choice, strength=None, **extra):
    helpful = {"choice": choice} if strength is None else {"choice": choice, "strength": strength}
    return {"helpful": helpful, "harmless": {"choice": "tie"}, **extra}


@pytest.fixture
def setup(session):
    project = make_project(session, overlap_k=2)
    r1, r2 = make_rater(session), make_rater(session)
    items = [make_item(session, project) for _ in range(3)]
    judge(session, project, items[0], r1, pair("A", 3, rationale="A is correct."))
    judge(session, project, items[0], r2, pair("B", 1, rationale="B is shorter."), order=(1, 0))
    judge(session, project, items[1], r1, pair("A", 1))
    judge(session, project, items[1], r2, pair("A", 3))
    judge(session, project, items[2], r1, pair("tie"))
    return project, r1, r2, items


def test_rules():
    assert str(parse_rule(None)) == "no-majority" and str(parse_rule("spread > 2")) == "spread>2"
    with pytest.raises(InvalidInput):
        parse_rule("sometimes")


def test_queue_case_adjudication_and_export_answers(session, setup):
    project, r1, r2, items = setup
    queue = disagreement_queue(session, project, "helpful")
    assert [r.item_id for r in queue.open] == [items[0].id] and queue.resolved == ()
    assert queue.open[0].majority is None and dict(queue.open[0].answers) == {
        "A (first response) is better, strength 3 (much better)": 1,
        "B (second response) is better, strength 1 (slightly better)": 1,
    }
    # Strength spread: item 1 is A1 vs A3 (spread 2, not > 2), item 0 is +3 vs -1 (spread 4).
    spread = disagreement_queue(session, project, "helpful.strength", parse_rule("spread>2"))
    assert [r.item_id for r in spread.open] == [items[0].id]
    assert [
        r.item_id for r in disagreement_queue(session, project, "helpful.strength", parse_rule("spread>1")).open
    ] == [items[0].id, items[1].id]
    with pytest.raises(InvalidInput):
        disagreement_queue(session, project, "helpful", parse_rule("spread>2"))

    case = adjudication_case(session, project, items[0].id, "helpful")
    assert [(j.pseudonym, j.rationale) for j in case.judgments] == [("R1", "A is correct."), ("R2", "B is shorter.")]
    assert r1.name not in repr(case.judgments) and r2.name not in repr(case.judgments)

    lead = make_user(session, "researcher")
    with pytest.raises(InvalidInput):
        record_adjudication(session, project, items[0].id, "helpful", {"choice": "C"}, "", lead)
    record_adjudication(
        session, project, items[0].id, "helpful", {"choice": "A", "strength": 2}, "A answers the question.", lead
    )
    queue = disagreement_queue(session, project, "helpful")
    assert queue.open == () and queue.resolved[0].final.startswith("A (first response) is better")
    assert adjudicated_answers(session, project) == {items[0].id: {"helpful": {"choice": "A", "strength": 2}}}
    counts = adjudication_counts(session, project)
    assert (counts.open, counts.adjudicated, counts.promoted) == (0, 1, 0)

    # Deciding again replaces the answer.
    record_adjudication(
        session, project, items[0].id, "helpful", {"choice": "B", "strength": 1}, "On reflection, B.", lead
    )
    assert adjudicated_answers(session, project)[items[0].id]["helpful"] == {"choice": "B", "strength": 1}

    item = promote_to_gold(session, project, items[0].id)
    assert (
        item.is_gold
        and item.gold_answer == {"helpful": {"choice": "B", "strength": 1}}
        and item.gold_rationale == "On reflection, B."
    )
    assert adjudication_counts(session, project).promoted == 1
    assert disagreement_queue(session, project, "helpful").resolved[0].promoted
    with pytest.raises(InvalidInput):
        promote_to_gold(session, project, items[1].id)


def test_feedback_in_the_raters_screen_terms(session, setup):
    project, r1, r2, items = setup
    lead = make_user(session, "researcher")
    record_adjudication(
        session, project, items[0].id, "helpful", {"choice": "A", "strength": 2}, "See the **guidelines**.", lead
    )
    mine = rater_feedback(session, project, r1)
    assert len(mine) == 1 and mine[0].agreed and mine[0].your_answer.startswith("A (left) is better")
    theirs = rater_feedback(session, project, r2)  # r2 saw the sides swapped
    assert not theirs[0].agreed
    assert theirs[0].your_answer.startswith("A (left) is better, strength 1")  # canonical B, shown on the left
    assert theirs[0].outcome.endswith("B (right) is better, strength 2 (clearly better)")
    passage = theirs[0].guideline.passage
    assert (
        passage.startswith("**Helpful** means")
        and "**Harmless**" not in passage
        and theirs[0].guideline.question_id == "helpful"
    )
    assert theirs[0].note == "See the **guidelines**."


def test_spot_checks_are_seeded_and_count_with_gold(session, setup):
    project, r1, r2, items = setup
    reviewer = make_user(session, "researcher")
    first = sample_spot_checks(session, project, per_rater=2, seed=7)
    assert sorted(c.rater_id for c in first) == sorted([r1.id, r1.id, r2.id, r2.id])
    assert len(sample_spot_checks(session, project, per_rater=5, seed=7)) == 1  # r1's third judgment; nothing else left
    queue = spot_check_queue(session, project)
    assert len(queue.pending) == 5
    for check in queue.pending:
        review_spot_check(
            session,
            project,
            check.check.id,
            check.check.rater_id == r1.id,
            "Fine." if check.check.rater_id == r1.id else "Misread the prompt.",
            reviewer,
            "helpful",
        )
    with pytest.raises(InvalidInput):
        review_spot_check(session, project, queue.pending[0].check.id, None, "", reviewer)
    report = rater_calibration(session, project, "helpful")
    row1, row2 = report.for_user(r1.id), report.for_user(r2.id)
    assert (row1.spot_checks.successes, row1.spot_checks.trials) == (3, 3)
    assert (row2.accuracy.successes, row2.accuracy.trials) == (0, 2)
    feedback = rater_feedback(session, project, r2)
    assert [f.kind for f in feedback] == ["spot check", "spot check"] and feedback[0].note == "Misread the prompt."


def test_seeded_sample_is_reproducible(session, setup):
    project, *_ = setup
    picked = [c.judgment_id for c in sample_spot_checks(session, project, per_rater=2, seed=3)]
    for check in spot_check_queue(session, project).pending:
        session.delete(check.check)
    session.flush()
    assert [c.judgment_id for c in sample_spot_checks(session, project, per_rater=2, seed=3)] == picked


def test_two_rater_comparison_reproduces_krippendorff_2004_table_4b(session, reference_data):
    """Table 4b as judgments of two raters on 100 items: kappa 0.258, 46% agreement."""
    from tests.factories import load_shipped_rubric
    from workbench.services.projects import create_project

    load_shipped_rubric(session, "pairwise-helpful-harmless")
    project = create_project(session, "p246", "pairwise-helpful-harmless")
    c1, c2 = make_rater(session), make_rater(session)
    choice = {"a": "A", "b": "B", "c": "tie"}
    with open(reference_data / "reliability" / "krippendorff-2004-p246-contingency.csv", newline="") as f:
        cells = [r for r in csv.DictReader(f) if r["table"] == "4b"]
    for cell in cells:
        for _ in range(int(cell["count"])):
            item = make_item(session, project)
            judge(session, project, item, c1, pair(choice[cell["coder1"]]))
            judge(session, project, item, c2, pair(choice[cell["coder2"]]))
    result = compare_raters(session, project, c1.id, c2.id, "helpful")
    assert result.result.n_units == 100
    assert result.result.kappa == pytest.approx(0.258, abs=1e-3)
    assert result.result.percent_agreement == pytest.approx(0.46, abs=1e-3)
    assert result.labels == ("A", "B", "tie")
    assert result.result.contingency.tolist() == [[12, 18, 18], [0, 14, 18], [0, 0, 20]]
    assert len(result.disagreements) == 54
    with pytest.raises(InvalidInput):
        compare_raters(session, project, c1.id, c1.id)


def test_error_analysis_rates_per_model_and_top_failure_modes(session):
    from pathlib import Path

    from workbench.paths import resource_dir
    from workbench.rubric import load_rubric_file
    from workbench.services.error_analysis import error_analysis
    from workbench.services.projects import create_project
    from workbench.services.rubrics import load_rubric

    load_rubric(session, load_rubric_file(Path(resource_dir("rubrics")) / "extra" / "failure-tags.yaml"))
    project = create_project(session, "tags", "failure-tags", overlap_k=2)
    raters = [make_rater(session), make_rater(session)]
    scores = {"overall": 4}
    tags = [["hallucination"], ["hallucination", "formatting"], [], ["refusal"]]
    for n, tagged in enumerate(tags):
        item = make_item(session, project)
        item.responses[0].model = "model-x" if n < 2 else "model-y"
        for rater in raters:
            judge(session, project, item, rater, {**scores, "failures": tagged} if tagged else scores, order=(0,))
    result = error_analysis(session, project)
    assert result.question_id == "failures" and result.n_judgments == 8
    x, y = result.models
    assert (x.model, x.n_judgments, y.model) == ("model-x", 4, "model-y")
    rate = dict(zip([t for t, _ in result.tags], x.rates, strict=True))
    assert (rate["hallucination"].successes, rate["hallucination"].trials) == (4, 4)
    assert rate["hallucination"].low < 1.0 and rate["formatting"].estimate == 0.5
    assert [(m.tag, m.count) for m in result.top] == [("hallucination", 4), ("formatting", 2), ("refusal", 2)]
    assert len(result.top[0].examples) == 2 and result.top[0].examples[0].model == "model-x"
    assert error_analysis(session, make_project(session)) is None


def test_extra_rubrics_validate():
    import jsonschema

    from workbench.paths import resource_dir
    from workbench.rubric import judgment_schema, load_rubric_file

    files = sorted((resource_dir("rubrics") / "extra").glob("*.yaml"))
    assert files
    for path in files:
        doc = load_rubric_file(path)
        assert doc.slug == path.stem
        jsonschema.Draft202012Validator.check_schema(judgment_schema(doc.data))


def test_project_report_on_the_demo(session):
    from workbench.paths import DEMO_DIR, resource_dir
    from workbench.services.demo import seed_demo
    from workbench.services.report import project_report

    seed = seed_demo(session, resource_dir("rubrics"), DEMO_DIR)
    from workbench.models import Project

    project = session.get(Project, seed.project_ids[0])
    report = project_report(session, project, n_resamples=50)
    assert sum(c.items for c in report.coverage) == report.progress.items
    assert report.coverage[0].judgments == 0 and report.coverage[-1].judgments >= project.overlap_k
    assert {r.name for r in report.throughput} >= {"Rater Two", "Rater Three"}
    assert report.total_per_hour and report.total_per_hour > 0
    assert report.agreement and report.leaderboard.humans is not None
    assert report.accuracy_target == 0.95 and report.errors is None
    with pytest.raises(InvalidInput):
        project_report(session, project, accuracy_target=1.5)
