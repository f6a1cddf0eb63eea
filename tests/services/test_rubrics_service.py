"""Rubric versions in the database: content-addressed, append-only; projects follow or pin."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from tests.factories import SINGLE_RUBRIC, load_shipped_rubric, make_user
from workbench.domain import TaskKind, VersionStatus
from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.models import Rubric, RubricVersion
from workbench.paths import resource_dir
from workbench.rubric import load_rubric_file, parse_rubric
from workbench.services.projects import create_project
from workbench.services.rubrics import current_version, get_rubric, latest_published, load_rubric


def _shipped(slug: str = SINGLE_RUBRIC) -> dict:
    return copy.deepcopy(load_rubric_file(resource_dir("rubrics") / f"{slug}.yaml").data)


def _edited(doc: dict, guidelines: str) -> dict:
    changed = copy.deepcopy(doc)
    changed["guidelines"] = guidelines
    return changed


def _count_versions(session) -> int:
    return session.scalar(select(func.count()).select_from(RubricVersion))


def test_same_content_maps_to_the_same_version(session):
    author = make_user(session, role="author")
    first = load_rubric(session, parse_rubric(_shipped()), created_by_id=author.id)
    assert first.created is True
    assert first.version.number == 1
    assert first.version.status is VersionStatus.PUBLISHED
    assert first.version.created_by_id == author.id
    # Same content, keys in another order and another informational version number.
    doc = _shipped()
    reordered = {key: doc[key] for key in reversed(list(doc))}
    reordered["version"] = 99
    again = load_rubric(session, parse_rubric(reordered))
    assert again.created is False
    assert again.version.id == first.version.id
    assert _count_versions(session) == 1


def test_changed_content_is_version_2_and_version_1_is_untouched(session):
    original = _shipped()
    v1 = load_rubric(session, parse_rubric(original)).version
    session.commit()
    v1_id, v1_sha, v1_doc = v1.id, v1.content_sha256, copy.deepcopy(v1.document)

    outcome = load_rubric(session, parse_rubric(_edited(original, "New guidelines.")), changelog="clarify")
    session.commit()
    assert outcome.created is True
    v2 = outcome.version
    assert (v2.number, v2.changelog) == (2, "clarify")
    assert v2.id != v1_id and v2.content_sha256 != v1_sha
    session.expire_all()
    stored_v1 = session.get(RubricVersion, v1_id)
    assert stored_v1.number == 1
    assert stored_v1.content_sha256 == v1_sha
    assert stored_v1.document == v1_doc
    assert stored_v1.status is VersionStatus.PUBLISHED
    # Loading the old content again returns version 1, not a third version.
    back = load_rubric(session, parse_rubric(original))
    assert (back.created, back.version.id) == (False, v1_id)
    assert _count_versions(session) == 2
    assert session.scalar(select(func.count()).select_from(Rubric)) == 1
    assert [v.number for v in get_rubric(session, SINGLE_RUBRIC).versions] == [1, 2]


def test_project_follows_latest_published_unless_pinned(session):
    original = _shipped()
    load_rubric(session, parse_rubric(original))
    following = create_project(session, "follows", SINGLE_RUBRIC)
    pinned = create_project(session, "pinned", SINGLE_RUBRIC, pin_version=1)
    assert following.task_kind is TaskKind.SINGLE
    assert following.rubric_version_id is None
    assert current_version(session, following).number == 1
    assert current_version(session, pinned).number == 1

    load_rubric(session, parse_rubric(_edited(original, "Second edition.")))
    assert current_version(session, following).number == 2
    assert current_version(session, pinned).number == 1

    load_rubric(session, parse_rubric(_edited(original, "Third edition.")))
    assert current_version(session, following).number == 3
    assert current_version(session, pinned).number == 1
    assert latest_published(session, following.rubric_id).number == 3


def test_retired_versions_are_not_followed(session):
    original = _shipped()
    load_rubric(session, parse_rubric(original))
    v2 = load_rubric(session, parse_rubric(_edited(original, "Second."))).version
    project = create_project(session, "follows", SINGLE_RUBRIC)
    v2.status = VersionStatus.RETIRED
    session.flush()
    assert current_version(session, project).number == 1


def test_project_creation_errors(session):
    with pytest.raises(NotFound):
        create_project(session, "p", "no-such-rubric")
    load_shipped_rubric(session, SINGLE_RUBRIC)
    with pytest.raises(NotFound):
        create_project(session, "p", SINGLE_RUBRIC, pin_version=7)
    with pytest.raises(InvalidInput) as info:
        create_project(session, "  ", SINGLE_RUBRIC, overlap_k=0)
    assert {e.location for e in info.value.errors} == {"name", "overlap"}
    create_project(session, "p", SINGLE_RUBRIC)
    with pytest.raises(Conflict):
        create_project(session, " p ", SINGLE_RUBRIC)


def test_get_rubric_unknown_slug(session):
    with pytest.raises(NotFound):
        get_rubric(session, "nothing-here")
