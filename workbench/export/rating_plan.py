"""Resolving ``ExportOptions`` against a single-response project, and the columns that implies.

Shared by ``ratings.export_ratings`` and ``ratings.count_ratings``, so both refuse the same
things with the same messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from ..domain import TaskKind
from ..errors import FieldError, InvalidInput, json_text
from ..models import Project
from ..rubric.questions import Questions
from ..services.rubrics import current_version
from .options import MESSAGES, RATING_SHAPES, ExportOptions, refuse
from .queries import flagged_raters, has_message_prompts, judged_versions


@dataclass(frozen=True)
class RatingPlan:
    """``ExportOptions`` resolved: the shape (never ``auto``), whether prompts are chat
    messages, the raters left out, each judged version with its scale question (None:
    skipped) and ``scales`` (version id → the question's min and max)."""

    options: ExportOptions
    shape: str
    conversational: bool
    excluded: tuple[int, ...]
    versions: tuple[tuple[Any, str | None], ...]
    question_id: str | None
    slug: str
    scales: dict[int, tuple[int, int]] = field(default_factory=dict)


def scale_questions(document: Any) -> dict[str, Any]:
    """The rubric's likert questions with one value per answer, by id, in rubric order."""
    return {q.id: q for q in Questions.of(document) if q.type == "likert" and not q.per_response}


def default_scale_question(document: Any) -> str | None:
    """The ``overall`` question when it is a scale, else the first scale question."""
    scales = scale_questions(document)
    return "overall" if "overall" in scales else next(iter(scales), None)


def _refuse_question(question_id: str, documents: Sequence[Any]) -> None:
    known = sorted({q for doc in documents for q in scale_questions(doc)})
    other = any(question_id in Questions.of(doc).ids for doc in documents)
    why = "is not a scale (likert) question" if other else "is not a question of this rubric"
    raise InvalidInput(
        "cannot export ratings",
        [FieldError("question_id", f"{json_text(question_id)} {why}; scale questions: {', '.join(known) or 'none'}")],
    )


def _check_options(opts: ExportOptions, shape: str) -> None:
    if shape not in RATING_SHAPES:
        refuse("shape", f"a single-response project exports {', '.join(RATING_SHAPES)}, not {shape}")
    if shape in ("kto", "sft") and opts.threshold is None:
        refuse("threshold", f"the {shape} shape needs a threshold: the least mean rating that counts as good")
    if shape in ("binarized", "reward") and opts.threshold is not None:
        refuse("threshold", f"the {shape} shape takes no threshold (kto and sft do)")
    if shape != "binarized" and opts.min_gap is not None:
        refuse("min_gap", "min_gap applies to the binarized shape only")
    if shape != "reward" and opts.normalize:
        refuse("normalize", "normalize applies to the reward shape only")


def rating_shape(options: ExportOptions) -> str:
    """The rating shape ``options`` ask for; ``auto`` is ``binarized``."""
    return "binarized" if options.shape == "auto" else options.shape


def make_rating_plan(session: Session, project: Project, options: ExportOptions, thresholds=None) -> RatingPlan:
    """The options resolved against ``project``'s data, or ``InvalidInput`` saying why they cannot be."""
    if project.task_kind != TaskKind.SINGLE:
        refuse("project", f"project {project.name!r} is {project.task_kind.value}; rating shapes need single")
    shape = rating_shape(options)
    _check_options(options, shape)
    current = current_version(session, project)
    versions = judged_versions(session, project)
    documents = [current.document, *(v.document for v in versions)]
    wanted = options.question_id
    if wanted is not None and not any(wanted in scale_questions(doc) for doc in documents):
        _refuse_question(wanted, documents)
    if options.rubric_version is not None and options.rubric_version not in {v.number for v in versions}:
        known = ", ".join(str(v.number) for v in versions) or "none"
        refuse("rubric_version", f"no judgments under version {options.rubric_version}; judged versions: {known}")
    chosen, scales = [], {}
    for version in versions:
        qid = wanted if wanted is not None else default_scale_question(version.document)
        question = scale_questions(version.document).get(qid) if qid is not None else None
        if question is None or (options.rubric_version is not None and version.number != options.rubric_version):
            chosen.append((version, None))
            continue
        chosen.append((version, qid))
        scales[version.id] = (question.min, question.max)
    excluded = flagged_raters(session, project, wanted, thresholds) if options.exclude_flagged_raters else ()
    return RatingPlan(
        options=options,
        shape=shape,
        conversational=has_message_prompts(session, project),
        excluded=excluded,
        versions=tuple(chosen),
        question_id=wanted or default_scale_question(current.document),
        slug=project.rubric.slug,
        scales=scales,
    )


SIDE = ("model", "item_id", "n_ratings", "rating_std")
TAIL = ["n_ratings", "rating_std", "rating_min", "rating_max", "item_id", "group_id", "model"]
PROVENANCE = ["rubric", "rubric_version", "rubric_version_sha256"]


def columns_for(plan: RatingPlan) -> list[str]:
    """The output columns, in Parquet order."""
    if plan.shape == "binarized":
        head = ["prompt", "chosen", "rejected", "score_chosen", "score_rejected", "margin"]
        sides = [f"{side}_{name}" for side in ("chosen", "rejected") for name in SIDE]
        return [*head, *sides, "group_id", *PROVENANCE]
    if plan.shape == "sft" and plan.conversational:
        head = ["messages", "score"]
    elif plan.shape == "kto":
        head = ["prompt", "completion", "label", "score"]
    else:
        head = ["prompt", "completion", "score"]
    return [*head, *TAIL, *PROVENANCE]


def row_schema(columns: Sequence[str], conversational: bool) -> pa.Schema:
    text = MESSAGES if conversational else pa.string()
    types = {"prompt": text, "chosen": text, "rejected": text, "completion": text, "messages": MESSAGES,
             "label": pa.bool_(), "rubric_version": pa.int32()}  # fmt: skip
    for name in columns:
        if name.endswith("n_ratings"):
            types[name] = pa.int32()
        elif name.startswith(("score", "margin")) or name.endswith(("_std", "_min", "_max")):
            types[name] = pa.float64()
    return pa.schema([pa.field(c, types.get(c, pa.string()), nullable=c != "group_id") for c in columns])
