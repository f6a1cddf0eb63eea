"""Import judgments made elsewhere (other tools, crowd platforms, published labels).

Each row is ``{item_id, rater, answers, submitted_at?, duration_ms?}``:

- ``item_id`` is the item's external id in the project;
- ``rater`` is the rater's name on the other platform. Each distinct name becomes an
  *external rater*: a ``rater`` user with e-mail ``ext-<hash>@external.invalid``, no
  password and ``active`` false, so it can never log in or be assigned work, while
  agreement, calibration, leaderboards and exports treat its judgments like any other.
  Names listed in ``machine_raters`` (an LLM judge's published verdicts, a script) become
  machine raters (``is_machine``): judge alignment and escalation then leave them out of
  the human majority, and statistics report them apart from people;
- ``answers`` follow the project's current rubric version, in canonical orientation
  (``A`` is the item's first response). A pairwise ``choice`` may also name a response by
  its id (e.g. ``"output_2"``); an id the item does not have is an error;
- ``submitted_at`` is ISO 8601 with a time zone (default: the time of the import).

Imported judgments have no lease and an empty ``display_order`` (the screen order is not
known), so position bias is measured on in-app judgments only. Re-importing is harmless:
a live judgment by the same rater on the same item is reported as a duplicate and left
unchanged. Rows repeating a (rater, item) within the file follow ``repeats``: ``refuse``
(the default: an error naming the option), ``keep-first``, ``keep-last``, or
``as-repeats`` (the first row is the judgment, the next one is stored as that rater's
repeat, which feeds intra-rater consistency and never counts as a vote; further ones are
dropped and counted). Atomic by default, like the item import; ``skip_invalid`` keeps the
good rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..domain import Role
from ..errors import ImportInvalid, InvalidInput, json_text
from ..models import Item, Judgment, Project, RepeatJudgment, Response, User, utcnow
from ..rubric import normalize_answers, validate_judgment
from ..rubric.questions import Questions
from ..textsafety import load_json
from ..words import plural
from .import_formats import SourceRow, refuse_unsafe
from .imports import RowError, raise_invalid
from .judging import recount_judgments
from .rubrics import current_version

EXTERNAL_DOMAIN = "external.invalid"
FIELDS = {"item_id", "rater", "answers", "submitted_at", "duration_ms"}
REPEAT_POLICIES = ("refuse", "keep-first", "keep-last", "as-repeats")


@dataclass(frozen=True)
class JudgmentImportReport:
    imported: int
    duplicates: int
    raters_created: int
    rejected: tuple[RowError, ...] = field(default_factory=tuple)
    # Rows repeating a (rater, item) of the file: stored as repeats, or dropped by the policy.
    repeats_stored: int = 0
    repeats_dropped: int = 0


def external_email(rater: str) -> str:
    return f"ext-{hashlib.sha256(rater.encode('utf-8')).hexdigest()[:20]}@{EXTERNAL_DOMAIN}"


def _pairwise_ids(document: dict[str, Any]) -> set[str]:
    return {q.id for q in Questions.of(document).of_type("pairwise")}


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        raise ValueError("submitted_at must be an ISO 8601 string")
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        raise ValueError("submitted_at needs a time zone, e.g. 2024-05-01T12:00:00Z")
    return stamp


class _Items:
    """Item ids and response ids by external id, loaded once per import."""

    def __init__(self, session: Session, project: Project):
        self.ids: dict[str, int] = dict(
            session.execute(select(Item.external_id, Item.id).where(Item.project_id == project.id)).all()
        )
        self.responses: dict[int, dict[str, int]] = {}
        rows = session.execute(
            select(Response.item_id, Response.external_id, Response.position)
            .join(Item, Item.id == Response.item_id)
            .where(Item.project_id == project.id)
        )
        for item_id, external_id, position in rows:
            self.responses.setdefault(item_id, {})[external_id] = position


def _canonical(answers: dict[str, Any], pairwise: set[str], responses: dict[str, int], errors: list, number, unit):
    """Pairwise choices given as response ids → A/B; unknown ids are reported."""
    out = dict(answers)
    for qid in pairwise & answers.keys():
        value = answers[qid]
        if not isinstance(value, dict) or value.get("choice") in ("A", "B", "tie"):
            continue
        choice = value.get("choice")
        if isinstance(choice, str | int) and str(choice) in responses:
            out[qid] = {**value, "choice": "AB"[responses[str(choice)]]}
        else:
            known = ", ".join(sorted(responses)) or "none"
            errors.append(
                RowError(
                    number,
                    f"answers/{qid}/choice",
                    f"{json_text(choice)} is neither A, B, tie nor a response id of the item ({known})",
                    unit,
                )
            )
    return out


def import_judgments(
    session: Session,
    project: Project,
    source: Iterable[SourceRow],
    *,
    skip_invalid: bool = False,
    unit: str = "line",
    now: datetime | None = None,
    machine_raters: Iterable[str] = (),
    repeats: str = "refuse",
) -> JudgmentImportReport:
    """Check every row, then store the new judgments and create missing external raters.

    External raters named in ``machine_raters`` are created, or marked, as machine raters;
    ``repeats`` (one of ``REPEAT_POLICIES``) decides what rows repeating a (rater, item) do.
    """
    if repeats not in REPEAT_POLICIES:
        raise InvalidInput(f"repeats must be one of {', '.join(REPEAT_POLICIES)}, not {repeats!r}")
    now = now or utcnow()
    version = current_version(session, project)
    document = version.document
    pairwise = _pairwise_ids(document)
    items = _Items(session, project)
    errors: list[RowError] = []
    accepted: list[tuple[int, str, dict[str, Any], datetime, int | None]] = []
    seen: dict[tuple[int, str], tuple[int, int]] = {}  # (item, rater) -> (row number, index in accepted)
    later: dict[tuple[int, str], tuple[dict[str, Any], datetime, int | None]] = {}
    dropped = 0
    for entry in refuse_unsafe(source):
        number = entry.number
        if entry.error is not None:
            errors.append(RowError(number, entry.error[0], entry.error[1], unit))
            continue
        row = entry.row
        row_errors: list[RowError] = []
        if not isinstance(row, dict):
            errors.append(RowError(number, "(row)", "a judgment row must be a JSON object", unit))
            continue
        for key in sorted(row.keys() - FIELDS):
            row_errors.append(RowError(number, key, f"unknown field; fields are {', '.join(sorted(FIELDS))}", unit))
        for key in ("item_id", "rater", "answers"):
            if key not in row:
                row_errors.append(RowError(number, key, f"{key} is required", unit))
        item_id = row.get("item_id")
        rater = row.get("rater")
        answers = row.get("answers")
        if "item_id" in row:
            if not isinstance(item_id, str | int) or isinstance(item_id, bool):
                row_errors.append(RowError(number, "item_id", "item_id must be a string or an integer", unit))
            elif str(item_id) not in items.ids:
                row_errors.append(
                    RowError(number, "item_id", f"no item {str(item_id)[:200]!r} in project {project.name!r}", unit)
                )
        if "rater" in row and (not isinstance(rater, str) or not rater.strip() or len(rater) > 200):
            row_errors.append(
                RowError(number, "rater", "rater must be a non-empty string of at most 200 characters", unit)
            )
        if isinstance(answers, str) and answers.strip().startswith("{"):
            try:
                answers = load_json(answers)  # CSV cells hold JSON text
            except json.JSONDecodeError as exc:
                row_errors.append(RowError(number, "answers", f"not valid JSON ({exc.msg})", unit))
        if "answers" in row and not isinstance(answers, dict):
            row_errors.append(RowError(number, "answers", "answers must be an object keyed by question id", unit))
        submitted = now
        if row.get("submitted_at") not in (None, ""):
            try:
                submitted = _parse_time(row["submitted_at"])
            except ValueError as exc:
                row_errors.append(RowError(number, "submitted_at", str(exc), unit))
        duration = row.get("duration_ms")
        if duration in ("", None):
            duration = None
        elif isinstance(duration, str) and duration.isdigit():
            duration = int(duration)
        if duration is not None and (not isinstance(duration, int) or isinstance(duration, bool) or duration < 0):
            row_errors.append(RowError(number, "duration_ms", "duration_ms must be a whole number >= 0", unit))
        if not row_errors:
            item_pk = items.ids[str(item_id)]
            answers = _canonical(
                normalize_answers(answers), pairwise, items.responses.get(item_pk, {}), row_errors, number, unit
            )
            if not row_errors:
                try:
                    validate_judgment(document, answers, version.content_sha256)
                except InvalidInput as exc:
                    row_errors.extend(RowError(number, "answers" + e.location, e.message, unit) for e in exc.errors)
            key = (item_pk, rater.strip())
            if not row_errors and key in seen:
                first, index = seen[key]
                if repeats == "refuse":
                    row_errors.append(
                        RowError(
                            number,
                            "rater",
                            f"{rater!r} already judged item {item_id!r} on {unit} {first}; to import repeated rows, "
                            "choose --repeats keep-first, keep-last or as-repeats",
                            unit,
                        )
                    )
                else:
                    if repeats == "keep-last":
                        accepted[index] = (item_pk, rater.strip(), answers, submitted, duration)
                    elif repeats == "as-repeats" and key not in later:
                        later[key] = (answers, submitted, duration)
                        continue
                    dropped += 1
                    continue
            if not row_errors:
                seen[key] = (number, len(accepted))
                accepted.append((item_pk, rater.strip(), answers, submitted, duration))
        errors.extend(row_errors)
    if errors and not skip_invalid:
        raise_invalid(errors)
    if not accepted and not errors:
        raise ImportInvalid("the file has no judgments; nothing was imported")
    machines = {m.strip() for m in machine_raters}
    unknown = sorted(machines - {name for _, name, _, _, _ in accepted})
    if unknown:
        raise InvalidInput(
            f"no judgments by {plural(len(unknown), 'machine rater')} {', '.join(map(repr, unknown))} in the file"
        )

    with session.begin_nested():
        users = _external_raters(session, {name for _, name, _, _, _ in accepted}, machines)
        live = (
            set(
                session.execute(
                    select(Judgment.item_id, Judgment.rater_id).where(
                        Judgment.project_id == project.id,
                        Judgment.superseded_by_id.is_(None),
                        Judgment.rater_id.in_([u.id for u in users.values()]),
                    )
                ).all()
            )
            if users
            else set()
        )
        rows, duplicates = [], 0
        for item_pk, name, answers, submitted, duration in accepted:
            rater_id = users[name].id
            if (item_pk, rater_id) in live:
                duplicates += 1
                continue
            key = hashlib.sha256(f"{project.id}:{item_pk}:{name}".encode()).hexdigest()[:40]
            rows.append(
                {
                    "project_id": project.id,
                    "item_id": item_pk,
                    "rater_id": rater_id,
                    "rubric_version_id": version.id,
                    "lease_id": None,
                    "answers": answers,
                    "display_order": [],
                    "issued_at": None,
                    "submitted_at": submitted,
                    "duration_ms": duration,
                    "idempotency_key": "import:" + key,
                }
            )
        for start in range(0, len(rows), 5000):
            session.execute(insert(Judgment), rows[start : start + 5000])
        if rows:
            recount_judgments(session, project)  # keep the next-item counters true
        stored, skipped = _store_repeats(session, project, version.id, users, later)
    session.flush()
    created = sum(1 for u in users.values() if getattr(u, "_created_now", False))
    return JudgmentImportReport(
        imported=len(rows),
        duplicates=duplicates,
        raters_created=created,
        rejected=tuple(errors),
        repeats_stored=stored,
        repeats_dropped=dropped + skipped,
    )


def _store_repeats(
    session: Session, project: Project, version_id: int, users: dict[str, User], later
) -> tuple[int, int]:
    """Store the second row of each repeated (rater, item) as a repeat of the live judgment.

    Returns (stored, skipped); a judgment that already has a repeat keeps it (skipped).
    """
    if not later:
        return 0, 0
    rater_ids = {users[name].id for _, name in later}
    originals = {
        (item_id, rater_id): judgment_id
        for judgment_id, item_id, rater_id in session.execute(
            select(Judgment.id, Judgment.item_id, Judgment.rater_id).where(
                Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None), Judgment.rater_id.in_(rater_ids)
            )
        )
    }
    taken = set(
        session.scalars(
            select(RepeatJudgment.original_id).where(RepeatJudgment.original_id.in_(list(originals.values())))
        )
    )
    rows = []
    for (item_pk, name), (answers, submitted, duration) in later.items():
        original = originals[(item_pk, users[name].id)]
        if original in taken:
            continue
        key = hashlib.sha256(f"{project.id}:{item_pk}:{name}:repeat".encode()).hexdigest()[:40]
        rows.append(
            {
                "project_id": project.id,
                "item_id": item_pk,
                "rater_id": users[name].id,
                "original_id": original,
                "rubric_version_id": version_id,
                "lease_id": None,
                "answers": answers,
                "display_order": [],
                "submitted_at": submitted,
                "duration_ms": duration,
                "idempotency_key": "import:" + key,
            }
        )
    for start in range(0, len(rows), 5000):
        session.execute(insert(RepeatJudgment), rows[start : start + 5000])
    return len(rows), len(later) - len(rows)


def _external_raters(session: Session, names: set[str], machines: set[str] = frozenset()) -> dict[str, User]:
    """The external rater user of each name, created when missing; ``machines`` are marked as such."""
    emails = {external_email(name): name for name in names}
    found = {u.email: u for u in session.scalars(select(User).where(User.email.in_(list(emails))))} if emails else {}
    out: dict[str, User] = {}
    for email, name in sorted(emails.items()):
        user = found.get(email)
        if user is None:
            user = User(
                email=email, name=name[:200], role=Role.RATER, password_hash=None, active=False, is_machine=False
            )
            session.add(user)
            user._created_now = True
        if name in machines:
            user.is_machine = True
        out[name] = user
    session.flush()
    return out
