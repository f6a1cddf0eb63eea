"""Rubric versions: drafts, publishing, retiring, immutability, files in and out."""

from __future__ import annotations

import copy

import pytest

from tests.factories import PAIR_ANSWER, load_shipped_rubric, make_item, make_project, make_rater, make_user
from workbench.domain import Role, VersionStatus
from workbench.errors import Conflict, InvalidInput, NotFound, RubricInvalid
from workbench.rubric import content_sha256, parse_rubric
from workbench.services.assignment import next_assignment
from workbench.services.judging import record_judgment
from workbench.services.rubric_versions import (
    discard_draft,
    file_document,
    open_draft,
    publish_draft,
    retire_version,
    save_draft,
    versions_of,
)
from workbench.services.rubrics import current_version, load_rubric, version_document

SLUG = "pairwise-helpful-harmless"


def edited(version, guidelines_extra="\n\nNew: read both responses twice."):
    doc = copy.deepcopy(version.document)
    doc["guidelines"] += guidelines_extra
    return doc


@pytest.fixture
def v1(session):
    return load_shipped_rubric(session, SLUG)


def test_a_draft_starts_as_a_copy_and_is_reused(session, v1):
    author = make_user(session, Role.AUTHOR)
    draft = open_draft(session, v1.rubric, author)
    assert (draft.number, draft.status, draft.document["questions"]) == (
        2,
        VersionStatus.DRAFT,
        v1.document["questions"],
    )
    assert draft.content_sha256 == "draft-2" and draft.created_by_id == author.id
    assert open_draft(session, v1.rubric) is draft


def test_publish_hashes_and_freezes(session, v1):
    draft = open_draft(session, v1.rubric)
    save_draft(session, draft, edited(v1))
    published = publish_draft(session, draft, "  Ask raters to  read twice. ")
    assert published.status == VersionStatus.PUBLISHED
    assert published.changelog == "Ask raters to read twice."
    assert published.content_sha256 == content_sha256(published.document) != v1.content_sha256
    assert published.document["version"] == 2
    with pytest.raises(Conflict):
        save_draft(session, published, edited(v1, "again"))


def test_invalid_drafts_and_changelogs_are_refused(session, v1):
    draft = open_draft(session, v1.rubric)
    broken = edited(v1)
    broken["questions"][0]["strength"]["max"] = 1
    with pytest.raises(RubricInvalid) as info:
        save_draft(session, draft, broken)
    assert [e.location for e in info.value.errors] == ["/questions/0/strength/max"]
    with pytest.raises(InvalidInput) as info:
        save_draft(session, draft, {**edited(v1), "slug": "other-slug"})
    assert info.value.errors[0].location == "/slug"
    save_draft(session, draft, edited(v1))
    with pytest.raises(InvalidInput) as info:
        publish_draft(session, draft, "   ")
    assert info.value.errors[0].location == "changelog"


def test_publishing_identical_content_is_refused(session, v1):
    draft = open_draft(session, v1.rubric)
    with pytest.raises(Conflict, match="identical to v1"):
        publish_draft(session, draft, "nothing changed")
    discard_draft(session, draft)
    assert [v.number for v in versions_of(session, v1.rubric)] == [1]


def test_published_versions_cannot_be_edited_by_any_path(session, v1):
    session.flush()
    v1.document = edited(v1)
    with pytest.raises(Conflict, match="cannot change"):
        session.flush()
    session.rollback()


def test_loading_a_file_never_edits_and_numbers_after_a_draft(session, v1):
    draft = open_draft(session, v1.rubric)  # v2
    changed = parse_rubric({**edited(v1), "version": 1})
    outcome = load_rubric(session, changed)
    assert outcome.created and outcome.version.number == 3 and v1.document["guidelines"] != changed.data["guidelines"]
    assert load_rubric(session, changed).created is False
    # The draft is published after the loaded version, so it becomes the latest.
    save_draft(session, draft, edited(v1, "\n\nAnother sentence."))
    assert publish_draft(session, draft, "another sentence").number == 4


def test_projects_follow_the_latest_published_and_old_leases_finish_under_their_version(session, v1):
    project = make_project(session, SLUG, overlap_k=2)
    make_item(session, project)
    make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater)
    assert task.rubric_version_id == v1.id
    draft = open_draft(session, v1.rubric)
    save_draft(session, draft, edited(v1))
    v2 = publish_draft(session, draft, "clearer guidelines")
    assert current_version(session, project).id == v2.id
    judgment = record_judgment(session, rater, task.lease_id, PAIR_ANSWER, "k1").judgment
    assert judgment.rubric_version_id == v1.id
    assert next_assignment(session, project, rater).rubric_version_id == v2.id


def test_pinned_projects_stay_on_their_version(session, v1):
    project = make_project(session, SLUG, pin_version=1)
    draft = open_draft(session, v1.rubric)
    save_draft(session, draft, edited(v1))
    publish_draft(session, draft, "clearer guidelines")
    assert current_version(session, project).id == v1.id
    with pytest.raises(Conflict, match="pinned by project"):
        retire_version(session, v1)


def test_retire(session, v1):
    project = make_project(session, SLUG)
    with pytest.raises(Conflict, match="only published version"):
        retire_version(session, v1)
    draft = open_draft(session, v1.rubric)
    save_draft(session, draft, edited(v1))
    v2 = publish_draft(session, draft, "clearer guidelines")
    retire_version(session, v1)
    assert v1.status == VersionStatus.RETIRED
    assert current_version(session, project).id == v2.id
    with pytest.raises(Conflict):
        retire_version(session, v1)
    # Loading the retired content again finds the retired version; it is not republished.
    outcome = load_rubric(session, parse_rubric(file_document(v1)))
    assert (outcome.created, outcome.version.status) == (False, VersionStatus.RETIRED)


def test_meaning_changes_between_consecutive_versions(session, v1):
    from workbench.services.rubric_versions import meaning_changes

    draft = open_draft(session, v1.rubric)
    doc = edited(v1)
    doc["questions"][1]["allow_tie"] = False
    save_draft(session, draft, doc)
    publish_draft(session, draft, "no ties on harmless")
    draft = open_draft(session, v1.rubric)
    save_draft(session, draft, edited(draft, "\n\nAnd again."))
    assert meaning_changes(versions_of(session, v1.rubric)) == {2: ("harmless",)}
    publish_draft(session, draft, "wording")
    assert meaning_changes(versions_of(session, v1.rubric)) == {2: ("harmless",), 3: ()}


def test_version_documents_are_read_once_when_immutable_and_afresh_while_draft(session, v1):
    assert version_document(session, v1.id, v1.content_sha256) == v1.document
    draft = open_draft(session, v1.rubric)
    session.flush()
    assert version_document(session, draft.id, draft.content_sha256)["guidelines"] == v1.document["guidelines"]
    save_draft(session, draft, edited(v1))
    session.flush()
    # Same id and placeholder hash, new content: a draft is never served from the cache.
    assert version_document(session, draft.id, draft.content_sha256)["guidelines"].endswith(
        "read both responses twice."
    )
    published = publish_draft(session, draft, "Ask raters to read twice.")
    session.flush()
    # Publishing gives the version its content hash, which keys the cache from then on.
    assert version_document(session, published.id, published.content_sha256) == published.document
    with pytest.raises(NotFound):
        version_document(session, published.id + 1000, "0" * 64)
