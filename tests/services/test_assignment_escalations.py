"""LLM judges and the next-item policy: escalated items first, judge-accepted items last,
and a judge's leases never take a human's place.

Runs on SQLite, and on PostgreSQL with ``WORKBENCH_TEST_DATABASE_URL`` set.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import PAIR_ANSWER, make_item, make_items, make_project
from workbench.domain import LeasePurpose
from workbench.errors import Conflict, NotFound
from workbench.models import Escalation, Judge, Judgment, Lease, Project
from workbench.services.assignment import item_has_room, next_assignment, next_task, task_for_lease
from workbench.services.judging import record_judgment
from workbench.services.rubrics import current_version
from workbench.services.users import create_user

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
_n = itertools.count(1)


def make_rater(session):
    return create_user(session, f"esc-rater{next(_n)}@example.org", "rater", None)


def make_judge(session) -> Judge:
    n = next(_n)
    user = create_user(session, f"judge{n}@judges.example", "rater", None)
    judge = Judge(name=f"judge-{n}", user_id=user.id, base_url="http://127.0.0.1:9/v1", model="stub")
    session.add(judge)
    session.flush()
    return judge


def decide(session, judge: Judge, item, accepted: bool) -> None:
    session.add(
        Escalation(
            project_id=item.project_id,
            item_id=item.id,
            judge_id=judge.id,
            accepted=accepted,
            confidence=0.9 if accepted else 0.4,
            threshold=0.8,
            target_agreement=0.85,
            delta=0.1,
            question_id="helpful",
        )
    )
    session.flush()


def queue(session, project, rater, now=None) -> list[int]:
    """Let the rater judge everything offered; the item ids in the order offered."""
    done = []
    while (task := next_assignment(session, project, rater, now=now)) is not None:
        assert task.item_id not in done, "offered an item twice"
        done.append(task.item_id)
        record_judgment(session, rater, task.lease_id, PAIR_ANSWER, f"esc-{next(_n)}", now=now)
    return done


def judge_lease(session, judge: Judge, item, now=T0) -> Lease:
    """An open lease of an LLM judge's runner on the item, sides swapped."""
    lease = Lease(
        project_id=item.project_id,
        item_id=item.id,
        rater_id=judge.user_id,
        rubric_version_id=current_version(session, session.get(Project, item.project_id)).id,
        purpose=LeasePurpose.JUDGE,
        display_order=[1, 0],
        issued_at=now,
        expires_at=now + timedelta(minutes=30),
    )
    session.add(lease)
    session.flush()
    return lease


def test_escalated_items_come_first_and_accepted_items_last(session):
    project = make_project(session, overlap_k=1)
    items = make_items(session, project, 6)
    judge = make_judge(session)
    decide(session, judge, items[4], accepted=False)
    decide(session, judge, items[1], accepted=False)
    decide(session, judge, items[0], accepted=True)
    decide(session, judge, items[3], accepted=True)
    ids = [i.id for i in items]
    # Escalated (1, 4), then the undecided (2, 5), then the accepted (0, 3); by id within each.
    assert queue(session, project, make_rater(session)) == [ids[1], ids[4], ids[2], ids[5], ids[0], ids[3]]


def test_an_item_one_judge_accepted_and_another_escalated_is_escalated(session):
    project = make_project(session, overlap_k=1)
    items = make_items(session, project, 3)
    trusted, doubtful = make_judge(session), make_judge(session)
    decide(session, trusted, items[2], accepted=True)
    decide(session, doubtful, items[2], accepted=False)
    decide(session, trusted, items[0], accepted=True)
    ids = [i.id for i in items]
    assert queue(session, project, make_rater(session)) == [ids[2], ids[1], ids[0]]


def test_escalated_items_come_before_items_closer_to_completion(session):
    project = make_project(session, overlap_k=3)
    plain, later = make_items(session, project, 2)
    for _ in range(2):
        rater = make_rater(session)
        task = next_assignment(session, project, rater)
        assert task.item_id == plain.id
        record_judgment(session, rater, task.lease_id, PAIR_ANSWER, f"plain-{next(_n)}")
    decide(session, make_judge(session), later, accepted=False)
    # `plain` has 2 of 3 judgments, `later` none: the escalated one still comes first.
    assert next_assignment(session, project, make_rater(session)).item_id == later.id


