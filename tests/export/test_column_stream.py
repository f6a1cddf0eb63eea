"""Reading SQLite in a child process: the same values as the cursor, the same export bytes,
clear errors, and a child that never outlives its reader.

These tests make their own SQLite file, whatever database the suite runs on.
"""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.export.test_preferences import rate
from tests.factories import make_item, make_project, make_rater
from workbench.db import Base, make_engine
from workbench.export import export_preferences
from workbench.export import queries as queries_module
from workbench.export.column_stream import DatabaseReadFailed, column_batches, kinds_of, sqlite_file
from workbench.export.queries import _Columns, fetch_batches, literal_sql
from workbench.models import Item, Response

TEXTS = ["plain", "", "accents: déjà vu, naïve", "emoji 🦜 and CJK 漢字", 'quotes " and \\ backslash', "x" * 100_000]


@pytest.fixture
def sqlite_session(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'read.db'}")
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def _fill(session, n_items: int = 40):
    """A judged project whose items exercise what text can be: empty, non-ASCII, long, and
    chat prompts."""
    rng = random.Random(7)
    project = make_project(session, overlap_k=3)
    items = []
    for n in range(n_items):
        prompt = (
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": TEXTS[n % len(TEXTS)] or "?"}]
            if n % 5 == 0
            else f"Prompt {n}: {TEXTS[n % len(TEXTS)]}"
        )
        item = make_item(session, project, prompt=prompt, external_id=f"ext-{rng.randrange(10**6):06d}-{n}")
        item.responses[0].text = f"A {n} {TEXTS[(n + 1) % len(TEXTS)]}"
        item.responses[1].text = f"B {n} {TEXTS[(n + 2) % len(TEXTS)]}"
        items.append(item)
    session.flush()
    for _ in range(3):  # three raters who often disagree
        choices = {item.id: rng.choice(["A", "A", "B", "tie"]) for item in items}
        plan = {i: (choice, None if choice == "tie" else rng.choice([1, 2, 3])) for i, choice in choices.items()}
        rate(session, project, make_rater(session), plan)
    session.commit()
    return project


def _query():
    second = select(Response).where(Response.position == 1).subquery()
    return (
        select(Item.id, Item.external_id, Item.prompt, Response.text, Response.model, second.c.text, second.c.model)
        .join(Response, (Response.item_id == Item.id) & (Response.position == 0))
        .outerjoin(second, second.c.item_id == Item.id)
        .order_by(Item.external_id)
    )


def _assert_same_columns(left: list, right: list) -> None:
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype == np.int64
            np.testing.assert_array_equal(a, b)
        else:
            assert a.type == b.type == pa.string()
            assert a.equals(b), (a, b)


def test_the_child_reads_the_same_columns_as_the_cursor(sqlite_session):
    session = sqlite_session
    _fill(session)
    session.execute(text("DELETE FROM responses WHERE id = (SELECT max(id) FROM responses WHERE position = 1)"))
    session.commit()
    query = _query()
    path = sqlite_file(session)
    assert path is not None
    assert kinds_of(query) == "ittttt" + "t"
    through_child = list(column_batches(path, literal_sql(session, query), kinds_of(query), 7))
    through_cursor = list(_Columns(fetch_batches(session, query, 7), kinds_of(query)))
    assert [len(b[0]) for b in through_child] == [7, 7, 7, 7, 7, 5]
    for child_batch, cursor_batch in zip(through_child, through_cursor, strict=True):
        _assert_same_columns(child_batch, cursor_batch)
    values = pa.concat_arrays([b[5] for b in through_child]).to_pylist()
    assert None in values and "" not in [v for v in values if v is None]  # NULL stays NULL, "" stays ""
    assert any("🦜" in (v or "") for v in values) and any(len(v or "") > 100_000 for v in values)


