"""Read a SQLite query in a child process and send its rows as column buffers.

An export's large reads spend most of their time building a Python object per value,
and on one process those objects compete for the GIL with the thread that turns them
into Arrow columns. Run as a script, this module reads the query in a process of its
own and writes each batch of rows to stdout as plain buffers; ``column_stream`` on the
other side wraps them as Arrow arrays without a Python object per value.

It runs by path (``python sqlite_columns.py``), so the child imports nothing but the
standard library: the package's numpy, pyarrow and SQLAlchemy stay out of its memory.

    python sqlite_columns.py DATABASE BATCH_SIZE KINDS < query.sql

``KINDS`` has one letter per column: ``i`` an integer, ``t`` text. The stream is, per
batch, ``<q`` (rows), then per column ``<b`` (1 if it holds NULLs) and that many length-
prefixed (``<q``) buffers: a validity byte per row when it holds NULLs, then the values as
``int64`` (``i``, NULL as 0), or the UTF-8 byte length of each value as ``int64`` and the
values' bytes back to back (``t``, NULL as empty). A batch of 0 rows ends the stream.
Errors go to stderr with exit status 1; the parent reports them.
"""

from __future__ import annotations

import gc
import sqlite3
import struct
import sys
from array import array
from operator import itemgetter
from urllib.parse import quote

ROWS = struct.Struct("<q")
FLAG = struct.Struct("<b")
SIZE = struct.Struct("<q")
INTEGER, TEXT = "i", "t"


def _buffer(out, data: bytes | array) -> None:
    raw = data if isinstance(data, bytes) else data.tobytes()
    out.write(SIZE.pack(len(raw)))
    out.write(raw)


def write_column(out, values: list, kind: str) -> None:
    has_nulls = None in values
    out.write(FLAG.pack(1 if has_nulls else 0))
    if has_nulls:
        _buffer(out, bytes(value is not None for value in values))
    if kind == INTEGER:
        _buffer(out, array("q", (0 if value is None else value for value in values) if has_nulls else values))
        return
    if has_nulls:
        values = [b"" if value is None else value for value in values]
    _buffer(out, array("q", map(len, values)))
    _buffer(out, b"".join(values))


def stream(connection: sqlite3.Connection, sql: str, kinds: str, size: int, out) -> None:
    cursor = connection.execute(sql)
    if cursor.description is not None and len(cursor.description) != len(kinds):
        raise ValueError(f"the query has {len(cursor.description)} columns, {len(kinds)} kinds were given")
    while True:
        rows = cursor.fetchmany(size)
        out.write(ROWS.pack(len(rows)))
        if not rows:
            break
        for i, kind in enumerate(kinds):
            write_column(out, list(map(itemgetter(i), rows)), kind)
        del rows
    out.flush()


def main(argv: list[str]) -> int:
    path, size, kinds = argv[0], int(argv[1]), argv[2]
    sql = sys.stdin.read()
    gc.disable()  # rows hold no cycles; collections would only cost time
    try:
        connection = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        sys.stderr.write(f"cannot open {path}: {exc}\n")
        return 1
    try:
        connection.text_factory = bytes  # the UTF-8 as stored: no decoding here
        connection.execute("PRAGMA query_only = ON")
        stream(connection, sql, kinds, size, sys.stdout.buffer)
    except (sqlite3.Error, ValueError, OSError) as exc:
        sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        return 1
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