def test_within_a_group_the_items_closest_to_completion_come_first(session):
    project = make_project(session, overlap_k=2, lease_minutes=10)
    first, second = make_items(session, project, 2)
    judge = make_judge(session)
    decide(session, judge, first, accepted=False)
    decide(session, judge, second, accepted=False)
    for _ in range(2):  # two raters hold `first` and let their leases run out
        assert next_assignment(session, project, make_rater(session), now=T0).item_id == first.id
    rater = make_rater(session)
    task = next_assignment(session, project, rater, now=T0)
    assert task.item_id == second.id
    record_judgment(session, rater, task.lease_id, PAIR_ANSWER, "second", now=T0)
    later = T0 + timedelta(minutes=11)
    # Both escalated: `second` (1 of 2) before `first` (0 of 2, lower id).
    assert next_assignment(session, project, make_rater(session), now=later).item_id == second.id


def test_overlap_still_holds_for_escalated_items(session):
    project = make_project(session, overlap_k=2)
    plain, escalated = make_items(session, project, 2)
    decide(session, make_judge(session), escalated, accepted=False)
    got = [next_assignment(session, project, make_rater(session)).item_id for _ in range(4)]
    assert got == [escalated.id, escalated.id, plain.id, plain.id]
    assert next_assignment(session, project, make_rater(session)) is None


def test_escalations_of_another_project_change_nothing(session):
    one, two = make_project(session, overlap_k=1), make_project(session, overlap_k=1)
    items = make_items(session, one, 3)
    other = make_item(session, two)
    judge = make_judge(session)
    decide(session, judge, other, accepted=False)
    assert queue(session, one, make_rater(session)) == [i.id for i in items]


def test_the_rater_api_orders_by_escalation_too(session):
    project = make_project(session, overlap_k=1)
    items = make_items(session, project, 3)
    judge = make_judge(session)
    decide(session, judge, items[0], accepted=True)
    decide(session, judge, items[2], accepted=False)
    rater = make_rater(session)
    offered = []
    while (task := next_task(session, project.id, rater)[1]) is not None:
        offered.append(task.item_id)
        record_judgment(session, rater, task.lease_id, PAIR_ANSWER, f"api-{next(_n)}")
    assert offered == [items[2].id, items[1].id, items[0].id]


def test_judge_leases_never_take_an_overlap_place(session):
    project = make_project(session, overlap_k=1)
    item = make_item(session, project)
    judge = make_judge(session)
    held = judge_lease(session, judge, item)
    assert item_has_room(session, project.overlap_k, item.id, T0, excluding_lease=-1)
    rater = make_rater(session)
    task = next_assignment(session, project, rater, now=T0 + timedelta(minutes=1))
    assert task is not None and task.item_id == item.id
    record_judgment(session, rater, task.lease_id, PAIR_ANSWER, "human", now=T0 + timedelta(minutes=2))
    assert session.scalar(select(func.count()).select_from(Judgment)) == 1
    assert session.get(Lease, held.id).completed_at is None


def test_judge_leases_do_not_count_in_counterbalancing(session):
    project = make_project(session, overlap_k=4)
    item = make_item(session, project)
    judges = [make_judge(session) for _ in range(3)]
    for judge in judges:
        judge_lease(session, judge, item)  # all shown with sides swapped
    orders = Counter()
    for _ in range(4):
        task = next_assignment(session, project, make_rater(session), now=T0 + timedelta(minutes=1))
        orders[tuple(session.get(Lease, task.lease_id).display_order)] += 1
    assert orders == {(0, 1): 2, (1, 0): 2}


def test_a_judges_lease_is_no_rating_task(session):
    project = make_project(session, overlap_k=2)
    item = make_item(session, project)
    judge = make_judge(session)
    held = judge_lease(session, judge, item)
    judge_user = judge.user
    # Its machine user is not handed the judge's lease back as a rater's open task ...
    task = next_assignment(session, project, judge_user, now=T0 + timedelta(minutes=1))
    assert task is None or task.lease_id != held.id
    with pytest.raises(NotFound):
        task_for_lease(session, judge_user, held.id)
    # ... and a verdict never becomes a human judgment.
    with pytest.raises(Conflict, match="LLM judge"):
        record_judgment(session, judge_user, held.id, PAIR_ANSWER, "verdict", now=T0 + timedelta(minutes=2))
    assert session.scalar(select(func.count()).select_from(Judgment)) == 0


def test_once_the_escalated_items_are_full_the_others_keep_their_order(session):
    project = make_project(session, overlap_k=1)
    accepted, escalated, plain = make_items(session, project, 3)
    judge = make_judge(session)
    decide(session, judge, accepted, accepted=True)
    decide(session, judge, escalated, accepted=False)
    assert queue(session, project, make_rater(session)) == [escalated.id, plain.id, accepted.id]
    more = make_items(session, project, 2)
    decide(session, judge, more[0], accepted=True)
    assert queue(session, project, make_rater(session)) == [more[1].id, more[0].id]
