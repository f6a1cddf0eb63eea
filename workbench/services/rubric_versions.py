"""The life of a rubric version: draft → published → retired.

A rubric has at most one draft. Editing a published rubric opens a draft copied from its
latest version; saving validates the whole document; publishing hashes it and freezes it.
A draft has no content hash yet: its ``content_sha256`` column holds ``draft-<number>``
(the column is unique per rubric, and a fresh draft has the same content as its source).
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import VersionStatus
from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..models import Project, Rubric, RubricVersion, User
from ..rubric import parse_rubric
from .rubrics import get_rubric

CHANGELOG_MAX = 300
DOCUMENT_ORDER = ("slug", "title", "version", "description", "task_kind", "guidelines", "questions")


def draft_placeholder(number: int) -> str:
    return f"draft-{number}"


def versions_of(session: Session, rubric: Rubric) -> list[RubricVersion]:
    return list(
        session.scalars(
            select(RubricVersion).where(RubricVersion.rubric_id == rubric.id).order_by(RubricVersion.number)
        )
    )


def get_version(session: Session, slug: str, number: int) -> RubricVersion:
    rubric = get_rubric(session, slug)
    version = session.scalar(
        select(RubricVersion).where(RubricVersion.rubric_id == rubric.id, RubricVersion.number == number)
    )
    if version is None:
        raise NotFound(f"rubric {slug!r} has no version {number}")
    return version


def latest_version(session: Session, rubric: Rubric, published_only: bool = False) -> RubricVersion:
    query = select(RubricVersion).where(RubricVersion.rubric_id == rubric.id)
    if published_only:
        query = query.where(RubricVersion.status == VersionStatus.PUBLISHED)
    version = session.scalar(query.order_by(RubricVersion.number.desc()).limit(1))
    if version is None:
        raise NotFound(f"rubric {rubric.slug!r} has no {'published ' if published_only else ''}version")
    return version


def find_draft(session: Session, rubric: Rubric) -> RubricVersion | None:
    return session.scalar(
        select(RubricVersion).where(RubricVersion.rubric_id == rubric.id, RubricVersion.status == VersionStatus.DRAFT)
    )


def _next_number(session: Session, rubric: Rubric) -> int:
    return (session.scalar(select(func.max(RubricVersion.number)).where(RubricVersion.rubric_id == rubric.id)) or 0) + 1


def open_draft(session: Session, rubric: Rubric, author: User | None = None) -> RubricVersion:
    """The rubric's draft, created from its latest version when there is none."""
    draft = find_draft(session, rubric)
    if draft is not None:
        return draft
    source = latest_version(session, rubric)
    number = _next_number(session, rubric)
    draft = RubricVersion(
        rubric_id=rubric.id,
        number=number,
        status=VersionStatus.DRAFT,
        document=copy.deepcopy(source.document),
        content_sha256=draft_placeholder(number),
        changelog="",
        created_by_id=author.id if author else None,
    )
    session.add(draft)
    session.flush()
    return draft


