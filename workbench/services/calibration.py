"""Rater calibration for a project: judgments of one question → ``stats.calibration``.

One query reads the live judgments with their display order, timing and the item's gold
answer; the arrays go to ``stats.calibration.calibrate``. Position bias is measured from
the recorded display order (DESIGN.md §5): a rater "picked left" when the response they
preferred was the one shown on the left.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..errors import FieldError, InvalidInput
from ..models import Item, Judgment, Project, RepeatJudgment, User
from ..stats.binomial import Proportion, wilson_interval
from ..stats.calibration import JudgmentTable, RaterCalibration, Thresholds, calibrate
from .questions import MeasuredQuestion, find_question
from .rubrics import current_version


def parse_thresholds(text: str | None) -> Thresholds:
    """Thresholds from a JSON object of overrides (the ``CALIBRATION_THRESHOLDS`` setting)."""
    if not text:
        return Thresholds()
    try:
        overrides = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("CALIBRATION_THRESHOLDS is not valid JSON", [FieldError("", exc.msg)]) from None
    known = {f.name: f for f in fields(Thresholds)}
    if not isinstance(overrides, dict):
        raise InvalidInput("CALIBRATION_THRESHOLDS must be a JSON object")
    errors = [
        FieldError(key, f"unknown threshold; known: {', '.join(known)}") for key in overrides if key not in known
    ] + [
        FieldError(key, "must be a number")
        for key, value in overrides.items()
        if key in known and (not isinstance(value, int | float) or isinstance(value, bool))
    ]
    if errors:
        raise InvalidInput("CALIBRATION_THRESHOLDS has problems", errors)
    return replace(Thresholds(), **overrides)


@dataclass(frozen=True)
class RaterRow:
    user_id: int
    name: str
    is_machine: bool
    calibration: RaterCalibration
    # Swapped repeats whose answer matched the rater's first answer (same canonical value).
    self_agreement: Proportion | None = None
    # Reviewed spot checks marked correct, and accuracy counting gold items and spot checks together.
    spot_checks: Proportion | None = None
    accuracy: Proportion | None = None


@dataclass(frozen=True)
class CalibrationReport:
    question: MeasuredQuestion
    rows: tuple[RaterRow, ...]
    thresholds: Thresholds

    def for_user(self, user_id: int) -> RaterRow | None:
        return next((r for r in self.rows if r.user_id == user_id), None)


def judgment_table(session: Session, project: Project, question: MeasuredQuestion) -> tuple[JudgmentTable, list[int]]:
    """The live judgments of ``question`` as parallel arrays; also the rater ids by code."""
    rows = session.execute(
        select(
            Judgment.rater_id,
            Judgment.item_id,
            Judgment.answers[question.question_id],
            Judgment.display_order,
            Judgment.duration_ms,
            Item.gold_answer,
            Judgment.lease_id,
            Judgment.submitted_at,
        )
        .join(Item, Item.id == Judgment.item_id)
        .where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None))
        .order_by(Judgment.submitted_at, Judgment.id)
    ).all()
    rater_ids = sorted({r[0] for r in rows})
    rater_code = {rid: i for i, rid in enumerate(rater_ids)}
    unit_code: dict[int, int] = {}
    n = len(rows)
    rater = np.empty(n, dtype=np.int64)
    unit = np.empty(n, dtype=np.int64)
    value = np.full(n, np.nan)
    gold = np.full(n, np.nan)
    left = np.full(n, np.nan)
    tie = np.zeros(n, dtype=bool)
    choice_made = np.zeros(n, dtype=bool)
    seconds = np.full(n, np.nan)
    sequence = np.arange(n, dtype=np.int64)
    for rater_id in _raters_without_a_known_order(rows):
        sequence[[i for i, r in enumerate(rows) if r[0] == rater_id]] = -1
    for i, (rater_id, item_id, answer, order, duration, gold_answer, _, _) in enumerate(rows):
        rater[i] = rater_code[rater_id]
        unit[i] = unit_code.setdefault(item_id, len(unit_code))
        code = question.code(answer)
        value[i] = math.nan if code is None else code
        if gold_answer is not None:
            gold_code = question.code(gold_answer.get(question.question_id))
            gold[i] = math.nan if gold_code is None else gold_code
        if question.kind == "pairwise" and isinstance(answer, dict):
            choice = answer.get("choice")
            tie[i] = choice == "tie"
            choice_made[i] = choice in ("A", "B")
            if choice in ("A", "B") and order:
                shown_left = order[0]  # canonical position of the response shown on the left
                left[i] = 1.0 if (choice == "A") == (shown_left == 0) else 0.0
        if duration is not None:
            seconds[i] = duration / 1000.0
    table = JudgmentTable(
        rater=rater,
        unit=unit,
        value=value,
        gold=gold,
        left_pick=left,
        is_tie=tie,
        is_choice=choice_made,
        seconds=seconds,
        order=sequence,
    )
    return table, rater_ids


def _raters_without_a_known_order(rows) -> set[int]:
    """Raters whose judgments' order is unknown: some were imported (no lease) and their
    submission times repeat, so sorting by time says nothing about the order they were made in."""
    times: dict[int, list] = {}
    imported: set[int] = set()
    for row in rows:
        times.setdefault(row.rater_id, []).append(row.submitted_at)
        if row.lease_id is None:
            imported.add(row.rater_id)
    return {r for r in imported if len(set(times[r])) < len(times[r])}


def rater_calibration(
    session: Session, project: Project, question_key: str | None = None, thresholds: Thresholds | None = None
) -> CalibrationReport:
    """Calibration of every rater of the project on one question (default: the first measured one)."""
    question = find_question(current_version(session, project).document, question_key)
    thresholds = thresholds or Thresholds()
    table, rater_ids = judgment_table(session, project, question)
    if not rater_ids:
        return CalibrationReport(question, (), thresholds)
    results = calibrate(table, question.value_domain, question.level, thresholds)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(rater_ids)))}
    repeats = repeat_agreement(session, project, question)
    rows = tuple(
        RaterRow(
            rater_ids[c.rater],
            users[rater_ids[c.rater]].name,
            users[rater_ids[c.rater]].is_machine,
            c,
            repeats.get(rater_ids[c.rater]),
        )
        for c in results
    )
    return CalibrationReport(question, with_spot_checks(session, project, rows), thresholds)


def with_spot_checks(session: Session, project: Project, rows: tuple[RaterRow, ...]) -> tuple[RaterRow, ...]:
    """Add reviewed spot checks to each row: their own share correct, and accuracy over gold
    items and spot checks together (``services.spot_checks``)."""
    from .spot_checks import spot_check_tally

    tally = spot_check_tally(session, project)
    out = []
    for row in rows:
        correct, reviewed = tally.get(row.user_id, (0, 0))
        gold = row.calibration.gold
        out.append(
            replace(
                row,
                spot_checks=wilson_interval(correct, reviewed) if reviewed else None,
                accuracy=wilson_interval(gold.successes + correct, gold.trials + reviewed)
                if gold.trials + reviewed
                else None,
            )
        )
    return tuple(out)


def repeat_agreement(session: Session, project: Project, question: MeasuredQuestion) -> dict[int, Proportion]:
    """Per rater: how often a swapped repeat got the same answer as the first judgment."""
    original = aliased(Judgment)
    rows = session.execute(
        select(RepeatJudgment.rater_id, RepeatJudgment.answers, original.answers)
        .join(original, original.id == RepeatJudgment.original_id)
        .where(RepeatJudgment.project_id == project.id)
    ).all()
    tally: dict[int, list[int]] = {}
    for rater_id, again, first in rows:
        a, b = question.code(again.get(question.question_id)), question.code(first.get(question.question_id))
        if a is None or b is None:
            continue
        counts = tally.setdefault(rater_id, [0, 0])
        counts[0] += a == b
        counts[1] += 1
    return {rater_id: wilson_interval(same, n) for rater_id, (same, n) in tally.items()}
