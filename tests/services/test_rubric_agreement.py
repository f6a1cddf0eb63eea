"""Agreement per rubric version, across projects; versions (and meaning changes) never pool."""

from __future__ import annotations

import copy

import pytest

from tests.factories import make_items, make_project, make_rater
from workbench.services.agreement import project_agreement
from workbench.services.assignment import next_assignment
from workbench.services.judging import record_judgment
from workbench.services.rubric_agreement import rubric_agreement
from workbench.services.rubric_versions import open_draft, publish_draft, save_draft

SLUG = "response-quality"


def rate_all(session, project, raters, answer_for, key):
    """Every rater rates every open item once, with ``answer_for(rater_index, item_id)``."""
    for r, rater in enumerate(raters):
        while (task := next_assignment(session, project, rater)) is not None:
            answers = {q: answer_for(r, task.item_id) for q in ("accuracy", "coherence", "coverage", "overall")}
            record_judgment(session, rater, task.lease_id, answers, f"{key}-{r}-{task.item_id}")


@pytest.fixture
def two_versions(session):
    project = make_project(session, SLUG, overlap_k=2)
    items = make_items(session, project, 4)
    raters = [make_rater(session) for _ in range(2)]
    # v1: raters disagree a lot.
    rate_all(session, project, raters, lambda r, item: 1 + (item * (r + 3)) % 7, "v1")
    v1 = project.rubric.versions[0]
    draft = open_draft(session, project.rubric)
    doc = copy.deepcopy(draft.document)
    doc["guidelines"] += "\nUse 4 only when truly undecided.\n"
    doc["questions"][3].update(
        max=5, anchors={"1": "very poor", "3": "acceptable", "5": "excellent"}
    )  # a meaning change
    save_draft(session, draft, doc)
    v2 = publish_draft(session, draft, "clearer guidelines, 5-point overall")
    # v2: a second project with new items, raters agree perfectly.
    other = make_project(session, SLUG, overlap_k=2)
    make_items(session, other, 3)
    rate_all(session, other, raters, lambda r, item: 1 + item % 5, "v2")
    return project, other, v1, v2, items


def test_alpha_per_version_with_items_and_judgments(session, two_versions):
    project, other, v1, v2, items = two_versions
    result = rubric_agreement(session, project.rubric, n_resamples=50)
    assert [va.version.number for va in result.versions] == [1, 2]
    first, second = result.versions
    assert (first.n_items, first.n_judgments) == (4, 8)
    assert (second.n_items, second.n_judgments) == (3, 6)
    assert second.alphas["overall"].alpha == pytest.approx(1.0)
    assert first.alphas["overall"].alpha < 0.5
    assert first.alphas["overall"].n_units == 4 and second.alphas["overall"].n_units == 3
    assert [key for key, _ in result.questions] == ["accuracy", "coherence", "coverage", "overall"]


def test_versions_are_never_pooled_in_project_agreement(session, two_versions):
    project, other, v1, v2, items = two_versions
    # A project following the rubric judges the same items under both versions.
    raters = [make_rater(session) for _ in range(2)]
    project.overlap_k = 4
    rate_all(session, project, raters, lambda r, item: 3, "late")
    rows = {
        (qa.question_id, qa.rubric_version): qa.result for qa in project_agreement(session, project, n_resamples=20)
    }
    assert rows[("overall", 1)].n_units == 4 and rows[("overall", 2)].n_units == 4
    assert rows[("overall", 2)].n_values == 8  # only the v2 judgments
