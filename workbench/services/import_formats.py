"""Read import files row by row: JSON Lines (optionally gzipped), CSV and Parquet.

Each reader yields ``SourceRow(number, row, error)``: ``number`` is the line (JSON Lines,
CSV: the first physical line of the record) or the row (Parquet, 1-based); ``row`` is a
dict, or None when ``error`` says why the row could not be read. Reading never stops at a
bad row, so every problem in a file is reported at once.

Guards: a line longer than ``MAX_LINE_BYTES`` is skipped with a clear message (it is read
in chunks, never held whole); bytes that are not UTF-8 are reported with their line and
offset. Blank lines are ignored.

CSV and flat Parquet use one column per field: ``id``, ``prompt`` (text) or
``prompt_messages`` (JSON list of ``{role, content}``), ``response_1`` and ``response_2``
(text), optional ``response_N_id``, ``response_N_model``, ``metadata`` and ``gold`` (JSON
objects). Parquet may instead hold the JSON Lines layout with nested ``prompt`` and
``responses`` columns. Judgment files in CSV carry ``answers`` as a JSON string.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..textsafety import load_json, unsafe_value

MAX_LINE_BYTES = 16 * 1024 * 1024
FORMATS = ("jsonl", "csv", "parquet")
Progress = Callable[[int], None]


@dataclass(frozen=True)
class SourceRow:
    number: int
    row: Any
    error: tuple[str, str] | None = None  # (field, message)


@dataclass(frozen=True)
class Source:
    """An opened file: ``total`` units (bytes or rows) for a progress bar, and its rows."""

    format: str
    unit: str  # "line" or "row"
    total: int
    rows: Iterator[SourceRow]


def guess_format(path: str | Path) -> str:
    name = Path(path).name.lower().removesuffix(".gz")
    for suffix, fmt in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".csv", "csv"), (".parquet", "parquet")):
        if name.endswith(suffix):
            return fmt
    return "jsonl"


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb", buffering=1 << 20)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def binary_lines(fh: IO[bytes], progress: Progress | None = None) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(line number, bytes or None, error) for every line, each read in bounded memory."""
    number = 0
    while True:
        line = fh.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if progress:
            progress(len(line))
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            size = len(line)
            while line and not line.endswith(b"\n"):  # skip the rest of the long line
                line = fh.readline(1 << 20)
                size += len(line)
                if progress:
                    progress(len(line))
            yield number, None, f"the line is {_mb(size)} long; the limit is {_mb(MAX_LINE_BYTES)} per line"
            continue
        yield number, line, None


def _decode(line: bytes) -> tuple[str | None, str | None]:
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 (byte {exc.start + 1} of the line: {line[exc.start : exc.start + 1]!r})"


def jsonl_rows(fh: IO[bytes], progress: Progress | None = None) -> Iterator[SourceRow]:
    for number, raw, error in binary_lines(fh, progress):
        if error:
            yield SourceRow(number, None, ("", error))
            continue
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if not raw.strip():
            continue
        text, error = _decode(raw)
        if error:
            yield SourceRow(number, None, ("", error))
            continue
        try:
            yield SourceRow(number, load_json(text))
        except json.JSONDecodeError as exc:
            yield SourceRow(number, None, ("", f"not valid JSON ({exc.msg} at column {exc.colno})"))


