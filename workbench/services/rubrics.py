"""Rubrics in the database: load documents as versions, find the version a project uses."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from ..domain import VersionStatus
from ..errors import Conflict, NotFound
from ..models import Project, Rubric, RubricVersion
from ..rubric import RubricDocument


@dataclass(frozen=True)
class LoadOutcome:
    version: RubricVersion
    created: bool


def load_rubric(
    session: Session, doc: RubricDocument, changelog: str = "", created_by_id: int | None = None
) -> LoadOutcome:
    """Store a validated document as a published version.

    The same content (same sha256) maps to the existing version; changed content becomes a
    new version numbered after the last one. Published versions are never edited.
    """
    rubric = session.scalar(select(Rubric).where(Rubric.slug == doc.slug))
    if rubric is None:
        rubric = Rubric(slug=doc.slug, title=doc.title)
        session.add(rubric)
        session.flush()
    existing = session.scalar(
        select(RubricVersion).where(RubricVersion.rubric_id == rubric.id, RubricVersion.content_sha256 == doc.sha256)
    )
    if existing is not None:
        return LoadOutcome(existing, created=False)
    last = session.scalar(select(func.max(RubricVersion.number)).where(RubricVersion.rubric_id == rubric.id)) or 0
    version = RubricVersion(
        rubric_id=rubric.id,
        number=last + 1,
        status=VersionStatus.PUBLISHED,
        document={**doc.data, "version": last + 1},
        content_sha256=doc.sha256,
        changelog=changelog or ("initial version" if last == 0 else "loaded from file"),
        created_by_id=created_by_id,
    )
    rubric.title = doc.title
    session.add(version)
    session.flush()
    return LoadOutcome(version, created=True)


def get_rubric(session: Session, slug: str) -> Rubric:
    rubric = session.scalar(select(Rubric).where(Rubric.slug == slug))
    if rubric is None:
        raise NotFound(f"no rubric {slug!r}")
    return rubric


def latest_published_id(rubric_id):
    """The id of the rubric's latest published version as a scalar subquery (NULL when it
    has none); ``rubric_id`` is a value, a parameter or a column to correlate with."""
    latest = RubricVersion.__table__.alias("latest")
    return (
        select(latest.c.id)
        .where(latest.c.rubric_id == rubric_id, latest.c.status == VersionStatus.PUBLISHED)
        .order_by(latest.c.number.desc())
        .limit(1)
        .scalar_subquery()
    )


def latest_published(session: Session, rubric_id: int) -> RubricVersion:
    version = session.scalar(select(RubricVersion).where(RubricVersion.id == latest_published_id(rubric_id)))
    if version is None:
        raise NotFound("the rubric has no published version")
    return version


def current_version(session: Session, project: Project) -> RubricVersion:
    """The pinned version, or the latest published one when the project follows the rubric."""
    if project.rubric_version_id is not None:
        return session.get(RubricVersion, project.rubric_version_id)
    return latest_published(session, project.rubric_id)


FROZEN_FIELDS = ("document", "content_sha256", "rubric_id", "number", "changelog")


@event.listens_for(RubricVersion, "before_update")
def _refuse_changes_to_published_versions(mapper, connection, version: RubricVersion) -> None:
    """Published and retired versions are immutable, whatever code path tries to change them."""
    state = inspect(version)
    status = state.attrs.status.history
    before = (status.deleted or status.unchanged or [version.status])[0]
    if before == VersionStatus.DRAFT:
        return
    changed = [name for name in FROZEN_FIELDS if state.attrs[name].history.has_changes()]
    if changed or version.status == VersionStatus.DRAFT:
        raise Conflict(
            f"v{version.number} of a rubric is {VersionStatus(before).value} and cannot change ({', '.join(changed) or 'status'})"
        )


def list_rubrics(session: Session) -> list[Rubric]:
    return list(session.scalars(select(Rubric).order_by(Rubric.slug)))


# Published and retired versions never change, and a version's hash fixes its content, so a
# process reads each one's document once. Drafts (hash "draft-N") are always read afresh.
_DOCUMENTS: dict[tuple[int, str], dict] = {}
_DOCUMENTS_MAX = 256


def version_document(session: Session, version_id: int, sha256: str) -> dict:
    """The document of a rubric version, from the process cache when it is immutable.

    The returned dict is shared: callers must not modify it.
    """
    key = (version_id, sha256)
    document = _DOCUMENTS.get(key)
    if document is None:
        document = session.scalar(select(RubricVersion.document).where(RubricVersion.id == version_id))
        if document is None:
            raise NotFound(f"no rubric version {version_id}")
        if not sha256.startswith("draft"):
            if len(_DOCUMENTS) >= _DOCUMENTS_MAX:
                _DOCUMENTS.clear()
            _DOCUMENTS[key] = document
    return document
