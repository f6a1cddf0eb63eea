"""New rubrics as drafts, and shipped rubrics loaded on first use."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from workbench.errors import InvalidInput, NotFound
from workbench.models import Rubric, RubricVersion
from workbench.paths import resource_dir
from workbench.services.new_rubric import ensure_rubric, rubric_choices, shipped_rubrics, start_rubric
from workbench.services.rubric_versions import publish_draft


def test_shipped_rubrics_are_the_yaml_files_in_rubrics():
    files = sorted(p.stem for p in Path(resource_dir("rubrics")).glob("*.yaml"))
    assert [r.slug for r in shipped_rubrics()] == files  # every shipped file is named by its slug


def test_a_copy_of_a_shipped_rubric_publishes_as_its_own_v1(session):
    rubric = start_rubric(session, "safety-ours", "Safety, ours", "safety")
    draft = session.scalar(select(RubricVersion).where(RubricVersion.rubric_id == rubric.id))
    published = publish_draft(session, draft, "first version")
    assert (published.number, published.status.value, published.document["slug"]) == (1, "published", "safety-ours")
    assert published.document["title"] == "Safety, ours" and len(published.content_sha256) == 64


def test_a_blank_rubric_is_a_draft_without_questions(session):
    rubric = start_rubric(session, "blank", "Blank")
    assert rubric.versions[0].document == {
        "slug": "blank",
        "title": "Blank",
        "task_kind": "pairwise",
        "guidelines": "",
        "questions": [],
    }


def test_a_shipped_rubric_loads_once_on_first_use(session):
    assert "safety" in [slug for slug, _ in rubric_choices(session)]
    first = ensure_rubric(session, "safety")
    second = ensure_rubric(session, "safety")
    assert first.id == second.id
    assert session.scalar(select(func.count()).select_from(RubricVersion)) == 1
    with pytest.raises(NotFound, match="no rubric 'not-shipped'"):
        ensure_rubric(session, "not-shipped")
    assert session.scalar(select(func.count()).select_from(Rubric)) == 1


def test_a_shipped_rubric_keeps_its_slug(session):
    with pytest.raises(InvalidInput) as refused:
        start_rubric(session, "safety", "My safety")
    assert [str(e) for e in refused.value.errors] == ["slug: 'safety' is the slug of a shipped rubric; choose another"]
    assert session.scalar(select(func.count()).select_from(Rubric)) == 0


def test_drafts_without_a_published_version_are_not_offered_for_projects(session):
    start_rubric(session, "unfinished", "Unfinished")
    assert "unfinished" not in [slug for slug, _ in rubric_choices(session)]
