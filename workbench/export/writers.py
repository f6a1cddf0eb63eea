"""Deterministic dataset writers: JSON Lines and Parquet, hashed, renamed into place when complete.

Both writers keep nothing but a bounded buffer:

- ``JsonlWriter`` writes one ``json.dumps(row, sort_keys=True, ensure_ascii=False)`` line
  per row (UTF-8, ``\\n``) and hashes the bytes as they go.
- ``ParquetWriter`` takes rows as Arrow arrays or as Python values, buffers ``batch_rows``
  rows, then writes them as one row group of a fixed pyarrow schema (zstd, no statistics
  that depend on timing, no pandas metadata); the same rows in the same order give the
  same bytes. The sha256 is taken from the finished file. Each row group is encoded and
  compressed on one writer thread while the caller reads the next (at most one group in
  flight; see ``ParquetWriter``).

``atomic_files`` opens every target under a temporary name beside it and renames them all
only when the block succeeds; on any error the temporary files are removed and earlier
files of the same name are left untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

PARQUET_BATCH_ROWS = 8_192


@dataclass(frozen=True)
class FileDigest:
    """What ``manifest.json`` says about one written file."""

    name: str
    sha256: str
    bytes: int
    rows: int

    def manifest_entry(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "bytes": self.bytes, "rows": self.rows}


def temporary_path(target: Path) -> Path:
    return target.parent / f".{target.name}.{secrets.token_hex(8)}.tmp"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class JsonlWriter:
    """One JSON object per line; keeps the sha256, byte size and line count."""

    def __init__(self, path: Path, tmp: Path):
        self.name = path.name
        self.fh: IO[bytes] = open(tmp, "xb", buffering=1 << 20)  # noqa: SIM115 - closed in close()
        self.tmp = tmp
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        data = (json.dumps(row, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        self.fh.write(data)
        self.sha256.update(data)
        self.size += len(data)
        self.rows += 1

    def write_columns(self, columns: dict[str, list[Any]]) -> None:
        keys = list(columns)
        for values in zip(*columns.values(), strict=True):
            self.write(dict(zip(keys, values, strict=True)))

    def close(self) -> FileDigest:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        return FileDigest(self.name, self.sha256.hexdigest(), self.size, self.rows)

    def abort(self) -> None:
        self.fh.close()


class ParquetWriter:
    """Rows of a fixed schema, written in row groups of ``batch_rows``.

    Rows arrive as Arrow arrays (``write_arrays``) or as Python values (``write``,
    ``write_columns``, converted with the schema's types); either way they are buffered
    as Arrow tables and cut into row groups of exactly ``batch_rows``, each column
    contiguous, so the bytes depend only on the rows and their order.

    Row groups are written on one background thread, at most one in flight: pyarrow
    encodes and compresses without the GIL, so the next group is read from the database
    meanwhile. Measured on the 1M-preference benchmark (``bench_io.py``, 2026-12-05, quiet
    machine): median 8.3 s against 9.4 s writing in the calling thread, the same bytes, peak
    RSS unchanged; without it the export was slower than the threaded reader it replaced
    (median 8.5 s in the same run; docs/benchmarks.md).
    """

    def __init__(self, path: Path, tmp: Path, schema: pa.Schema, batch_rows: int = PARQUET_BATCH_ROWS):
        self.name = path.name
        self.tmp = tmp
        self.schema = schema
        self.batch_rows = batch_rows
        self.values: dict[str, list[Any]] = {f.name: [] for f in schema}
        self.value_rows = 0
        self.tables: list[pa.Table] = []
        self.pending = 0
        self.rows = 0
        self.writer = pq.ParquetWriter(
            tmp, schema, compression="zstd", write_statistics=False, store_schema=False, use_dictionary=False
        )
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-writer")
        self.in_flight: Future[None] | None = None

    def write(self, row: dict[str, Any]) -> None:
        for name, values in self.values.items():
            values.append(row.get(name))
        self.value_rows += 1
        if self.value_rows >= self.batch_rows:
            self._convert_values()

    def write_columns(self, columns: dict[str, list[Any]]) -> None:
        size = len(next(iter(columns.values())))
        for name, values in self.values.items():
            values.extend(columns[name] if name in columns else [None] * size)
        self.value_rows += size
        if self.value_rows >= self.batch_rows:
            self._convert_values()

    def write_arrays(self, columns: dict[str, pa.Array]) -> None:
        """Append rows given as one Arrow array per column (a missing column is all null)."""
        self._convert_values()
        size = len(next(iter(columns.values())))
        arrays = [columns[f.name] if f.name in columns else pa.nulls(size, f.type) for f in self.schema]
        self._append(pa.Table.from_arrays(arrays, schema=self.schema))

    def _convert_values(self) -> None:
        if self.value_rows:
            table = pa.Table.from_pydict(self.values, schema=self.schema)
            self.values = {name: [] for name in self.values}
            self.value_rows = 0
            self._append(table)

    def _append(self, table: pa.Table) -> None:
        self.tables.append(table)
        self.pending += table.num_rows
        while self.pending >= self.batch_rows:
            self._flush(self.batch_rows)

    def _flush(self, count: int | None = None) -> None:
        """Write ``count`` buffered rows (all by default) as one row group.

        Row groups always hold exactly ``batch_rows`` rows except the last, however the
        rows arrived, so the file's bytes do not depend on how callers batch their writes.
        """
        count = self.pending if count is None else count
        if not count:
            return
        buffered = pa.concat_tables(self.tables) if len(self.tables) > 1 else self.tables[0]
        head = buffered.slice(0, count).combine_chunks()
        rest = buffered.slice(count)
        self.tables = [rest] if rest.num_rows else []
        self._wait()
        self.in_flight = self.thread.submit(self.writer.write_table, head, row_group_size=self.batch_rows)
        self.rows += count
        self.pending -= count

    def _wait(self) -> None:
        """Wait for the row group in flight; its error, if any, is raised here."""
        if self.in_flight is not None:
            in_flight, self.in_flight = self.in_flight, None
            in_flight.result()

    def close(self) -> FileDigest:
        try:
            self._convert_values()
            self._flush()
            self._wait()
        finally:
            self.thread.shutdown(wait=True)
        self.writer.close()
        return FileDigest(self.name, file_sha256(self.tmp), self.tmp.stat().st_size, self.rows)

    def abort(self) -> None:
        self.thread.shutdown(wait=True, cancel_futures=True)
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001, S110 - the file is being thrown away
            pass


class AtomicFiles:
    """Writers opened under temporary names; ``commit`` renames them all into place."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.writers: list[tuple[Any, Path]] = []
        self.digests: list[FileDigest] = []

    def jsonl(self, name: str) -> JsonlWriter:
        target = self.out_dir / name
        writer = JsonlWriter(target, temporary_path(target))
        self.writers.append((writer, target))
        return writer

    def parquet(self, name: str, schema: pa.Schema, batch_rows: int = PARQUET_BATCH_ROWS) -> ParquetWriter:
        target = self.out_dir / name
        writer = ParquetWriter(target, temporary_path(target), schema, batch_rows)
        self.writers.append((writer, target))
        return writer

    def commit(self) -> list[FileDigest]:
        self.digests = [writer.close() for writer, _ in self.writers]
        for writer, target in self.writers:
            os.replace(writer.tmp, target)
        return self.digests

    def abort(self) -> None:
        for writer, _ in self.writers:
            writer.abort()
            writer.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_files(out_dir: Path) -> Iterator[AtomicFiles]:
    files = AtomicFiles(out_dir)
    try:
        yield files
    except BaseException:
        files.abort()
        raise


def write_bytes_atomically(target: Path, data: bytes) -> None:
    tmp = temporary_path(target)
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
