"""An export on a SQLite file reads one snapshot and blocks no rater.

These tests make their own SQLite file, whatever database the suite runs on: the write
lock and WAL snapshots are SQLite's.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests.export.test_preferences import screen_answers
from tests.factories import make_item, make_project, make_rater
from workbench.db import Base, make_engine, read_snapshot
from workbench.export import ExportOptions, export_preferences
from workbench.export import preferences as preferences_module
from workbench.export.queries import stream_columns
from workbench.models import Item, Judgment, Project, Response, User
from workbench.services.assignment import next_assignment
from workbench.services.judging import record_judgment
from workbench.services.rubrics import current_version

LARGE = 200_000


@pytest.fixture
def file_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'snapshot.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _judged_items(session: Session, project: Project, count: int, raters: list[int], prefix: str = "item") -> None:
    """``count`` items with two responses and one live judgment each, inserted in bulk.

    Plain ``executemany`` with each distinct value converted once by its column's type:
    converting a million values one by one would take most of the test's time.
    """
    connection = session.connection()
    version = current_version(session, project)
    first = (session.scalar(select(func.max(Item.id))) or 0) + 1
    ids = range(first, first + count)

    def bound(column, value):
        return column.type.bind_processor(connection.dialect)(value)

    def bulk(table, names: str, rows) -> None:
        marks = ", ".join("?" for _ in names.split(","))
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", list(rows))

    empty = bound(Item.__table__.c.metadata, {})
    now = bound(Judgment.__table__.c.issued_at, datetime.now(UTC))  # the same text in every timestamp column
    shown = bound(Judgment.__table__.c.display_order, [0, 1])
    answers = {
        (choice, strength): bound(
            Judgment.__table__.c.answers,
            {"helpful": {"choice": choice, "strength": strength}, "harmless": {"choice": "tie"}},
        )
        for choice in "AB"
        for strength in (1, 2, 3)
    }
    bulk(
        Item.__table__,
        "id, project_id, external_id, prompt, metadata, is_gold, n_judgments, created_at",
        ((i, project.id, f"{prefix}-{i:07d}", f'"Prompt {i}?"', empty, False, 1, now) for i in ids),
    )
    bulk(
        Response.__table__,
        "item_id, position, external_id, model, text, metadata",
        ((i, p, "ab"[p], f"model-{'ab'[p]}", f"{'AB'[p]} {i}", empty) for i in ids for p in (0, 1)),
    )
    bulk(
        Judgment.__table__,
        "project_id, item_id, rater_id, rubric_version_id, answers, display_order, issued_at, submitted_at, "
        "duration_ms, idempotency_key",
        (
            (
                project.id,
                i,
                raters[i % len(raters)],
                version.id,
                answers["AB"[i % 2], 1 + i % 3],
                shown,
                now,
                now,
                10_000,
                f"{prefix}-{i}",
            )
            for i in ids
        ),
    )


def test_a_rater_submits_within_a_second_while_a_large_export_runs(file_engine, tmp_path, monkeypatch):
    with Session(file_engine, expire_on_commit=False) as session:
        project = make_project(session, overlap_k=1, name="large")
        open_item = make_item(session, project, external_id="zzz-open")  # sorts after every other item
        rater = make_rater(session)
        session.commit()
        task = next_assignment(session, project, rater)  # leased before the other items exist
        assert task is not None and task.item_id == open_item.id
        answers = screen_answers(task, open_item, "A", 2, "helpful")
        _judged_items(session, project, LARGE, [make_rater(session).id for _ in range(5)])
        session.commit()

    # The export stops at its first batch of rows until the submit is done, so the submit
    # surely runs while the export is reading; it waits at most 10 s, so an export that
    # held the write lock would make the submit take that long (not hang the test).
    reading, submitted = threading.Event(), threading.Event()
    judge_batch = preferences_module.judge_batch

    def first_batch_waits(*args, **kwargs):
        if not reading.is_set():
            reading.set()
            submitted.wait(timeout=10)
        return judge_batch(*args, **kwargs)

    monkeypatch.setattr(preferences_module, "judge_batch", first_batch_waits)
    outcome = {}

    def export():
        try:
            with Session(file_engine, expire_on_commit=False) as exporter:
                large = exporter.get(Project, project.id)  # begins the exporter's transaction (BEGIN IMMEDIATE)
                outcome["summary"] = export_preferences(
                    exporter, large, tmp_path / "out", ExportOptions(formats=("parquet",), alpha_resamples=0)
                )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcome["error"] = exc

    thread = threading.Thread(target=export)
    thread.start()
    try:
        assert reading.wait(timeout=120), "the export never began reading rows"
        with Session(file_engine, expire_on_commit=False) as session:
            started = time.perf_counter()
            record_judgment(session, session.get(User, rater.id), task.lease_id, answers, "open-submit")
            session.commit()
            seconds = time.perf_counter() - started
        was_reading = thread.is_alive()
    finally:
        submitted.set()
        thread.join(timeout=300)
    assert "error" not in outcome, outcome.get("error")
    assert was_reading
    assert seconds < 1.0, f"the submit took {seconds:.2f} s while the export ran"
    # The export read the database as it was before the submit.
    summary = outcome["summary"]
    assert (summary.exported, summary.rows, summary.ratings) == (LARGE, LARGE, LARGE)
    with Session(file_engine) as session:
        assert session.scalar(select(func.count()).select_from(Judgment)) == LARGE + 1


def test_the_snapshot_holds_while_others_commit(file_engine):
    with Session(file_engine, expire_on_commit=False) as session:
        project = make_project(session, overlap_k=1)
        rater = make_rater(session)
        _judged_items(session, project, 3, [rater.id])
        session.commit()
        session.execute(select(1))  # the session is in a transaction again (BEGIN IMMEDIATE)
        with read_snapshot(session) as reader:
            assert reader is not session and not session.in_transaction()
            assert reader.scalar(select(func.count()).select_from(Item)) == 3
            started = time.perf_counter()
            with Session(file_engine) as writer:  # would wait for the lock if the reader held it
                _judged_items(writer, writer.get(Project, project.id), 2, [rater.id], prefix="later")
                writer.commit()
            assert time.perf_counter() - started < 1.0
            assert reader.scalar(select(func.count()).select_from(Item)) == 3
        assert session.scalar(select(func.count()).select_from(Item)) == 5


def test_a_session_that_has_written_reads_its_own_changes(file_engine, tmp_path):
    with Session(file_engine, expire_on_commit=False) as session:
        project = make_project(session, overlap_k=1)
        _judged_items(session, project, 4, [make_rater(session).id])  # not committed
        with read_snapshot(session) as reader:
            assert reader is session
        summary = export_preferences(session, project, tmp_path / "out")
        assert summary.exported == 4 and session.in_transaction()


def test_an_in_memory_database_is_read_in_the_session():
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session, read_snapshot(session) as reader:
        assert reader is session
    engine.dispose()


TEXTS = ["plain", "", "accents: déjà vu, naïve", "emoji 🦜 and CJK 漢字", 'quotes " and \\ backslash', "x" * 100_000]


def test_columns_hold_what_the_database_holds(session):
    project = make_project(session)
    for n, value in enumerate(TEXTS):
        item = make_item(session, project, external_id=f"t{n}")
        item.responses[1].text = value
    session.flush()
    session.execute(text("DELETE FROM responses WHERE position = 1 AND text = 'plain'"))
    query = (
        select(Item.id, Item.external_id, Response.text, Response.model)
        .outerjoin(Response, (Response.item_id == Item.id) & (Response.position == 1))
        .where(Item.project_id == project.id)
        .order_by(Item.external_id)
    )
    expected = [tuple(row) for row in session.execute(query)]
    batches = list(stream_columns(session, query, 4))
    assert [len(batch[0]) for batch in batches] == [4, 2]
    ids = np.concatenate([batch[0] for batch in batches])
    assert ids.dtype == np.int64 and ids.tolist() == [row[0] for row in expected]
    for column in (1, 2, 3):
        values = pa.concat_arrays([batch[column] for batch in batches])
        assert values.type == pa.string()
        assert values.to_pylist() == [row[column] for row in expected]
    texts = [row[2] for row in expected]
    assert None in texts and "" in texts and any(len(t or "") == 100_000 for t in texts)  # NULL stays NULL, "" stays ""
