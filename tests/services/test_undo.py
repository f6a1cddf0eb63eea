"""Undo of a rater's last submit: within the window, and never once something rests on it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_item, make_items, make_project
from workbench.errors import Conflict, NotFound
from workbench.models import Adjudication, Item, Judgment, Lease, SpotCheck
from workbench.services.assignment import next_assignment
from workbench.services.judging import record_judgment, undo_judgment
from workbench.services.users import create_user

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=30)
_n = itertools.count(1)

ANSWER = {"helpful": {"choice": "A", "strength": 2}, "harmless": {"choice": "tie"}}


def rater(session):
    return create_user(session, f"undo-rater{next(_n)}@example.org", "rater", None)


def submitted(session, project, who, at=T0 + timedelta(seconds=5)):
    task = next_assignment(session, project, who, now=T0)
    record_judgment(session, who, task.lease_id, ANSWER, f"undo-{next(_n)}", now=at)
    session.flush()
    return task


def judgments(session) -> int:
    return session.scalar(select(func.count()).select_from(Judgment))


def test_undo_within_the_window_gives_the_same_item_back(session):
    project = make_project(session, overlap_k=2)
    make_items(session, project, 3)
    who = rater(session)
    task = submitted(session, project, who)
    item = session.get(Item, task.item_id)
    assert (judgments(session), item.n_judgments) == (1, 1)

    # The rater already has the next item open; undo releases it and reopens the first.
    following = next_assignment(session, project, who, now=T0 + timedelta(seconds=6))
    assert following.item_id != task.item_id
    assert undo_judgment(session, who, task.lease_id, WINDOW, now=T0 + timedelta(seconds=20)) == task.lease_id
    session.flush()
    session.expire_all()
    assert judgments(session) == 0
    assert session.get(Item, task.item_id).n_judgments == 0
    lease = session.get(Lease, task.lease_id)
    assert lease.completed_at is None
    assert lease.expires_at.replace(tzinfo=UTC) > T0 + timedelta(seconds=20)
    assert session.get(Lease, following.lease_id).expires_at.replace(tzinfo=UTC) <= T0 + timedelta(seconds=20)

    again = next_assignment(session, project, who, now=T0 + timedelta(seconds=21))
    assert (again.lease_id, again.item_id) == (task.lease_id, task.item_id)
    # And it can be answered again on the same lease, with a fresh key.
    record_judgment(session, who, again.lease_id, ANSWER, "undo-again", now=T0 + timedelta(seconds=25))
    session.flush()
    assert judgments(session) == 1


def test_undo_after_the_window_is_refused_and_keeps_the_judgment(session):
    project = make_project(session)
    make_item(session, project)
    who = rater(session)
    task = submitted(session, project, who)
    with pytest.raises(Conflict, match="too late to undo"):
        undo_judgment(session, who, task.lease_id, WINDOW, now=T0 + timedelta(seconds=36))
    assert judgments(session) == 1


def test_only_the_rater_who_submitted_can_undo(session):
    project = make_project(session)
    make_item(session, project)
    who, other = rater(session), rater(session)
    task = submitted(session, project, who)
    with pytest.raises(NotFound):
        undo_judgment(session, other, task.lease_id, WINDOW, now=T0 + timedelta(seconds=6))
    with pytest.raises(NotFound):  # an open lease has nothing to undo
        undo_judgment(session, other, next_assignment(session, project, other, now=T0).lease_id, WINDOW, now=T0)
    assert judgments(session) == 1


def test_undo_is_refused_once_a_spot_check_or_an_adjudication_used_the_judgment(session):
    project = make_project(session, overlap_k=1)
    make_items(session, project, 2)
    who = rater(session)
    checked = submitted(session, project, who)
    judgment = session.scalar(select(Judgment).where(Judgment.lease_id == checked.lease_id))
    session.add(SpotCheck(project_id=project.id, judgment_id=judgment.id, rater_id=who.id))
    session.flush()
    with pytest.raises(Conflict, match="cannot be taken back"):
        undo_judgment(session, who, checked.lease_id, WINDOW, now=T0 + timedelta(seconds=10))

    decided = submitted(session, project, who)
    session.add(
        Adjudication(
            project_id=project.id,
            item_id=decided.item_id,
            question_id="helpful",
            rubric_version_id=decided.rubric_version_id,
            answer={"choice": "A"},
            created_at=T0 + timedelta(seconds=8),
        )
    )
    session.flush()
    with pytest.raises(Conflict, match="cannot be taken back"):
        undo_judgment(session, who, decided.lease_id, WINDOW, now=T0 + timedelta(seconds=10))
    assert judgments(session) == 2


def test_a_gold_answer_cannot_be_taken_back(session):
    project = make_project(session, overlap_k=1, qualification_items=1, qualification_min_accuracy=1.0)
    make_items(session, project, 2)
    make_item(session, project, is_gold=True, gold_answer={"helpful": {"choice": "A"}})
    who = rater(session)
    task = submitted(session, project, who)
    assert session.get(Lease, task.lease_id).purpose.value == "qualification"
    with pytest.raises(Conflict, match="scored"):
        undo_judgment(session, who, task.lease_id, WINDOW, now=T0 + timedelta(seconds=6))
    assert judgments(session) == 1
