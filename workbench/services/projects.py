"""Projects: a rubric, an overlap target and the items to rate."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import ProjectProgress, TaskKind, VersionStatus
from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..models import Item, Judgment, Project, RepeatJudgment, Rubric, RubricVersion, User
from .rubrics import get_rubric, latest_published


def check_settings(
    name: str,
    overlap_k: int,
    lease_minutes: int,
    gold_rate: float,
    qualification_items: int,
    qualification_min_accuracy: float,
    repeat_rate: float,
    summary: str = "cannot save project settings",
) -> None:
    """Every problem with a project's settings at once, named by the field (CLI option)."""
    errors = []
    if not name:
        errors.append(FieldError("name", "a project needs a name"))
    elif len(name) > 200:
        errors.append(FieldError("name", "a project name has at most 200 characters"))
    if overlap_k < 1:
        errors.append(FieldError("overlap", "overlap must be at least 1"))
    if lease_minutes < 1:
        errors.append(FieldError("lease_minutes", "a lease lasts at least one minute"))
    for field_name, rate in (
        ("gold_rate", gold_rate),
        ("repeat_rate", repeat_rate),
        ("min_accuracy", qualification_min_accuracy),
    ):
        if not 0.0 <= rate <= 1.0:
            errors.append(
                FieldError(field_name, f"{field_name.replace('_', ' ')} is a share between 0 and 1, not {rate}")
            )
    if qualification_items < 0:
        errors.append(FieldError("qualification_items", "the qualification set cannot have a negative size"))
    if errors:
        raise InvalidInput(summary, errors)


def _check_name_free(session: Session, name: str, project_id: int | None = None) -> None:
    taken = session.scalar(select(Project.id).where(Project.name == name))
    if taken is not None and taken != project_id:
        raise Conflict(f"a project named {name!r} already exists")


def _pinned(session: Session, rubric: Rubric, pin_version: int | None) -> RubricVersion | None:
    """The published version ``pin_version`` of the rubric (None: follow the latest)."""
    if pin_version is None:
        return None
    pinned = next((v for v in rubric.versions if v.number == pin_version), None)
    if pinned is None:
        raise NotFound(f"rubric {rubric.slug!r} has no version {pin_version}")
    if pinned.status != VersionStatus.PUBLISHED:
        raise Conflict(
            f"rubric {rubric.slug!r} version {pin_version} is {pinned.status.value}; pin a published version"
        )
    return pinned


def create_project(
    session: Session,
    name: str,
    rubric_slug: str,
    overlap_k: int = 3,
    pin_version: int | None = None,
    lease_minutes: int = 30,
    seed: int = 0,
    gold_rate: float = 0.0,
    qualification_items: int = 0,
    qualification_min_accuracy: float = 0.0,
    gold_feedback: bool = True,
    repeat_rate: float = 0.0,
) -> Project:
    """A project; see ``assignment.py`` and ``gold.py`` for what the gold, qualification and
    repeat settings do."""
    name = name.strip()
    check_settings(
        name,
        overlap_k,
        lease_minutes,
        gold_rate,
        qualification_items,
        qualification_min_accuracy,
        repeat_rate,
        "cannot create project",
    )
    _check_name_free(session, name)
    rubric = get_rubric(session, rubric_slug)
    version = latest_published(session, rubric.id)
    pinned = _pinned(session, rubric, pin_version)
    project = Project(
        name=name,
        rubric_id=rubric.id,
        rubric_version_id=pinned.id if pinned else None,
        task_kind=TaskKind((pinned or version).document["task_kind"]),
        overlap_k=overlap_k,
        lease_minutes=lease_minutes,
        seed=seed,
        gold_rate=gold_rate,
        qualification_items=qualification_items,
        qualification_min_accuracy=qualification_min_accuracy,
        gold_feedback=gold_feedback,
        repeat_rate=repeat_rate,
    )
    session.add(project)
    session.flush()
    return project