def text_lines_as_rows(lines) -> Iterator[SourceRow]:
    """Rows from already-decoded JSON Lines strings (the API and tests pass lists)."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            text, error = _decode(line)
            if error:
                yield SourceRow(number, None, ("", error))
                continue
            line = text
        if len(line) > MAX_LINE_BYTES:
            yield SourceRow(
                number, None, ("", f"the line is {_mb(len(line))} long; the limit is {_mb(MAX_LINE_BYTES)} per line")
            )
            continue
        if not line.strip():
            continue
        try:
            yield SourceRow(number, load_json(line))
        except json.JSONDecodeError as exc:
            yield SourceRow(number, None, ("", f"not valid JSON ({exc.msg} at column {exc.colno})"))


def _json_cell(value: str, name: str, number: int, errors: list) -> Any:
    try:
        return load_json(value)
    except json.JSONDecodeError as exc:
        errors.append((name, f"the {name} column is not valid JSON ({exc.msg} at column {exc.colno})"))
        return None


def flat_to_row(flat: dict[str, Any], number: int) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
    """One flat record (CSV or flat Parquet) in the nested JSON Lines layout."""
    errors: list[tuple[str, str]] = []
    row: dict[str, Any] = {}
    known = {"id", "prompt", "prompt_messages", "metadata", "gold"}
    for key, value in flat.items():
        if value is None or value == "":
            continue
        if key in ("prompt_messages", "metadata", "gold") and isinstance(value, str):
            value = _json_cell(value, key, number, errors)
        if key == "prompt_messages":
            row["prompt"] = value
        elif key in known:
            row[key] = value
        elif key.startswith("response_"):
            continue
        else:
            row[key] = value  # reported by the schema as an unknown field
    responses = []
    for n in (1, 2):
        text = flat.get(f"response_{n}")
        if text is None or text == "":
            continue
        response = {"text": text}
        for part in ("id", "model"):
            value = flat.get(f"response_{n}_{part}")
            if value not in (None, ""):
                response[part] = value
        responses.append(response)
    unknown_response_columns = [
        k
        for k in flat
        if k.startswith("response_") and k not in {f"response_{n}{s}" for n in (1, 2) for s in ("", "_id", "_model")}
    ]
    for k in unknown_response_columns:
        errors.append((k, f"unknown column {k!r}; response columns are response_1/2 with _id and _model"))
    row["responses"] = responses
    if errors:
        return None, errors[0]
    return row, None


def csv_rows(fh: IO[bytes], progress: Progress | None = None, flat: bool = True) -> Iterator[SourceRow]:
    bad_lines: dict[int, str] = {}
    long_lines: dict[int, str] = {}

    def lines() -> Iterator[str]:
        for number, raw, error in binary_lines(fh, progress):
            if error:
                long_lines[number] = error
                yield "\n"
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            text, error = _decode(raw)
            if error:
                bad_lines[number] = error
                text = raw.decode("utf-8", errors="replace")
            yield text

    reader = csv.DictReader(lines(), strict=True)
    previous = 1  # the header
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield SourceRow(reader.line_num, None, ("", f"not valid CSV ({exc})"))
            return
        first, previous = previous + 1, reader.line_num
        problem = next(
            (
                bad_lines.get(n) or long_lines.get(n)
                for n in range(first, previous + 1)
                if n in bad_lines or n in long_lines
            ),
            None,
        )
        if problem:
            yield SourceRow(first, None, ("", problem))
            continue
        if None in record:
            yield SourceRow(first, None, ("", "the record has more cells than the header"))
            continue
        if all(v in (None, "") for v in record.values()):
            continue
        if flat:
            row, error = flat_to_row(record, first)
            yield SourceRow(first, row, error)
        else:
            yield SourceRow(first, record)


def _drop_nulls(value: Any) -> Any:
    """Parquet has no "missing": a null field (top level or in a struct) is left out."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def parquet_rows(path: Path, progress: Progress | None = None, batch_rows: int = 10_000) -> Iterator[SourceRow]:
    import pyarrow.parquet as pq

    number = 0
    with pq.ParquetFile(path) as pf:
        nested = "responses" in pf.schema_arrow.names
        for batch in pf.iter_batches(batch_size=batch_rows):
            for record in batch.to_pylist():
                number += 1
                record = _drop_nulls(record)
                if nested:
                    yield SourceRow(number, record)
                else:
                    row, error = flat_to_row(record, number)
                    yield SourceRow(number, row, error)
            if progress:
                progress(batch.num_rows)


def open_source(
    path: str | Path, fmt: str | None = None, progress: Progress | None = None, flat_csv: bool = True
) -> Source:
    """Open an import file; ``fmt`` defaults to a guess from the file name."""
    path = Path(path)
    fmt = fmt or guess_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            total = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:  # noqa: BLE001 - any pyarrow failure means "not a Parquet file"
            raise ValueError(f"{path.name} is not a readable Parquet file ({exc})") from None
        return Source(fmt, "row", total, parquet_rows(path, progress))
    total = path.stat().st_size

    def rows() -> Iterator[SourceRow]:
        with _open_binary(path) as fh:
            if fmt == "csv":
                yield from csv_rows(fh, progress, flat_csv)
            else:
                yield from jsonl_rows(fh, progress)

    return Source(fmt, "line", total, rows())


def rows_from_bytes(data: bytes, fmt: str = "jsonl") -> Iterator[SourceRow]:
    """Rows of an in-memory upload (the JSON API)."""
    fh = io.BytesIO(data)
    if fmt == "csv":
        return csv_rows(fh)
    return jsonl_rows(fh)


def refuse_unsafe(rows: Iterable[SourceRow]) -> Iterator[SourceRow]:
    """Rows whose text holds NUL or a lone surrogate (or nests too deep) become row errors.

    Every importer reads its rows through this, whatever the file format.
    """
    for row in rows:
        if row.error is None and (found := unsafe_value(row.row)):
            yield SourceRow(row.number, None, found)
        else:
            yield row