def _require_draft(version: RubricVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise Conflict(
            f"v{version.number} is {version.status.value}; published versions never change, edit a draft instead"
        )


def save_draft(session: Session, draft: RubricVersion, document: Any) -> RubricVersion:
    """Replace the draft's document with ``document`` after full validation."""
    _require_draft(draft)
    parsed = parse_rubric(document, source="the draft")
    if parsed.slug != draft.rubric.slug:
        raise InvalidInput(
            "the draft is not valid",
            [FieldError("/slug", f"the slug stays {draft.rubric.slug!r}; create a new rubric file for a new slug")],
        )
    draft.document = {k: parsed.data[k] for k in DOCUMENT_ORDER if k in parsed.data}
    session.flush()
    return draft


def publish_draft(session: Session, draft: RubricVersion, changelog: str) -> RubricVersion:
    """Freeze the draft: hash its canonical JSON, record the changelog line, number it last."""
    _require_draft(draft)
    changelog = " ".join(changelog.split())
    if not changelog:
        raise InvalidInput(
            "cannot publish", [FieldError("changelog", "a changelog is required: say in one line what changed")]
        )
    if len(changelog) > CHANGELOG_MAX:
        raise InvalidInput(
            "cannot publish",
            [FieldError("changelog", f"keep the changelog to one line of at most {CHANGELOG_MAX} characters")],
        )
    parsed = parse_rubric(draft.document, source="the draft")
    same = session.scalar(
        select(RubricVersion).where(
            RubricVersion.rubric_id == draft.rubric_id, RubricVersion.content_sha256 == parsed.sha256
        )
    )
    if same is not None:
        raise Conflict(
            f"the draft is identical to v{same.number} ({same.status.value}); change something before publishing"
        )
    last = session.scalar(select(func.max(RubricVersion.number)).where(RubricVersion.rubric_id == draft.rubric_id)) or 0
    if draft.number < last:
        draft.number = last + 1
    draft.document = {**parsed.data, "version": draft.number}
    draft.content_sha256 = parsed.sha256
    draft.changelog = changelog
    draft.status = VersionStatus.PUBLISHED
    draft.rubric.title = parsed.title
    session.flush()
    return draft


def discard_draft(session: Session, draft: RubricVersion) -> None:
    _require_draft(draft)
    session.delete(draft)
    session.flush()


def retire_version(session: Session, version: RubricVersion) -> RubricVersion:
    """Stop a published version from being handed out; its judgments stay as they are."""
    if version.status != VersionStatus.PUBLISHED:
        raise Conflict(f"only a published version can be retired; v{version.number} is {version.status.value}")
    pinned = session.scalars(select(Project.name).where(Project.rubric_version_id == version.id)).all()
    if pinned:
        raise Conflict(f"v{version.number} is pinned by project {', '.join(sorted(pinned))}; pin another version first")
    others = session.scalar(
        select(func.count())
        .select_from(RubricVersion)
        .where(
            RubricVersion.rubric_id == version.rubric_id,
            RubricVersion.status == VersionStatus.PUBLISHED,
            RubricVersion.id != version.id,
        )
    )
    following = session.scalars(
        select(Project.name).where(Project.rubric_id == version.rubric_id, Project.rubric_version_id.is_(None))
    ).all()
    if not others and following:
        raise Conflict(
            f"v{version.number} is the only published version and project {', '.join(sorted(following))} uses it"
        )
    version.status = VersionStatus.RETIRED
    session.flush()
    return version


def projects_using(session: Session, rubric: Rubric) -> list[tuple[Project, RubricVersion | None]]:
    """Every project of the rubric with its pinned version (None: follows the latest published)."""
    projects = session.scalars(select(Project).where(Project.rubric_id == rubric.id).order_by(Project.name))
    return [(p, p.pinned_version) for p in projects]


def file_document(version: RubricVersion) -> dict[str, Any]:
    """The version as a rubric file: conventional key order, ``version`` set to its number."""
    data = {**version.document, "version": version.number}
    return {k: data[k] for k in DOCUMENT_ORDER if k in data}


def apply_editor(
    session: Session,
    draft: RubricVersion,
    fields: dict[str, str],
    question_boxes: list[str],
    changelog: str | None = None,
) -> tuple[RubricVersion, list[str]]:
    """Save the editor's form into the draft, then publish it when a changelog is given.

    Returns the version and the kept question boxes; raises ``InvalidInput`` (every problem
    at its JSON pointer) or ``Conflict`` (nothing changed since a published version).
    """
    from ..rubric.editing import document_from_form

    document, kept, errors = document_from_form(draft.document, fields, question_boxes)
    if errors:
        raise InvalidInput("the draft is not valid", errors)
    save_draft(session, draft, document)
    if changelog is not None:
        publish_draft(session, draft, changelog)
    return draft, kept


def meaning_changes(versions: list[RubricVersion]) -> dict[int, tuple[str, ...]]:
    """For each published or retired version, the questions whose answers changed meaning
    since the one before it (see ``workbench.rubric.diff``)."""
    from ..rubric.diff import rubric_diff

    frozen = [v for v in versions if v.status != VersionStatus.DRAFT]
    return {
        new.number: tuple(q.id for q in rubric_diff(old.document, new.document).meaning_changes)
        for old, new in zip(frozen, frozen[1:], strict=False)
    }
