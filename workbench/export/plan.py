"""Resolving ``ExportOptions`` against a project: shape, questions, versions and left-out raters.

``make_plan`` is shared by the export and by the count, so both refuse the same things
with the same messages and read the same versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from ..domain import TaskKind
from ..errors import FieldError, InvalidInput
from ..models import Project
from ..services.rubrics import current_version
from .judge_labels import choose_judge, judge_versions
from .options import PAIRWISE_SHAPES, ExportOptions, Plan, refuse
from .queries import flagged_raters, has_message_prompts, judged_versions


def _pairwise_ids(document: dict[str, Any]) -> list[str]:
    return [q["id"] for q in document.get("questions", []) if q.get("type") == "pairwise"]


def _question_for(document: dict[str, Any], question_id: str | None) -> str | None:
    ids = _pairwise_ids(document)
    if question_id is None:
        return ids[0] if ids else None
    return question_id if question_id in ids else None


def _check_question(question_id: str | None, documents: Sequence[dict[str, Any]]) -> None:
    if question_id is None:
        return
    if any(question_id in _pairwise_ids(doc) for doc in documents):
        return
    known = sorted({q for doc in documents for q in _pairwise_ids(doc)})
    other = any(question_id == q.get("id") for doc in documents for q in doc.get("questions", []))
    why = "is not a pairwise question" if other else "is not a question of this rubric"
    raise InvalidInput(
        "cannot export preferences",
        [FieldError("question_id", f"{question_id!r} {why}; pairwise questions: {', '.join(known) or 'none'}")],
    )


def make_plan(session: Session, project: Project, options: ExportOptions, calibration_thresholds=None) -> Plan:
    """The options resolved against ``project``'s data, or ``InvalidInput`` saying why they cannot be.

    Refused: a project that is not pairwise, a question that is not a pairwise question of
    the rubric, a rubric version nobody judged under, and a shape that cannot hold the
    data (``standard``/``reward`` with chat prompts); with judge labels, a judge that has
    no accepted labels (or, unnamed, several judges that have).
    """
    if project.task_kind != TaskKind.PAIRWISE:
        refuse("project", f"project {project.name!r} is {project.task_kind.value}, not pairwise")
    single_only = [name for name in ("threshold", "min_gap") if getattr(options, name) is not None]
    if single_only or options.normalize:
        name = (single_only or ["normalize"])[0]
        refuse(name, f"{name} applies to single-response projects (the rating shapes)")
    if options.shape not in PAIRWISE_SHAPES:
        refuse("shape", f"the {options.shape} shape is for single-response projects; use {', '.join(PAIRWISE_SHAPES)}")
    current = current_version(session, project)
    versions = judged_versions(session, project) if options.labels != "judge-accepted" else []
    judge = choose_judge(session, project, options.judge) if options.labels != "humans" else None
    by_judge = judge_versions(session, project, judge) if judge is not None else []
    documents = [current.document, *(v.document for v in versions), *(v.document for v in by_judge)]
    _check_question(options.question_id, documents)
    wanted = options.rubric_version
    if wanted is not None and wanted not in {v.number for v in [*versions, *by_judge]}:
        known = ", ".join(str(n) for n in sorted({v.number for v in [*versions, *by_judge]})) or "none"
        refuse("rubric_version", f"no judgments under version {wanted}; judged versions: {known}")

    def questions(judged):
        return tuple(
            (v, None if wanted is not None and v.number != wanted else _question_for(v.document, options.question_id))
            for v in judged
        )

    shape = options.shape
    messages = has_message_prompts(session, project)
    if messages and shape in ("standard", "reward"):
        refuse(
            "shape", f"the project has chat-message prompts; the {shape} shape needs text prompts (use conversational)"
        )
    excluded = ()
    if options.exclude_flagged_raters:
        excluded = flagged_raters(session, project, options.question_id, calibration_thresholds)
    return Plan(
        options=options,
        shape=("conversational" if messages else "standard") if shape == "auto" else shape,
        conversational=shape == "conversational" or (shape in ("auto", "kto", "reward") and messages),
        excluded=excluded,
        versions=questions(versions),
        question_id=options.question_id or _question_for(current.document, None),
        slug=project.rubric.slug,
        judge=judge,
        judge_versions=questions(by_judge),
    )
