"""Parse a raters × units reliability table (the CSV layout of ``tests/data/reliability``).

Layout (R's ``irr::kripp.alpha`` data written to a file)::

    rater,u1,u2,u3
    c1,1,2,
    c2,1,,3

The header's first cell is ``rater`` and the other cells are unit ids; each further row is
one rater's values; a blank cell is a missing value. Cells are stripped of surrounding
spaces; blank lines and rows of only blank cells are ignored. If every value parses as a
finite number the table is numeric (a float matrix, NaN for missing); otherwise every value
is a category label (an object matrix of ``str``, ``None`` for missing).

Parsing takes text or an iterable of lines, never a path: reading files is the caller's job.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from workbench.errors import FieldError, InvalidInput

__all__ = ["ReliabilityTable", "ReliabilityTableInvalid", "parse_reliability_table"]

# Cells that mean "missing" in other tools. In an otherwise numeric table they would
# silently turn the whole table into categories, so they are reported instead.
_MISSING_MARKERS = frozenset({"na", "n/a", "nan", "null", "none", "."})


class ReliabilityTableInvalid(InvalidInput, ValueError):
    """The text is not a valid reliability table; ``errors`` lists each problem by line."""


@dataclass(frozen=True, eq=False)
class ReliabilityTable:
    """A parsed table. ``matrix`` is raters × units and read-only."""

    raters: tuple[str, ...]
    unit_ids: tuple[str, ...]
    matrix: np.ndarray
    is_numeric: bool


def parse_reliability_table(source: str | Iterable[str]) -> ReliabilityTable:
    """Parse CSV text (or lines, e.g. an open file) into a :class:`ReliabilityTable`.

    Raises :class:`ReliabilityTableInvalid` (an ``InvalidInput`` and a ``ValueError``) listing
    every problem found: empty input, a header not starting with ``rater``, missing or
    duplicate unit ids, rows of the wrong length, blank or duplicate rater names, and
    missing-value markers such as ``NA`` in a numeric table (leave those cells blank).
    """
    reader = csv.reader(io.StringIO(source) if isinstance(source, str) else source)
    rows = [(reader.line_num, [cell.strip() for cell in row]) for row in reader if row]
    rows = [(line, cells) for line, cells in rows if any(cells)]
    if not rows:
        raise ReliabilityTableInvalid("reliability table is empty", [FieldError("", "no header row")])

    errors: list[FieldError] = []
    header_line, header = rows[0]
    header[0] = header[0].lstrip("\ufeff")
    unit_ids = header[1:]
    if header[0].lower() != "rater":
        errors.append(FieldError(f"line {header_line}", f"first header cell must be 'rater', got {header[0]!r}"))
    if not unit_ids:
        errors.append(FieldError(f"line {header_line}", "header names no units"))
    errors += _blank_or_duplicate(unit_ids, f"line {header_line}", "unit id")
    if len(rows) == 1:
        errors.append(FieldError(f"line {header_line}", "no rater rows after the header"))

    raters: list[str] = []
    cells: list[list[str]] = []
    for line, row in rows[1:]:
        if len(row) != len(header):
            errors.append(FieldError(f"line {line}", f"expected {len(header)} cells like the header, got {len(row)}"))
            continue
        raters.append(row[0])
        cells.append(row[1:])
    rater_lines = [line for line, row in rows[1:] if len(row) == len(header)]
    for index, problem in _blank_or_duplicate_at(raters, "rater name"):
        errors.append(FieldError(f"line {rater_lines[index]}", problem))

    matrix, is_numeric, marker_errors = _to_matrix(cells, unit_ids, rater_lines)
    errors += marker_errors
    if errors:
        raise ReliabilityTableInvalid("reliability table is invalid", errors)
    matrix.setflags(write=False)
    return ReliabilityTable(tuple(raters), tuple(unit_ids), matrix, is_numeric)


def _blank_or_duplicate(names: list[str], location: str, what: str) -> list[FieldError]:
    return [FieldError(location, problem) for _, problem in _blank_or_duplicate_at(names, what)]


def _blank_or_duplicate_at(names: list[str], what: str) -> list[tuple[int, str]]:
    """``(index, message)`` for each blank name and each repeat of an earlier name."""
    seen: set[str] = set()
    problems = []
    for index, name in enumerate(names):
        if not name:
            problems.append((index, f"blank {what} (position {index + 1})"))
        elif name in seen:
            problems.append((index, f"duplicate {what} {name!r}"))
        seen.add(name)
    return problems


def _number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _to_matrix(
    cells: list[list[str]], unit_ids: list[str], lines: list[int]
) -> tuple[np.ndarray, bool, list[FieldError]]:
    """Numeric matrix when every filled cell is a finite number, else an object matrix."""
    shape = (len(cells), len(unit_ids))
    numbers = [[_number(cell) if cell else None for cell in row] for row in cells]
    non_numeric = [
        (i, j) for i, row in enumerate(cells) for j, cell in enumerate(row) if cell and numbers[i][j] is None
    ]
    if all(cells[i][j].lower() in _MISSING_MARKERS for i, j in non_numeric):
        errors = [
            FieldError(
                f"line {lines[i]}: {unit_ids[j]}",
                f"{cells[i][j]!r} in a numeric table; leave the cell blank for a missing value",
            )
            for i, j in non_numeric
        ]
        matrix = np.array([[math.nan if v is None else v for v in row] for row in numbers], dtype=np.float64)
        return matrix.reshape(shape), True, errors
    matrix = np.empty(shape, dtype=object)
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            matrix[i, j] = cell or None
    return matrix, False, []
