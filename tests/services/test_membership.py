"""Members-only projects, archiving, and what a rater sees of them."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import PAIR_ANSWER, make_items, make_project, make_rater, make_user
from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.models import Lease, Project, User
from workbench.services.assignment import next_assignment, next_task
from workbench.services.judging import record_judgment
from workbench.services.membership import (
    add_member,
    admits,
    archive_project,
    members_of,
    remove_member,
    set_members_only,
    visible_project,
    visible_projects,
)
from workbench.services.users import TokenUser


@pytest.fixture
def closed(session):
    """A members-only project with items, one member and one outsider."""
    project = make_project(session, name="closed")
    make_items(session, project, 3)
    member, outsider = make_rater(session), make_rater(session)
    add_member(session, project, member.email)
    set_members_only(session, project, True)
    return project, member, outsider


def test_a_member_gets_items_and_an_outsider_gets_not_found(session, closed):
    project, member, outsider = closed
    assert next_assignment(session, project, member) is not None
    with pytest.raises(NotFound):
        next_assignment(session, project, outsider)
    with pytest.raises(NotFound):  # the rater API's path, read with Core
        next_task(session, project.id, TokenUser(outsider.id, outsider.role))
    _settings, task = next_task(session, project.id, TokenUser(member.id, member.role))
    assert task is not None
    assert session.scalar(select(func.count()).select_from(Lease).where(Lease.rater_id == outsider.id)) == 0


def test_lists_and_lookups_hide_the_project_from_outsiders_only(session, closed):
    project, member, outsider = closed
    open_project = make_project(session, name="open")
    admin, researcher = make_user(session, "admin"), make_user(session, "researcher")
    assert [p.name for p in visible_projects(session, member)] == ["closed", "open"]
    assert [p.name for p in visible_projects(session, outsider)] == ["open"]
    assert [p.name for p in visible_projects(session, researcher)] == ["closed", "open"]
    assert visible_project(session, project.id, admin) is project
    with pytest.raises(NotFound, match=f"no project {project.id}"):
        visible_project(session, project.id, outsider)
    assert visible_project(session, open_project.id, outsider) is open_project


def test_opening_the_project_again_lets_every_rater_in(session, closed):
    project, _member, outsider = closed
    set_members_only(session, project, False)
    assert next_assignment(session, project, outsider) is not None


def test_adding_twice_is_one_membership_and_staff_or_strangers_are_refused(session, closed):
    project, member, _outsider = closed
    add_member(session, project, f"  {member.email.upper()} ")
    assert members_of(session, project) == [member]
    with pytest.raises(InvalidInput) as unknown:
        add_member(session, project, "nobody@example.org")
    assert unknown.value.errors[0].location == "member_email"
    assert "no user has the e-mail nobody@example.org" in unknown.value.errors[0].message
    admin = make_user(session, "admin")
    with pytest.raises(InvalidInput, match="cannot add member") as staff:
        add_member(session, project, admin.email)
    assert "staff see every project" in staff.value.errors[0].message
    assert members_of(session, project) == [member]


def test_removing_a_member_releases_their_open_task(session, closed):
    project, member, _outsider = closed
    task = next_assignment(session, project, member)
    remove_member(session, project, member)
    assert members_of(session, project) == []
    with pytest.raises(NotFound):
        next_assignment(session, project, member)
    with pytest.raises(NotFound):  # the released lease takes no judgment
        record_judgment(session, member, task.lease_id, PAIR_ANSWER, "late")


def test_closing_a_project_releases_outsiders_tasks_but_not_members(session):
    project = make_project(session)
    make_items(session, project, 3)
    member, outsider = make_rater(session), make_rater(session)
    kept = next_assignment(session, project, member)
    dropped = next_assignment(session, project, outsider)
    add_member(session, project, member.email)
    set_members_only(session, project, True)
    assert record_judgment(session, member, kept.lease_id, PAIR_ANSWER, "k1").created
    with pytest.raises(NotFound):
        record_judgment(session, outsider, dropped.lease_id, PAIR_ANSWER, "k2")


def test_an_archived_project_serves_nothing_and_leaves_raters_lists(session):
    project = make_project(session)
    make_items(session, project, 2)
    rater, admin = make_rater(session), make_user(session, "admin")
    open_task = next_assignment(session, project, rater)
    archive_project(session, project)
    assert project.archived_at is not None
    assert visible_projects(session, rater) == []
    assert visible_projects(session, admin) == [project]  # staff keep its figures
    assert next_assignment(session, project, admin) is None
    with pytest.raises(NotFound):
        next_assignment(session, project, rater)
    with pytest.raises(NotFound):
        record_judgment(session, rater, open_task.lease_id, PAIR_ANSWER, "after")
    with pytest.raises(Conflict, match="already archived"):
        archive_project(session, project)
    with pytest.raises(Conflict, match="archived"):
        set_members_only(session, project, True)


def test_a_member_removed_while_taking_an_item_is_left_no_task(engine):
    """The removal waits for the rater's transaction (FOR SHARE on PostgreSQL, the write
    lock on SQLite) and then releases the lease it wrote: nothing is left to submit to."""
    with Session(engine, expire_on_commit=False) as setup:
        project = make_project(setup)
        make_items(setup, project, 2)
        member = make_rater(setup)
        add_member(setup, project, member.email)
        set_members_only(setup, project, True)
        setup.commit()
    removed = threading.Event()

    def remove() -> None:
        with Session(engine) as other:
            remove_member(other, other.get(Project, project.id), other.get(User, member.id))
            other.commit()
        removed.set()

    with Session(engine, expire_on_commit=False) as rater_session:
        mine, me = rater_session.get(Project, project.id), rater_session.get(User, member.id)
        assert admits(rater_session, mine, me, lock=True)
        remover = threading.Thread(target=remove)
        remover.start()
        assert not removed.wait(0.5)  # the removal waits for the rater's transaction
        assert next_assignment(rater_session, mine, me) is not None
        rater_session.commit()
    remover.join(timeout=30)
    assert removed.is_set()
    with Session(engine) as check:
        assert check.scalar(select(func.count()).select_from(Lease).where(Lease.rater_id == member.id)) == 0
        with pytest.raises(NotFound):
            next_assignment(check, check.get(Project, project.id), check.get(User, member.id))
