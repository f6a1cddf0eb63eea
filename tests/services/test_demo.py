"""The demo seed: users, rubrics, two projects, items and published ratings; idempotent."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from workbench.domain import Role
from workbench.models import ApiToken, Item, Judgment, Lease, Project, Response, Rubric, RubricVersion, User
from workbench.paths import DEMO_DIR, resource_dir
from workbench.services.demo import (
    DEMO_PASSWORD,
    DEMO_USERS,
    MACHINE_JUDGE,
    PAIRWISE_PROJECT,
    SINGLE_PROJECT,
    seed_demo,
)
from workbench.services.login import authenticate

TABLES = (User, ApiToken, Rubric, RubricVersion, Project, Item, Response, Lease, Judgment)


def snapshot(session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) for model in TABLES}


def seed(session):
    return seed_demo(session, resource_dir("rubrics"), DEMO_DIR)


def test_seed_demo_creates_the_demo_content(session):
    result = seed(session)
    session.commit()
    assert result.created is True
    counts = snapshot(session)
    assert counts["users"] == len(DEMO_USERS) + 1 == 7  # plus the machine judge
    assert counts["projects"] == 2
    shipped = len([p for p in resource_dir("rubrics").glob("*.yaml")])
    assert counts["rubrics"] == shipped and counts["rubric_versions"] == shipped
    assert counts["judgments"] == 24 + 40
    projects = {p.name: p for p in session.scalars(select(Project))}
    assert set(projects) == {PAIRWISE_PROJECT, SINGLE_PROJECT}
    assert set(result.project_ids) == {p.id for p in projects.values()}
    per_project = dict(
        session.execute(
            select(Item.project_id, func.count()).where(Item.is_gold.is_(False)).group_by(Item.project_id)
        ).all()
    )
    assert per_project == {projects[PAIRWISE_PROJECT].id: 40, projects[SINGLE_PROJECT].id: 15}
    # Ten honeypots built from the pairwise items are the pairwise project's gold checks.
    honeypots = session.scalars(select(Item).where(Item.is_gold.is_(True))).all()
    assert len(honeypots) == 10 and {h.project_id for h in honeypots} == {projects[PAIRWISE_PROJECT].id}
    assert all(h.meta["honeypot"]["method"] in {"truncated", "shuffled", "off-topic"} for h in honeypots)
    assert projects[PAIRWISE_PROJECT].gold_rate > 0
    assert counts["responses"] == 40 * 2 + 15 + 10 * 2
    # The seeded judgments are pairwise, by two raters, 12 each, valid and all leases closed.
    judged = session.execute(
        select(Judgment.project_id, Judgment.rater_id, func.count()).group_by(Judgment.project_id, Judgment.rater_id)
    ).all()
    raters = {u.id: u.email for u in session.scalars(select(User))}
    assert sorted((pid, raters[rid], n) for pid, rid, n in judged) == sorted(
        [
            (projects[PAIRWISE_PROJECT].id, "rater2@example.org", 12),
            (projects[PAIRWISE_PROJECT].id, "rater3@example.org", 12),
            (projects[PAIRWISE_PROJECT].id, MACHINE_JUDGE[0], 40),
        ]
    )
    judge = session.scalar(select(User).where(User.email == MACHINE_JUDGE[0]))
    assert judge.is_machine and judge.password_hash is None
    # Seeded judgments carry plausible timings, not zero.
    durations = session.scalars(select(Judgment.duration_ms)).all()
    assert min(durations) >= 6000
    assert session.scalar(select(func.count()).select_from(Lease).where(Lease.completed_at.is_(None))) == 0


def test_demo_logins_work(session):
    result = seed(session)
    session.commit()
    assert {(email, role) for email, role, _ in result.logins} == {(e, r.value) for e, r, _ in DEMO_USERS}
    for email, role, password in result.logins:
        assert password == DEMO_PASSWORD
        user = authenticate(session, email, password, "192.0.2.1")
        assert user is not None and user.role is Role(role)


def test_seed_judgments_follow_the_published_ratings(session):
    seed(session)
    session.commit()
    scores = {}
    for line in (DEMO_DIR / "vicuna80-human-ratings.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        scores[row["id"]] = row["scores"]
    to_choice = {1: "A", 2: "B", 3: "tie"}
    rows = session.execute(
        select(Item.external_id, User.email, Judgment.answers)
        .join(Item, Item.id == Judgment.item_id)
        .join(User, User.id == Judgment.rater_id)
    ).all()
    assert rows
    reviews = {
        row["id"]: row
        for row in map(json.loads, (DEMO_DIR / "vicuna80-gpt4-judge.jsonl").read_text(encoding="utf-8").splitlines())
    }
    for external_id, email, answers in rows:
        if email == MACHINE_JUDGE[0]:
            assert answers["helpful"]["choice"] == to_choice[reviews[external_id]["score"]], external_id
            assert answers["rationale"] == reviews[external_id]["rationale"]
            continue
        index = 0 if email == "rater2@example.org" else 1
        assert answers["helpful"]["choice"] == to_choice[scores[external_id][index]], (external_id, email)


def test_seeding_twice_changes_nothing(session):
    first = seed(session)
    session.commit()
    before = snapshot(session)
    second = seed(session)
    session.commit()
    assert second.created is False
    assert set(second.project_ids) == set(first.project_ids)
    assert snapshot(session) == before
