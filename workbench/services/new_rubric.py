"""New rubrics from the browser, and the rubrics shipped in ``rubrics/``.

A new rubric starts as a draft, blank or a copy of a shipped rubric under a new slug; the
author finishes and publishes it in the rubric editor (``rubric_versions``). A shipped
rubric not yet in the database is loaded on first use, as ``workbench rubrics load`` would.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import VersionStatus
from ..errors import FieldError, InvalidInput, NotFound
from ..models import Rubric, RubricVersion, User
from ..paths import resource_dir
from ..rubric import load_rubric_file
from .rubric_versions import DOCUMENT_ORDER, draft_placeholder
from .rubrics import get_rubric, latest_published_id, load_rubric

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,98}$")  # as in rubrics/rubric.schema.json
BLANK = ""


@dataclass(frozen=True)
class ShippedRubric:
    slug: str
    title: str
    path: Path


def shipped_rubrics() -> list[ShippedRubric]:
    """The rubric files that come with workbench (``rubrics/*.yaml``), by slug."""
    found = []
    for path in sorted(resource_dir("rubrics").glob("*.yaml")):
        doc = load_rubric_file(path)
        found.append(ShippedRubric(doc.slug, doc.title, path))
    return sorted(found, key=lambda r: r.slug)


def _shipped(slug: str) -> ShippedRubric:
    for rubric in shipped_rubrics():
        if rubric.slug == slug:
            return rubric
    raise NotFound(f"no shipped rubric {slug!r}")


def rubric_choices(session: Session) -> list[tuple[str, str]]:
    """(slug, title) of every rubric a project can use: those in the database with a
    published version, then shipped ones not loaded yet."""
    published = select(Rubric).where(latest_published_id(Rubric.id).is_not(None)).order_by(Rubric.slug)
    stored = {r.slug: r.title for r in session.scalars(published)}
    known = set(session.scalars(select(Rubric.slug)))
    shipped = {r.slug: r.title for r in shipped_rubrics() if r.slug not in known}
    return sorted({**stored, **shipped}.items())


def ensure_rubric(session: Session, slug: str) -> Rubric:
    """The rubric ``slug``, loading the shipped file of that slug when it is not stored yet."""
    rubric = session.scalar(select(Rubric).where(Rubric.slug == slug))
    if rubric is not None:
        return rubric
    try:
        shipped = _shipped(slug)
    except NotFound:
        return get_rubric(session, slug)  # the usual "no rubric" error
    return load_rubric(session, load_rubric_file(shipped.path), changelog="loaded from the shipped file").version.rubric


def start_rubric(session: Session, slug: str, title: str, source: str = BLANK, author: User | None = None) -> Rubric:
    """A new rubric whose first version is a draft: blank, or a copy of shipped rubric ``source``."""
    slug, title = slug.strip(), title.strip()
    errors = []
    if not SLUG.match(slug):
        errors.append(
            FieldError("slug", "use 2 to 99 lower-case letters, digits and dashes, starting with a letter or digit")
        )
    elif session.scalar(select(Rubric.id).where(Rubric.slug == slug)) is not None:
        errors.append(FieldError("slug", f"a rubric {slug!r} already exists"))
    elif slug in {r.slug for r in shipped_rubrics()}:
        errors.append(FieldError("slug", f"{slug!r} is the slug of a shipped rubric; choose another"))
    if not title:
        errors.append(FieldError("title", "a rubric needs a title"))
    elif len(title) > 300:
        errors.append(FieldError("title", "a title has at most 300 characters"))
    if source != BLANK and source not in {r.slug for r in shipped_rubrics()}:
        errors.append(FieldError("source", f"no shipped rubric {source!r}"))
    if errors:
        raise InvalidInput("cannot create rubric", errors)
    if source == BLANK:
        document = {"slug": slug, "title": title, "task_kind": "pairwise", "guidelines": "", "questions": []}
    else:
        data = copy.deepcopy(load_rubric_file(_shipped(source).path).data)
        data.update(slug=slug, title=title)
        document = {k: data[k] for k in DOCUMENT_ORDER if k in data and k != "version"}
    rubric = Rubric(slug=slug, title=title)
    session.add(rubric)
    session.flush()
    session.add(
        RubricVersion(
            rubric_id=rubric.id,
            number=1,
            status=VersionStatus.DRAFT,
            document=document,
            content_sha256=draft_placeholder(1),
            changelog="",
            created_by_id=author.id if author else None,
        )
    )
    session.flush()
    return rubric
