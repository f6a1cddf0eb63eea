"""Next-item assignment: leases, overlap, priority, expiry, counterbalanced sides, blinding."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import PAIR_ANSWER, SINGLE_RUBRIC, make_item, make_items, make_project
from workbench.errors import NotFound
from workbench.models import Judgment, Lease
from workbench.services.assignment import RatingTask, ShownResponse, next_assignment, task_for_lease
from workbench.services.judging import record_judgment
from workbench.services.users import create_user

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
_keys = itertools.count(1)
_raters = itertools.count(1)


def make_rater(session):
    """A rater without a password (hashing one costs ~0.1 s and is not under test here)."""
    return create_user(session, f"assign-rater{next(_raters)}@example.org", "rater", None)


def judge(session, rater, task: RatingTask, now=None):
    return record_judgment(session, rater, task.lease_id, PAIR_ANSWER, f"key-{next(_keys)}", now=now)


def work_queue(session, project, rater, now=None) -> list[int]:
    """Let the rater judge everything offered; return the item ids in the order offered."""
    done = []
    while (task := next_assignment(session, project, rater, now=now)) is not None:
        assert task.item_id not in done, "offered an item twice"
        done.append(task.item_id)
        judge(session, rater, task, now=now)
    return done


def test_rater_never_gets_the_same_item_twice(session):
    project = make_project(session, overlap_k=3)
    items = make_items(session, project, 4)
    rater = make_rater(session)
    assert sorted(work_queue(session, project, rater)) == [i.id for i in items]
    assert next_assignment(session, project, rater) is None
    # Not even long after, when every lease has expired.
    assert next_assignment(session, project, rater, now=T0 + timedelta(days=400)) is None


def test_open_lease_is_returned_again_on_reload(session):
    project = make_project(session)
    make_items(session, project, 3)
    rater = make_rater(session)
    first = next_assignment(session, project, rater, now=T0)
    again = next_assignment(session, project, rater, now=T0 + timedelta(minutes=5))
    assert again == first
    assert session.scalar(select(func.count()).select_from(Lease)) == 1
    assert task_for_lease(session, rater, first.lease_id) == first
    with pytest.raises(NotFound):
        task_for_lease(session, make_rater(session), first.lease_id)


def test_task_shows_the_item_with_the_current_rubric_version(session):
    project = make_project(session, SINGLE_RUBRIC)
    item = make_item(session, project, prompt="Explain DNS.")
    task = next_assignment(session, project, make_rater(session), now=T0)
    assert task.item_id == item.id
    assert task.prompt == "Explain DNS."
    assert task.responses == (ShownResponse("A", item.responses[0].text),)
    assert task.rubric_document["slug"] == SINGLE_RUBRIC
    assert task.rubric_number == 1
    assert len(task.rubric_sha256) == 64
    assert task.expires_at - task.issued_at == timedelta(minutes=project.lease_minutes)


@pytest.mark.parametrize("k", [1, 3])
def test_overlap_k_is_respected(session, k):
    project = make_project(session, overlap_k=k)
    first, second = make_items(session, project, 2)
    raters = [make_rater(session) for _ in range(2 * k + 1)]
    got = []
    for rater in raters:
        task = next_assignment(session, project, rater)
        got.append(task.item_id if task else None)
    # k raters fill the first item, the next k get the second one, the last gets nothing.
    assert got == [first.id] * k + [second.id] * k + [None]
    # Judging does not open a place: the item stays full.
    for rater in raters[:k]:
        judge(session, rater, next_assignment(session, project, rater))
    assert next_assignment(session, project, make_rater(session)) is None
    per_item = dict(session.execute(select(Judgment.item_id, func.count()).group_by(Judgment.item_id)).all())
    assert per_item == {first.id: k}


def test_items_closest_to_completion_come_first(session):
    project = make_project(session, overlap_k=2)
    low, high = make_items(session, project, 2)
    a, b, c, d = (make_rater(session) for _ in range(4))
    # a and b hold the lower-id item, so c has to take (and judge) the higher one.
    assert next_assignment(session, project, a, now=T0).item_id == low.id
    assert next_assignment(session, project, b, now=T0).item_id == low.id
    task = next_assignment(session, project, c, now=T0)
    assert task.item_id == high.id
    judge(session, c, task, now=T0)
    # Once a's and b's leases have expired, `high` (1 of 2 done) comes before `low` (0 of 2).
    later = T0 + timedelta(minutes=project.lease_minutes + 1)
    assert next_assignment(session, project, d, now=later).item_id == high.id


def test_partly_done_items_come_before_fresh_ones(session):
    project = make_project(session, overlap_k=3)
    items = make_items(session, project, 3)
    first = make_rater(session)
    assert work_queue(session, project, first) == [i.id for i in items]
    second = make_rater(session)
    judge(session, second, next_assignment(session, project, second))
    # item 0 now has 2 judgments, items 1 and 2 have 1: a new rater starts with item 0.
    newcomer = make_rater(session)
    assert next_assignment(session, project, newcomer).item_id == items[0].id


def test_expired_leases_free_their_place(session):
    project = make_project(session, overlap_k=1, lease_minutes=10)
    item = make_item(session, project)
    holder, other = make_rater(session), make_rater(session)
    held = next_assignment(session, project, holder, now=T0)
    assert held.item_id == item.id
    assert next_assignment(session, project, other, now=T0 + timedelta(minutes=9)) is None
    late = T0 + timedelta(minutes=10, seconds=1)
    task = next_assignment(session, project, other, now=late)
    assert task is not None and task.item_id == item.id
    assert task.lease_id != held.lease_id
    # The holder's lease ran out and the place is taken: nothing for them now.
    assert next_assignment(session, project, holder, now=late) is None


def test_rater_gets_their_expired_item_back_when_it_has_room(session):
    project = make_project(session, overlap_k=2, lease_minutes=10)
    item = make_item(session, project)
    rater = make_rater(session)
    first = next_assignment(session, project, rater, now=T0)
    again = next_assignment(session, project, rater, now=T0 + timedelta(hours=1))
    assert again.item_id == item.id
    assert again.lease_id == first.lease_id  # the lease row is renewed, not duplicated
    assert again.expires_at == T0 + timedelta(hours=1, minutes=10)
    assert session.scalar(select(func.count()).select_from(Lease)) == 1


def test_sides_are_counterbalanced_per_item(session):
    project = make_project(session, overlap_k=10)
    item = make_item(session, project)
    orders = []
    for _ in range(10):
        task = next_assignment(session, project, make_rater(session))
        assert task.item_id == item.id
        lease = session.get(Lease, task.lease_id)
        orders.append(tuple(lease.display_order))
        # What the rater sees follows the lease's display order.
        assert [r.text for r in task.responses] == [item.responses[p].text for p in lease.display_order]
        assert [r.slot for r in task.responses] == ["A", "B"]
    assert Counter(orders) == {(0, 1): 5, (1, 0): 5}


def test_sides_are_balanced_on_every_item(session):
    project = make_project(session, overlap_k=4)
    items = make_items(session, project, 5)
    raters = [make_rater(session) for _ in range(4)]
    for rater in raters:
        work_queue(session, project, rater)
    for item in items:
        orders = session.scalars(select(Lease.display_order).where(Lease.item_id == item.id)).all()
        assert Counter(tuple(o) for o in orders) == {(0, 1): 2, (1, 0): 2}


def test_single_response_items_are_shown_as_is(session):
    project = make_project(session, SINGLE_RUBRIC, overlap_k=4)
    make_item(session, project)
    for _ in range(4):
        task = next_assignment(session, project, make_rater(session))
        assert session.get(Lease, task.lease_id).display_order == [0]


def test_rating_task_never_exposes_model_names(session):
    project = make_project(session)
    item = make_item(session, project)
    item.responses[0].model = "secret-model-alpha"
    item.responses[1].model = "secret-model-beta"
    session.flush()
    task = next_assignment(session, project, make_rater(session))
    assert {f.name for f in dataclasses.fields(ShownResponse)} == {"slot", "text"}
    fields = {f.name for f in dataclasses.fields(RatingTask)}
    assert not {name for name in fields if "model" in name}
    assert "secret-model" not in repr(task)
    assert all(isinstance(r, ShownResponse) for r in task.responses)


def test_projects_do_not_share_items(session):
    one, two = make_project(session), make_project(session)
    item = make_item(session, one)
    rater = make_rater(session)
    assert next_assignment(session, two, rater) is None
    assert next_assignment(session, one, rater).item_id == item.id


def test_item_judgment_counter_follows_judgments_and_can_be_recounted(session):
    from workbench.models import Item
    from workbench.services.judging import recount_judgments

    project = make_project(session, overlap_k=3)
    items = make_items(session, project, 4)
    for _ in range(2):
        work_queue(session, project, make_rater(session))
    session.expire_all()
    counts = dict(session.execute(select(Judgment.item_id, func.count()).group_by(Judgment.item_id)).all())
    assert {i.id: session.get(Item, i.id).n_judgments for i in items} == counts == {i.id: 2 for i in items}
    # Counts written around the service (a bulk load) are repaired by a recount.
    session.get(Item, items[0].id).n_judgments = 0
    session.flush()
    recount_judgments(session, project)
    session.expire_all()
    assert session.get(Item, items[0].id).n_judgments == 2


def test_a_stale_low_counter_never_lets_an_item_over_its_overlap(session):
    from workbench.models import Item

    project = make_project(session, overlap_k=1)
    item = make_item(session, project)
    first = make_rater(session)
    judge(session, first, next_assignment(session, project, first))
    session.get(Item, item.id).n_judgments = 0  # as if judgments had been loaded in bulk
    session.flush()
    assert next_assignment(session, project, make_rater(session)) is None
