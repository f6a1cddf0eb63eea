"""What the preference export reads, and how: the SQL, and a plain cursor for the large reads.

The two large reads of an export are streamed through ``stream_columns``: a plain DB-API
cursor (server-side on PostgreSQL) over a Core ``SELECT`` whose columns are integers and
text, so no SQLAlchemy row or result processing happens per row; each batch of tuples
becomes numpy and Arrow columns.

- ``rating_codes``: one row per live judgment of a rubric version, in item order: the item,
  the choice as a code (A 0, B 1, tie 2, anything else -1) and the strength (1 when
  missing). The vote is counted from these in numpy (``votes.count_votes``).
- ``units``: one row per judged, exportable item (per live judgment for ``per_rater``)
  in external-id order, with the prompt's JSON text and both responses.

The choice and strength come from the same JSON-path expressions everywhere (``choice``,
``strength``), so every query agrees on what a rating says.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from operator import itemgetter

import numpy as np
import pyarrow as pa
from sqlalchemy import Integer, Text, and_, case, cast, exists, func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from ..models import Item, Judgment, Project, Response, RubricVersion
from .options import Plan

_cursor_names = itertools.count(1)


def external_id_order(session: Session):
    # Byte (= code point) order on every backend, like Python's sorted(): SQLite compares
    # with BINARY by default; PostgreSQL would use the database locale without COLLATE "C".
    if session.get_bind().dialect.name == "postgresql":
        return Item.external_id.collate("C")
    return Item.external_id


def exportable_items(include_gold: bool):
    """The SQL condition leaving out gold items and honeypots (``metadata.honeypot`` true)."""
    if include_gold:
        return true()
    honeypot = Item.meta["honeypot"].as_boolean()
    return and_(Item.is_gold.is_(False), or_(honeypot.is_(None), honeypot.is_(False)))


def judged_versions(session: Session, project: Project) -> list[RubricVersion]:
    """The rubric versions with live judgments in the project, by number.

    One ``EXISTS`` per version (an index lookup) rather than a ``DISTINCT`` over every
    judgment of the project.
    """
    live = exists().where(
        Judgment.rubric_version_id == RubricVersion.id,
        Judgment.project_id == project.id,
        Judgment.superseded_by_id.is_(None),
    )
    return list(session.scalars(select(RubricVersion).where(live).order_by(RubricVersion.number)))


def item_count(session: Session, project: Project) -> int:
    return session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project.id))


def has_message_prompts(session: Session, project: Project) -> bool:
    """Whether any item of the project has a chat-message prompt (a JSON array)."""
    if session.get_bind().dialect.name == "postgresql":
        is_array = func.jsonb_typeof(Item.prompt) == "array"
    else:
        # Parsing every prompt is the slow part on SQLite: only text starting with "[" or JSON
        # whitespace can be an array, and that is checked first.
        may_be = func.substr(Item.prompt, 1, 1).in_(["[", " ", "\t", "\n", "\r"])
        is_array = and_(may_be, func.json_type(Item.prompt) == "array")
    query = select(literal(1)).where(Item.project_id == project.id, is_array).limit(1)
    return session.scalar(query) is not None


def flagged_raters(session: Session, project: Project, question_id: str | None, thresholds=None) -> tuple[int, ...]:
    """Ids of the raters whose calibration on the question raised any flag."""
    from ..services.calibration import rater_calibration

    report = rater_calibration(session, project, question_id, thresholds)
    return tuple(sorted(r.user_id for r in report.rows if r.calibration.flags))


# -- what a rating says --------------------------------------------------------------------


def choice(answers, question_id: str):
    return answers[(question_id, "choice")].as_string()


def strength(answers, question_id: str):
    return func.coalesce(answers[(question_id, "strength")].as_integer(), 1)


def choice_code(answers, question_id: str):
    """A 0, B 1, tie 2, anything else (or no answer) -1; the comparisons are SQL ``=``."""
    return case({"A": 0, "B": 1, "tie": 2}, value=choice(answers, question_id), else_=-1)


def _live(judgment, project: Project, version: RubricVersion, excluded: Sequence[int]) -> list:
    conditions = [
        judgment.project_id == project.id,
        judgment.rubric_version_id == version.id,
        judgment.superseded_by_id.is_(None),
    ]
    if excluded:
        conditions.append(judgment.rater_id.not_in(list(excluded)))
    return conditions


def ratings(project: Project, version: RubricVersion, question_id: str, excluded: Sequence[int]):
    """The live, counted judgments of a version as a subquery: item, rater, choice, strength."""
    return (
        select(
            Judgment.id.label("judgment_id"),
            Judgment.item_id.label("item_id"),
            Judgment.rater_id.label("rater_id"),
            choice(Judgment.answers, question_id).label("choice"),
            strength(Judgment.answers, question_id).label("strength"),
        )
        .where(*_live(Judgment, project, version, excluded))
        .subquery()
    )


def rating_codes(project: Project, version: RubricVersion, question_id: str, excluded: Sequence[int]):
    """One row per live judgment of the version, in item order: item id, choice code, strength."""
    return (
        select(Judgment.item_id, choice_code(Judgment.answers, question_id), strength(Judgment.answers, question_id))
        .where(*_live(Judgment, project, version, excluded))
        .order_by(Judgment.item_id)
    )


def units(session: Session, project: Project, version: RubricVersion, question_id: str, plan: Plan, only_judged: bool):
    """Exportable items of the project in external-id order (per judgment for ``per_rater``).

    With ``only_judged`` (always for ``per_rater``), only the items judged under the
    version: with a live judgment of the version by a rater who is not excluded. Without
    it the caller drops the others: that saves a lookup per item when most are judged.
    Columns: item id, external id, the prompt's JSON text (decoded by the caller), text
    and model of response A, text and model of response B; for ``per_rater`` also the
    rater id, the choice code and the strength of the judgment.
    """
    if plan.per_rater:
        mine = aliased(Judgment)
        extra = [mine.rater_id, choice_code(mine.answers, question_id), strength(mine.answers, question_id)]
        join = (mine, and_(mine.item_id == Item.id, *_live(mine, project, version, plan.excluded)))
        return unit_rows(session, project, plan, extra=extra, join=join, then_by=mine.id)
    if only_judged:
        judged = exists().where(Judgment.item_id == Item.id, *_live(Judgment, project, version, plan.excluded))
        return unit_rows(session, project, plan, where=judged)
    return unit_rows(session, project, plan)


def unit_rows(session: Session, project: Project, plan: Plan, extra=(), join=None, where=None, then_by=None):
    """The ``units`` columns (plus ``extra``) of the project's exportable items in
    external-id order, joined to ``join`` (a target and its condition) or kept where
    ``where`` holds; ``then_by`` orders the rows of one item."""
    first, second = aliased(Response), aliased(Response)
    columns = [Item.id, Item.external_id, cast(Item.prompt, Text), first.text, first.model, second.text, second.model]
    query = select(*columns, *extra)
    if join is not None:
        query = query.join(*join)
    if where is not None:
        query = query.where(where)
    order = [external_id_order(session), Item.id] + ([then_by] if then_by is not None else [])
    return (
        query.outerjoin(first, and_(first.item_id == Item.id, first.position == 0))
        .outerjoin(second, and_(second.item_id == Item.id, second.position == 1))
        .where(Item.project_id == project.id, exportable_items(plan.options.include_gold))
        .order_by(*order)
    )


def stream_columns(session: Session, query, size: int) -> Iterator[list]:
    """The rows of ``query``, ``size`` at a time, column-wise: integer columns as numpy
    ``int64`` arrays, text columns as Arrow ``string`` arrays.

    Close the returned iterator (``contextlib.closing``) to stop early.
    """
    integer = [isinstance(c.type, Integer) for c in query.selected_columns]
    return _Columns(fetch_batches(session, query, size), integer)


class _Columns:
    """``fetch_batches`` tuples turned into columns."""

    def __init__(self, batches: _Batches, integer: list[bool]):
        self.batches = batches
        self.integer = integer

    def __iter__(self) -> _Columns:
        return self

    def __next__(self) -> list:
        rows = next(self.batches)
        # Column by column with itemgetter: zip(*rows) would make one (GC-tracked) iterator
        # per row, and a million of those set off full garbage collections.
        return [
            np.fromiter(map(itemgetter(i), rows), dtype=np.int64, count=len(rows))
            if integer
            else pa.array(list(map(itemgetter(i), rows)), pa.string())
            for i, integer in enumerate(self.integer)
        ]

    def close(self) -> None:
        self.batches.close()


def fetch_batches(session: Session, query, size: int) -> Iterator[list[tuple]]:
    """The rows of ``query``, ``size`` at a time, as plain tuples from a DB-API cursor.

    Runs on the session's connection (inside its transaction). Values are what the driver
    returns, without SQLAlchemy's result processing, so select integers and text only.
    The statement is rendered with its parameters inline (they are ids, JSON paths and
    constants built here). PostgreSQL gets a server-side cursor, so memory stays bounded.
    Close the returned generator (``contextlib.closing``) to release the cursor early.
    """
    connection = session.connection()
    dialect = connection.dialect
    sql = literal_sql(session, query)
    dbapi_connection = connection.connection.dbapi_connection
    if dialect.name == "postgresql":
        name = f"workbench_export_{next(_cursor_names)}"
        if dialect.driver == "psycopg":
            cursor = dbapi_connection.cursor(name=name, binary=True)
        else:
            cursor = dbapi_connection.cursor(name=name)
        with _closed_on_error(cursor), _planned_for_a_full_read(dbapi_connection):
            cursor.execute(sql, {})  # with parameters, so the driver turns "%%" back into "%"
    else:
        cursor = dbapi_connection.cursor()
        with _closed_on_error(cursor):
            cursor.execute(sql)
    return _Batches(cursor, size)


def literal_sql(session: Session, query) -> str:
    """``query`` as SQL text for the session's database, its parameters inline.

    Its parameters are ids, JSON paths and constants built here. Starts the session's
    transaction if it has not begun.
    """
    dialect = session.connection().dialect
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


@contextmanager
def _closed_on_error(cursor):
    try:
        yield
    except BaseException:
        with suppress(Exception):  # the first error is the one to report
            cursor.close()
        raise


class _Batches:
    """Iterate ``fetchmany`` batches; the cursor is closed at the end or by ``close()``."""

    def __init__(self, cursor, size: int):
        self.cursor = cursor
        self.size = size

    def __iter__(self) -> _Batches:
        return self

    def __next__(self) -> list[tuple]:
        rows = self.cursor.fetchmany(self.size) if self.cursor is not None else None
        if not rows:
            self.close()
            raise StopIteration
        return rows

    def close(self) -> None:
        if self.cursor is not None:
            cursor, self.cursor = self.cursor, None
            cursor.close()


_FULL_READ_SETTINGS = {"cursor_tuple_fraction": "1", "jit": "off"}


@contextmanager
def _planned_for_a_full_read(dbapi_connection):
    """PostgreSQL settings for declaring a cursor that is read to the end, then put back.

    A cursor is planned by default for fetching a tenth of its rows quickly
    (``cursor_tuple_fraction``), and these large reads spend seconds in JIT compilation
    that saves nothing (measured on the benchmark); both are changed for the ``DECLARE``
    only, transaction-locally, and restored right after it.
    """
    names = list(_FULL_READ_SETTINGS)
    with closing(dbapi_connection.cursor()) as settings:
        settings.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in names))
        before = settings.fetchone()
        settings.execute("SELECT " + ", ".join(f"set_config('{n}', '{_FULL_READ_SETTINGS[n]}', true)" for n in names))
        yield  # not restored after an error: that aborts the transaction, and its rollback drops them
        settings.execute("SELECT " + ", ".join(f"set_config('{name}', %s, true)" for name in names), tuple(before))