@pytest.mark.parametrize(
    "options",
    [
        {"formats": ("jsonl", "parquet")},
        {"formats": ("jsonl", "parquet"), "aggregate": "per_rater", "ties": "keep"},
        {"formats": ("parquet",), "shape": "conversational", "ties": "split"},
        {"formats": ("jsonl", "parquet"), "shape": "kto", "aggregate": "mean_strength"},
        {"formats": ("parquet",), "aggregate": "dawid_skene", "ties": "keep", "batch_size": 4},
    ],
    ids=["majority", "per-rater", "conversational-split", "kto", "dawid-skene"],
)
def test_exports_are_byte_identical_through_the_child_and_the_cursor(sqlite_session, tmp_path, monkeypatch, options):
    session = sqlite_session
    project = _fill(session)
    export_preferences(session, project, tmp_path / "child", alpha_resamples=50, **options)
    session.rollback()
    monkeypatch.setattr(queries_module, "sqlite_file", lambda _session: None)
    export_preferences(session, project, tmp_path / "cursor", alpha_resamples=50, **options)
    names = sorted(p.name for p in (tmp_path / "child").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "cursor").iterdir())
    assert any(name.startswith("preferences.") for name in names)
    for name in names:
        assert (tmp_path / "child" / name).read_bytes() == (tmp_path / "cursor" / name).read_bytes(), name


def test_the_export_reads_through_the_child_on_a_committed_sqlite_file(sqlite_session, tmp_path, monkeypatch):
    session = sqlite_session
    project = _fill(session, n_items=12)
    started = []
    real = queries_module.column_batches

    def spy(*args):
        started.append(args[2])
        return real(*args)

    monkeypatch.setattr(queries_module, "column_batches", spy)
    export_preferences(session, project, tmp_path / "out", formats=("parquet",), alpha_resamples=10)
    assert started == ["iii", "ittttt" + "t"]  # the vote pass, then the items


def test_uncommitted_changes_keep_the_reads_in_the_session(sqlite_session):
    session = sqlite_session
    project = _fill(session, n_items=3)
    assert sqlite_file(session) is not None
    make_item(session, project)  # not committed: another connection would not see it
    assert sqlite_file(session) is None
    session.commit()
    assert sqlite_file(session) is not None


def test_an_in_memory_database_is_read_in_the_session():
    memory = make_engine("sqlite://")
    with Session(memory) as session:
        assert sqlite_file(session) is None
    memory.dispose()


def test_postgresql_is_read_through_the_cursor(postgres_url):
    engine = make_engine(postgres_url)
    with Session(engine) as session:
        assert sqlite_file(session) is None
    engine.dispose()


def test_a_failing_query_reports_the_databases_message(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    batches = column_batches(str(path), "SELECT x FROM nowhere", "i", 10)
    with pytest.raises(DatabaseReadFailed, match="no such table: nowhere"):
        next(batches)
    assert batches.process.returncode == 1


def test_a_missing_database_file_is_not_created(tmp_path):
    path = tmp_path / "gone.db"
    with pytest.raises(DatabaseReadFailed, match="cannot open"):
        next(column_batches(str(path), "SELECT 1", "i", 10))
    assert not path.exists()


def test_text_that_is_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "bytes.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (id INTEGER, body TEXT)")
        db.execute("INSERT INTO t VALUES (1, 'fine'), (2, CAST(X'66ff6f' AS TEXT))")
        db.commit()
    with pytest.raises(DatabaseReadFailed, match="text the export cannot write"):
        list(column_batches(str(path), "SELECT id, body FROM t ORDER BY id", "it", 10))


def test_closing_early_stops_the_child(tmp_path):
    path = tmp_path / "many.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (id INTEGER, body TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?)", ((n, f"row {n}" * 50) for n in range(50_000)))
        db.commit()
    batches = column_batches(str(path), "SELECT id, body FROM t ORDER BY id", "it", 100)
    first = next(batches)
    assert first[0].tolist() == list(range(100)) and first[1][1].as_py() == "row 1" * 50
    batches.close()
    assert batches.process.returncode is not None  # killed and reaped, not left running
    with pytest.raises(StopIteration):
        next(batches)