def update_project(
    session: Session,
    project: Project,
    name: str,
    overlap_k: int,
    pin_version: int | None,
    gold_rate: float,
    qualification_items: int,
    qualification_min_accuracy: float,
    gold_feedback: bool,
    repeat_rate: float,
) -> Project:
    """Change the settings ``create_project`` takes (the rubric and its task kind stay).

    Judgments already made keep the rubric version they were made with; a new pin applies to
    tasks handed out from now on.
    """
    name = name.strip()
    check_settings(
        name,
        overlap_k,
        project.lease_minutes,
        gold_rate,
        qualification_items,
        qualification_min_accuracy,
        repeat_rate,
        "cannot save project settings",
    )
    _check_name_free(session, name, project.id)
    pinned = _pinned(session, project.rubric, pin_version)
    if pinned is not None and TaskKind(pinned.document["task_kind"]) != project.task_kind:
        raise Conflict(
            f"version {pin_version} rates {pinned.document['task_kind']} items, this project {project.task_kind.value}"
        )
    project.name = name
    project.overlap_k = overlap_k
    project.rubric_version_id = pinned.id if pinned else None
    project.gold_rate = gold_rate
    project.qualification_items = qualification_items
    project.qualification_min_accuracy = qualification_min_accuracy
    project.gold_feedback = gold_feedback
    project.repeat_rate = repeat_rate
    session.flush()
    return project


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project {project_id}")
    return project


@dataclass(frozen=True)
class ProjectSettings:
    """What rating needs of a project, read with Core in the rater API's hot path.

    It carries the same attribute names as ``Project``, so assignment and judging accept
    either.
    """

    id: int
    rubric_id: int
    rubric_version_id: int | None
    task_kind: TaskKind
    overlap_k: int
    gold_rate: float
    repeat_rate: float
    qualification_items: int
    qualification_min_accuracy: float
    lease_minutes: int
    seed: int
    gold_feedback: bool
    members_only: bool
    archived_at: datetime | None


_projects = Project.__table__
SETTINGS_COLUMNS = tuple(_projects.c[f.name] for f in fields(ProjectSettings))


def resolve_project(session: Session, ref: str) -> Project:
    """A project by name, or by numeric id."""
    project = session.scalar(select(Project).where(Project.name == ref))
    if project is None and ref.isdigit():
        project = session.get(Project, int(ref))
    if project is None:
        raise NotFound(f"no project {ref!r}")
    return project


def list_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.id)))


def project_item_count(session: Session, project: Project) -> int:
    """Live items (gold items are checks, not work)."""
    return (
        session.scalar(
            select(func.count()).select_from(Item).where(Item.project_id == project.id, Item.is_gold.is_(False))
        )
        or 0
    )


def project_progress(session: Session, project: Project, with_raters: bool = False) -> ProjectProgress:
    """Items, judgments against the target (items × overlap) and completed items."""
    n_items = project_item_count(session, project)
    per_item = (
        select(Judgment.item_id, func.count().label("n"))
        .join(Item, Item.id == Judgment.item_id)
        .where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None), Item.is_gold.is_(False))
        .group_by(Judgment.item_id)
        .subquery()
    )
    n_judgments = session.scalar(select(func.coalesce(func.sum(per_item.c.n), 0))) or 0
    complete = session.scalar(select(func.count()).select_from(per_item).where(per_item.c.n >= project.overlap_k)) or 0
    by_rater: tuple[tuple[str, int], ...] = ()
    if with_raters:
        rows = session.execute(
            select(User.name, func.count(Judgment.id))
            .join(Judgment, Judgment.rater_id == User.id)
            .where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None))
            .group_by(User.id, User.name)
            .order_by(func.count(Judgment.id).desc(), User.name)
        )
        by_rater = tuple((name, n) for name, n in rows)
    return ProjectProgress(
        items=n_items,
        target_judgments=n_items * project.overlap_k,
        judgments=int(n_judgments),
        items_complete=int(complete),
        by_rater=by_rater,
    )


def rater_done_count(session: Session, project: Project, rater: User) -> int:
    """Everything the rater submitted: live, gold and repeat items alike (they look the same)."""
    judged = (
        session.scalar(
            select(func.count())
            .select_from(Judgment)
            .where(
                Judgment.project_id == project.id, Judgment.rater_id == rater.id, Judgment.superseded_by_id.is_(None)
            )
        )
        or 0
    )
    repeated = (
        session.scalar(
            select(func.count())
            .select_from(RepeatJudgment)
            .where(RepeatJudgment.project_id == project.id, RepeatJudgment.rater_id == rater.id)
        )
        or 0
    )
    return judged + repeated


def rater_recent_stats(session: Session, project: Project, rater: User, since) -> tuple[int, float | None]:
    """How many items the rater judged since ``since``, and their median seconds per item."""
    durations = sorted(
        d / 1000.0
        for d in session.scalars(
            select(Judgment.duration_ms).where(
                Judgment.project_id == project.id,
                Judgment.rater_id == rater.id,
                Judgment.submitted_at >= since,
                Judgment.duration_ms.is_not(None),
            )
        )
    )
    if not durations:
        return 0, None
    mid = len(durations) // 2
    median = durations[mid] if len(durations) % 2 else (durations[mid - 1] + durations[mid]) / 2
    return len(durations), median
