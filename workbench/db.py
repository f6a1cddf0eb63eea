"""Engine, sessions and the declarative base. No Flask here."""

from __future__ import annotations

import os
import select as _select
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Executable, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction but snapshot reads.

    Taking the write lock at the start of a transaction (instead of upgrading a read lock
    later) is what keeps concurrent raters from failing with "database is locked". A
    connection made for ``read_snapshot`` begins with a plain (deferred) ``BEGIN``
    instead: it only ever reads, so it needs no write lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised through SQLite
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(_SNAPSHOT) else "BEGIN IMMEDIATE")
        connection.info[_CHANGES_AT_BEGIN] = connection.connection.dbapi_connection.total_changes


_CHANGES_AT_BEGIN = "workbench_changes_at_begin"
_SNAPSHOT = "workbench_snapshot"


def sqlite_wrote(connection) -> bool:
    """Whether the SQLite transaction on ``connection`` has changed any row so far.

    Other connections see none of those changes until the commit.
    """
    return connection.connection.dbapi_connection.total_changes != connection.info.get(_CHANGES_AT_BEGIN)


def _private_sqlite_file(url: str) -> None:
    """Create a SQLite database file (and its folder) readable by its owner only.

    SQLite gives its ``-wal`` and ``-shm`` files the main file's permissions, so they stay
    private too. Existing files and folders keep the permissions they have.
    """
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    if not url.startswith("sqlite:///") or path in ("", ":memory:") or path.startswith("file:"):
        return
    file = Path(path)
    if not file.parent.exists():
        file.parent.mkdir(mode=0o700, parents=True)
    if not file.exists():
        os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_file(engine: Engine) -> bool:
    url = engine.url
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or url.query or database.startswith("file:"):
        return False
    return database not in ("", ":memory:")


@contextmanager
def read_snapshot(session: Session) -> Iterator[Session]:
    """A session for a long read that sees one state of the database and blocks no writer.

    On a SQLite file: a session of its own, on a connection whose transaction begins
    deferred (``BEGIN``). In WAL mode its reads all see the database as it was at its
    first read while other connections go on committing, and it never takes the write
    lock. ``session``'s transaction is ended first (committed: it has written nothing),
    since its ``BEGIN IMMEDIATE`` holds the write lock for as long as it lasts.

    Elsewhere ``session`` itself is yielded: on PostgreSQL readers never block writers;
    an in-memory SQLite database has no other connection to read it; and a session that
    has written (or is inside a savepoint) must read its own changes.
    """
    engine = session.get_bind()
    if not isinstance(engine, Engine) or not _sqlite_file(engine) or session.in_nested_transaction():
        yield session
        return
    session.flush()
    if session.in_transaction():
        if sqlite_wrote(session.connection()):
            yield session
            return
        session.commit()
    with Session(bind=engine.execution_options(**{_SNAPSHOT: True}), expire_on_commit=False) as reader:
        yield reader


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url`` with the project's SQLite or PostgreSQL settings applied."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if engine.dialect.driver == "psycopg":
        _ping_quietly(engine)
    return engine


def _ping_quietly(engine: Engine) -> None:
    engine.dialect.do_ping = QuietPing(engine.dialect.do_ping)


class QuietPing:
    """The pool's pre-ping, at no round trip while the connection is plainly healthy.

    A server that drops a connection (restart, ``pg_terminate_backend``, idle timeout)
    sends a final message and closes the socket, so the socket turns readable. An idle
    connection whose socket has nothing to read and whose libpq status is fine is alive as
    far as a ``SELECT 1`` could tell; anything else gets ``full_ping`` (the dialect's
    ``SELECT 1``), which fails on a dead connection and makes the pool replace it.
    """

    def __init__(self, full_ping):
        self.full_ping = full_ping

    def __call__(self, dbapi_connection) -> bool:
        return True if _quiet(dbapi_connection) else self.full_ping(dbapi_connection)


def _quiet(dbapi_connection) -> bool:
    from psycopg.pq import ConnStatus, TransactionStatus

    try:
        info = dbapi_connection.info
        if dbapi_connection.closed or info.status != ConnStatus.OK:
            return False
        if info.transaction_status != TransactionStatus.IDLE:
            return False
        readable, _, _ = _select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError, AttributeError):
        return False
    return not readable


def execute_core(session: Session, statement: Executable, params: Mapping[str, Any] | None = None) -> CursorResult:
    """Run a prebuilt Core statement on the session's connection.

    This skips the ORM's execution layer, about a third of the cost of a small statement
    through ``Session.execute``. Pending ORM changes are flushed first, as
    ``Session.execute`` would do.
    """
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
