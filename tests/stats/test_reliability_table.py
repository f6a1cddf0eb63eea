"""Parsing the raters × units CSV layout of ``tests/data/reliability``."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from workbench.errors import InvalidInput
from workbench.stats.reliability_table import ReliabilityTable, ReliabilityTableInvalid, parse_reliability_table

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reliability"

# raters × units and kind, from tests/data/SOURCES.md
SHAPES = {
    "krippendorff-2018-p290.csv": (4, 12, True),
    "wikipedia.csv": (3, 15, True),
    "hayes-krippendorff-2007.csv": (5, 40, True),
    "krippendorff-1980-p139.csv": (3, 9, True),
    "krippendorff-2004-p227.csv": (2, 12, False),
    "krippendorff-2004-binary-2coders.csv": (2, 10, True),
    "krippendorff-2018-p306.csv": (3, 12, True),
    "krippendorff-2018-p310.csv": (2, 12, False),
}


def _invalid(text: str) -> ReliabilityTableInvalid:
    with pytest.raises(ReliabilityTableInvalid) as caught:
        parse_reliability_table(text)
    return caught.value


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_parses_reference_tables(name):
    path = REFERENCE / name
    if not path.is_file():
        pytest.fail(f"reference table {path} not found")
    raters, units, numeric = SHAPES[name]
    with path.open(encoding="utf-8", newline="") as lines:
        table = parse_reliability_table(lines)
    assert table.matrix.shape == (raters, units) == (len(table.raters), len(table.unit_ids))
    assert table.is_numeric is numeric
    assert table.matrix.dtype == (np.float64 if numeric else object)


def test_numeric_table_with_blanks_and_crlf():
    table = parse_reliability_table("rater,u1,u2,u3\r\nc1,1,,3\r\nc2, 2.5 ,4,\r\n\r\n")
    assert table.raters == ("c1", "c2") and table.unit_ids == ("u1", "u2", "u3")
    assert table.is_numeric
    assert np.array_equal(table.matrix, [[1, np.nan, 3], [2.5, 4, np.nan]], equal_nan=True)


def test_categorical_table_keeps_strings_and_none():
    table = parse_reliability_table("\ufeffrater,a,b,c\nx,yes,1,\ny,no,,NA\n")
    assert not table.is_numeric
    assert table.matrix.tolist() == [["yes", "1", None], ["no", None, "NA"]]


def test_accepts_lines_and_ignores_rows_of_blank_cells():
    table = parse_reliability_table(["rater,u1,u2\n", ",,\n", "c1,1,2\n", "c2,2,2\n"])
    assert table.raters == ("c1", "c2") and table.matrix.shape == (2, 2)


def test_table_is_immutable():
    table = parse_reliability_table("rater,u1\nc1,1\n")
    assert isinstance(table, ReliabilityTable)
    with pytest.raises(ValueError):
        table.matrix[0, 0] = 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.raters = ("other",)


def test_errors_are_value_errors_and_invalid_input():
    error = _invalid("")
    assert isinstance(error, ValueError) and isinstance(error, InvalidInput)
    assert "empty" in str(error)


@pytest.mark.parametrize("text", ["", "\n\n", " , \n"])
def test_empty_input(text):
    assert "empty" in _invalid(text).summary


@pytest.mark.parametrize(
    ("text", "location", "message"),
    [
        ("coder,u1\nc1,1\n", "line 1", "first header cell must be 'rater'"),
        ("rater\nc1\n", "line 1", "names no units"),
        ("rater,u1,u1\nc1,1,2\n", "line 1", "duplicate unit id 'u1'"),
        ("rater,u1,\nc1,1,2\n", "line 1", "blank unit id"),
        ("rater,u1,u2\n", "line 1", "no rater rows"),
        ("rater,u1,u2\nc1,1,2\nc2,1\n", "line 3", "expected 3 cells like the header, got 2"),
        ("rater,u1,u2\nc1,1,2\nc2,1,2,3\n", "line 3", "got 4"),
        ("rater,u1\nc1,1\n\nc1,2\n", "line 4", "duplicate rater name 'c1'"),
        ("rater,u1\n,1\n", "line 2", "blank rater name"),
        ("rater,u1,u2\nc1,1,NA\n", "line 2: u2", "'NA' in a numeric table"),
    ],
)
def test_reports_problem_with_line_number(text, location, message):
    error = _invalid(text)
    assert any(e.location == location and message in e.message for e in error.errors), error.errors
    assert location in str(error)


def test_reports_every_problem_at_once():
    error = _invalid("rater,u1,u1\nc1,1,2\nc1,1\nc1,3,nan\n")
    locations = sorted(e.location for e in error.errors)
    assert locations == ["line 1", "line 3", "line 4", "line 4: u1"]


def test_infinite_values_make_the_table_categorical():
    table = parse_reliability_table("rater,u1,u2\nc1,inf,1\n")
    assert not table.is_numeric and table.matrix.tolist() == [["inf", "1"]]


def test_blank_and_space_only_cells_are_missing():
    table = parse_reliability_table("rater,u1,u2\nc1,,\nc2, ,1\n")
    assert table.is_numeric and math.isnan(table.matrix[0, 0]) and table.matrix[1, 1] == 1.0
