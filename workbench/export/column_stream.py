"""A SQLite query's rows as Arrow columns, read by a child process (``sqlite_columns``).

``column_batches`` starts the child on the session's database file and yields each batch
as a list of columns: integer columns as numpy ``int64`` arrays, text columns as Arrow
``string`` arrays built straight on the received buffers (UTF-8 checked by Arrow). No
Python object is made per value on this side, so the thread that reads keeps off the GIL
while the export's other threads use it.

The child reads in a transaction of its own. The export's session holds SQLite's write
lock (every transaction starts with ``BEGIN IMMEDIATE``), so nothing can commit between
the export's other reads and this one: they all see the same data.

``sqlite_file`` says whether the session's database is a file the child can open and the
session's transaction has written nothing the child could not see; otherwise (PostgreSQL,
an in-memory database, uncommitted changes) the export reads through
``queries.fetch_batches`` instead.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy import Integer
from sqlalchemy.orm import Session

from ..db import sqlite_wrote
from ..errors import WorkbenchError
from . import sqlite_columns as wire

CHILD = Path(wire.__file__)


class DatabaseReadFailed(WorkbenchError):
    """The child that reads the database failed; the message says why."""


def sqlite_file(session: Session) -> str | None:
    """The SQLite database file behind ``session``, or None when it is not one, or when the
    session's transaction has written rows (another connection would not see them)."""
    url = session.get_bind().url
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or url.query or database in ("", ":memory:") or database.startswith("file:"):
        return None
    path = Path(database)
    if not path.is_file():
        return None
    session.flush()
    return None if sqlite_wrote(session.connection()) else str(path.resolve())


def kinds_of(query) -> str:
    """One letter per selected column: ``i`` for integers, ``t`` for everything else (text)."""
    return "".join(wire.INTEGER if isinstance(c.type, Integer) else wire.TEXT for c in query.selected_columns)


def column_batches(path: str, sql: str, kinds: str, size: int) -> Iterator[list]:
    """The rows of ``sql`` on the database at ``path``, ``size`` at a time, column-wise.

    Close the returned iterator (``contextlib.closing``) to stop the child early.
    """
    return _ColumnBatches(path, sql, kinds, size)


class _ColumnBatches:
    def __init__(self, path: str, sql: str, kinds: str, size: int):
        self.kinds = kinds
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(CHILD), path, str(size), kinds],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
        )
        self.closed = False
        try:
            self.process.stdin.write(sql.encode())
            self.process.stdin.close()
        except BrokenPipeError:
            pass  # the child is gone: the first read reports why

    def __iter__(self) -> _ColumnBatches:
        return self

    def __next__(self) -> list:
        if self.closed:
            raise StopIteration
        try:
            (rows,) = wire.ROWS.unpack(self._read(wire.ROWS.size))
            if rows == 0:
                if self.process.wait() != 0:
                    self._fail()
                self.close()
                raise StopIteration
            return [self._column(rows, kind) for kind in self.kinds]
        except BaseException:
            self.close()  # no child left behind whatever went wrong
            raise

    def _column(self, rows: int, kind: str):
        (has_nulls,) = wire.FLAG.unpack(self._read(wire.FLAG.size))
        valid = np.frombuffer(self._sized(), np.bool_) if has_nulls else None
        if kind == wire.INTEGER:
            if valid is not None:
                raise DatabaseReadFailed("an integer column of the export's query holds NULL")
            return np.frombuffer(self._sized(), np.int64)
        offsets = pa.allocate_buffer((rows + 1) * 8)
        ends = np.frombuffer(offsets, np.int64)
        ends[0] = 0
        np.cumsum(np.frombuffer(self._sized(), np.int64), out=ends[1:])
        data = self._sized()
        bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
        raw = pa.LargeBinaryArray.from_buffers(pa.large_binary(), rows, [bitmap, offsets, data])
        try:
            return raw.cast(pa.string())  # checks the UTF-8
        except (pa.ArrowInvalid, pa.ArrowCapacityError) as exc:
            raise DatabaseReadFailed(f"the database holds text the export cannot write: {exc}") from exc

    def _sized(self) -> pa.Buffer:
        """The next length-prefixed buffer, read into memory from Arrow's pool."""
        (size,) = wire.SIZE.unpack(self._read(wire.SIZE.size))
        buffer = pa.allocate_buffer(size)
        view = memoryview(buffer)
        filled = 0
        while filled < size:
            got = self.process.stdout.readinto(view[filled:])
            if not got:
                self._fail()
            filled += got
        return buffer

    def _read(self, size: int) -> bytes:
        data = self.process.stdout.read(size)
        if len(data) != size:
            self._fail()
        return data

    def _fail(self) -> None:
        """The child stopped short or failed: raise what it wrote to stderr."""
        self.process.wait()
        self._errors.seek(0)
        message = self._errors.read().decode("utf-8", "replace").strip()
        self.close()
        raise DatabaseReadFailed(f"reading the database failed: {message or f'the reader exited with {self.process.returncode}'}")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        self._errors.close()
