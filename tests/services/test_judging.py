"""Recording judgments: validation, canonical orientation, idempotency, lease rules."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import PAIR_ANSWER, SINGLE_RUBRIC, make_item, make_project
from workbench.errors import Conflict, InvalidInput, JudgmentInvalid, NotFound
from workbench.models import Judgment, Lease
from workbench.rubric import parse_rubric
from workbench.services.assignment import next_assignment
from workbench.services.judging import judgments_for_rater, record_judgment
from workbench.services.projects import create_project
from workbench.services.rubrics import load_rubric
from workbench.services.users import create_user

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
_n = itertools.count(1)

PER_RESPONSE_RUBRIC = {
    "slug": "pair-per-response",
    "title": "Pairwise with per-response scales",
    "task_kind": "pairwise",
    "guidelines": "Compare, then rate each response.",
    "questions": [
        {"id": "helpful", "type": "pairwise", "prompt": "Which is more helpful?", "strength": {"max": 3}},
        {"id": "fluency", "type": "likert", "prompt": "How fluent is each?", "min": 1, "max": 5, "per_response": True},
        {"id": "overall", "type": "likert", "prompt": "Overall quality of the pair?", "min": 1, "max": 5},
        {
            "id": "why",
            "type": "text",
            "prompt": "Why a tie?",
            "required_when": {"question": "helpful", "equals": "tie"},
        },
    ],
}


def make_rater(session):
    return create_user(session, f"judge-rater{next(_n)}@example.org", "rater", None)


def key() -> str:
    return f"idem-{next(_n)}"


def judgment_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Judgment))


@pytest.fixture
def per_response_project(session):
    load_rubric(session, parse_rubric(PER_RESPONSE_RUBRIC))
    return create_project(session, "per-response", "pair-per-response", overlap_k=2)


def test_answers_are_stored_in_canonical_orientation(session, per_response_project):
    project = per_response_project
    item = make_item(session, project)
    tasks = {}
    for _ in range(2):  # two raters on one item: counterbalancing shows it once each way
        rater = make_rater(session)
        task = next_assignment(session, project, rater, now=T0)
        tasks[tuple(session.get(Lease, task.lease_id).display_order)] = (rater, task)
    assert set(tasks) == {(0, 1), (1, 0)}

    for order, (rater, task) in tasks.items():
        # Each rater prefers the text on the left, scores left 5 and right 2.
        left_text = task.responses[0].text
        assert left_text == item.responses[order[0]].text
        screen = {"helpful": {"choice": "A", "strength": 3}, "fluency": {"A": 5, "B": 2}, "overall": 4}
        recorded = record_judgment(session, rater, task.lease_id, screen, key(), now=T0 + timedelta(seconds=42))
        assert recorded.created is True
        stored = recorded.judgment
        assert stored.display_order == list(order)
        assert stored.duration_ms == 42_000
        if order == (0, 1):
            assert stored.answers == screen
        else:
            assert stored.answers == {
                "helpful": {"choice": "B", "strength": 3},
                "fluency": {"A": 2, "B": 5},
                "overall": 4,
            }
    session.commit()
    session.expire_all()
    by_order = {tuple(j.display_order): j.answers for j in session.scalars(select(Judgment))}
    assert by_order[(1, 0)]["helpful"]["choice"] == "B"
    assert by_order[(1, 0)]["fluency"] == {"A": 2, "B": 5}


def test_tie_and_judgment_metadata(session):
    project = make_project(session)
    make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater, now=T0)
    answers = {"helpful": {"choice": "tie"}, "harmless": {"choice": "tie"}, "rationale": "Both fine."}
    judgment = record_judgment(session, rater, task.lease_id, answers, key(), now=T0 + timedelta(minutes=2)).judgment
    assert judgment.answers == answers  # a tie reads the same either way
    assert judgment.rubric_version_id == task.rubric_version_id
    assert (judgment.item_id, judgment.rater_id, judgment.project_id) == (task.item_id, rater.id, project.id)
    assert judgment.issued_at == T0 and judgment.submitted_at == T0 + timedelta(minutes=2)
    assert session.get(Lease, task.lease_id).completed_at == T0 + timedelta(minutes=2)
    assert judgments_for_rater(session, project, rater) == [judgment]


@pytest.mark.parametrize(
    ("answers", "where"),
    [
        ({"helpful": {"choice": "C", "strength": 1}, "harmless": {"choice": "tie"}}, {"/helpful/choice"}),
        ({"helpful": {"choice": "A"}, "harmless": {"choice": "tie"}}, {"/helpful/strength"}),
        ({"helpful": {"choice": "tie", "strength": 2}, "harmless": {"choice": "tie"}}, {"/helpful/strength"}),
        ({"helpful": {"choice": "A", "strength": 9}}, {"/helpful/strength", "/harmless"}),
        ({**PAIR_ANSWER, "extra": 1}, {"/"}),
        ({}, {"/helpful", "/harmless"}),
    ],
)
def test_invalid_answers_raise_with_locations_and_store_nothing(session, answers, where):
    project = make_project(session)
    make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater)
    with pytest.raises(JudgmentInvalid) as info:
        record_judgment(session, rater, task.lease_id, answers, key())
    assert {e.location for e in info.value.errors} == where
    session.flush()
    assert judgment_count(session) == 0
    assert session.get(Lease, task.lease_id).completed_at is None
    # The lease is still usable with valid answers.
    assert record_judgment(session, rater, task.lease_id, PAIR_ANSWER, key()).created is True


def test_required_when_is_enforced_on_submission(session, per_response_project):
    make_item(session, per_response_project)
    rater = make_rater(session)
    task = next_assignment(session, per_response_project, rater)
    tie = {"helpful": {"choice": "tie"}, "fluency": {"A": 3, "B": 3}, "overall": 3}
    with pytest.raises(JudgmentInvalid) as info:
        record_judgment(session, rater, task.lease_id, tie, key())
    assert [e.location for e in info.value.errors] == ["/why"]
    assert record_judgment(session, rater, task.lease_id, {**tie, "why": "Same."}, key()).created


def test_same_idempotency_key_returns_the_same_judgment(session):
    project = make_project(session)
    make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater)
    first = record_judgment(session, rater, task.lease_id, PAIR_ANSWER, "same-key")
    session.commit()
    # A retried request (even with other answers) gets the stored judgment back.
    other = {"helpful": {"choice": "tie"}, "harmless": {"choice": "tie"}}
    second = record_judgment(session, rater, task.lease_id, other, "same-key")
    session.commit()
    assert (first.created, second.created) == (True, False)
    assert second.judgment.id == first.judgment.id
    assert second.judgment.answers == first.judgment.answers
    assert judgment_count(session) == 1


def test_used_lease_with_a_new_key_is_a_conflict(session):
    project = make_project(session)
    make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater)
    record_judgment(session, rater, task.lease_id, PAIR_ANSWER, key())
    with pytest.raises(Conflict):
        record_judgment(session, rater, task.lease_id, PAIR_ANSWER, key())
    assert judgment_count(session) == 1


def test_another_raters_lease_is_not_found(session):
    project = make_project(session)
    make_item(session, project)
    owner, intruder = make_rater(session), make_rater(session)
    task = next_assignment(session, project, owner)
    with pytest.raises(NotFound):
        record_judgment(session, intruder, task.lease_id, PAIR_ANSWER, key())
    with pytest.raises(NotFound):
        record_judgment(session, owner, task.lease_id + 1000, PAIR_ANSWER, key())
    assert judgment_count(session) == 0


def test_idempotency_keys_are_scoped_to_the_rater(session):
    project = make_project(session)
    make_item(session, project)
    make_item(session, project)
    rater, other = make_rater(session), make_rater(session)
    first = next_assignment(session, project, rater)
    record_judgment(session, rater, first.lease_id, PAIR_ANSWER, "shared-key")
    second = next_assignment(session, project, rater)
    assert second.lease_id != first.lease_id
    with pytest.raises(Conflict):
        record_judgment(session, rater, second.lease_id, PAIR_ANSWER, "shared-key")
    assert session.get(Lease, second.lease_id).completed_at is None
    # Another rater's keys are their own: a key someone else claimed never blocks a submit.
    theirs = next_assignment(session, project, other)
    assert record_judgment(session, other, theirs.lease_id, PAIR_ANSWER, "shared-key").created
    assert judgment_count(session) == 2


@pytest.mark.parametrize("bad_key", ["", "k" * 101])
def test_idempotency_key_length(session, bad_key):
    project = make_project(session)
    make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater)
    with pytest.raises(InvalidInput) as info:
        record_judgment(session, rater, task.lease_id, PAIR_ANSWER, bad_key)
    assert [e.location for e in info.value.errors] == ["idempotency_key"]
    assert judgment_count(session) == 0


def test_expired_lease_is_accepted_while_the_item_has_room(session):
    project = make_project(session, SINGLE_RUBRIC, overlap_k=1, lease_minutes=10)
    make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater, now=T0)
    answers = {"accuracy": 5, "coherence": 6, "coverage": 4, "overall": 5}
    late = T0 + timedelta(hours=2)
    recorded = record_judgment(session, rater, task.lease_id, answers, key(), now=late)
    assert recorded.created and recorded.judgment.duration_ms == 2 * 3600 * 1000
    assert judgment_count(session) == 1


def test_expired_lease_is_a_conflict_once_others_filled_the_item(session):
    project = make_project(session, overlap_k=1, lease_minutes=10)
    make_item(session, project)
    slow, quick = make_rater(session), make_rater(session)
    stale = next_assignment(session, project, slow, now=T0)
    fresh = next_assignment(session, project, quick, now=T0 + timedelta(minutes=11))
    assert fresh.item_id == stale.item_id
    record_judgment(session, quick, fresh.lease_id, PAIR_ANSWER, key(), now=T0 + timedelta(minutes=12))
    with pytest.raises(Conflict):
        record_judgment(session, slow, stale.lease_id, PAIR_ANSWER, key(), now=T0 + timedelta(minutes=13))
    assert judgment_count(session) == 1


def test_expired_lease_is_a_conflict_while_another_rater_holds_the_place(session):
    project = make_project(session, overlap_k=1, lease_minutes=10)
    make_item(session, project)
    slow, quick = make_rater(session), make_rater(session)
    stale = next_assignment(session, project, slow, now=T0)
    fresh = next_assignment(session, project, quick, now=T0 + timedelta(minutes=11))
    session.commit()
    with pytest.raises(Conflict):
        record_judgment(session, slow, stale.lease_id, PAIR_ANSWER, key(), now=T0 + timedelta(minutes=12))
    session.rollback()
    assert judgment_count(session) == 0
    # The rater who holds the place can still submit.
    assert record_judgment(session, quick, fresh.lease_id, PAIR_ANSWER, key(), now=T0 + timedelta(minutes=13)).created


def test_judgments_pin_the_leased_rubric_version(session):
    project = make_project(session, SINGLE_RUBRIC)
    make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater)
    # A new version is published while the rater works: the judgment keeps the leased one.
    doc = dict(task.rubric_document, guidelines="Revised guidelines.")
    v2 = load_rubric(session, parse_rubric(doc)).version
    assert v2.number == 2
    answers = {"accuracy": 1, "coherence": 2, "coverage": 3, "overall": 4}
    judgment = record_judgment(session, rater, task.lease_id, answers, key()).judgment
    assert judgment.rubric_version_id == task.rubric_version_id != v2.id


def test_a_used_key_gets_one_answer_on_every_kind_of_lease(session):
    """Check items and live items take one write path: the same refusal, the same message."""
    from workbench.services.judging import KEY_USED

    project = make_project(session, overlap_k=1, qualification_items=2, qualification_min_accuracy=0.0)
    for _ in range(2):
        make_item(session, project, is_gold=True, gold_answer={"helpful": {"choice": "A"}})
    make_item(session, project)
    rater = make_rater(session)
    first = next_assignment(session, project, rater)
    assert session.get(Lease, first.lease_id).purpose == "qualification"
    assert record_judgment(session, rater, first.lease_id, PAIR_ANSWER, "used").is_gold
    second = next_assignment(session, project, rater)
    with pytest.raises(Conflict) as on_gold:
        record_judgment(session, rater, second.lease_id, PAIR_ANSWER, "used")
    record_judgment(session, rater, second.lease_id, PAIR_ANSWER, key())
    live = next_assignment(session, project, rater)
    assert session.get(Lease, live.lease_id).purpose == "live"
    with pytest.raises(Conflict) as on_live:
        record_judgment(session, rater, live.lease_id, PAIR_ANSWER, "used")
    assert str(on_gold.value) == str(on_live.value) == KEY_USED
    assert judgment_count(session) == 2


def test_objects_the_session_holds_read_the_recorded_state(session):
    """The judgment is written with Core: the lease and item already loaded must not go stale."""
    project = make_project(session, overlap_k=2)
    item = make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater)
    lease = session.get(Lease, task.lease_id)
    assert (lease.completed_at, item.n_judgments) == (None, 0)
    record_judgment(session, rater, task.lease_id, PAIR_ANSWER, key())
    assert lease.completed_at is not None
    assert item.n_judgments == 1
