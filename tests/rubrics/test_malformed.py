"""A catalogue of malformed rubric files, each rejected with one readable message and its location.

Every file under ``tests/rubrics/malformed/`` starts with two comment lines naming the
expected location (a JSON pointer, or a YAML line) and a part of the expected message.
JSON files, which have no comments, are listed in ``JSON_EXPECTED``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import RubricInvalid
from workbench.rubric import load_rubric_file

HERE = Path(__file__).parent / "malformed"
FILES = sorted(p for p in HERE.iterdir() if p.suffix in {".yaml", ".json"})
JSON_EXPECTED = {"trailing-comma.json": ("line 4, column 1", "Expecting property name enclosed in double quotes")}


def expected(path: Path) -> tuple[str, str]:
    if path.name in JSON_EXPECTED:
        return JSON_EXPECTED[path.name]
    header = dict(
        line[2:].split(": ", 1) for line in path.read_text(encoding="utf-8").splitlines()[:2] if line.startswith("# ")
    )
    return header["location"], header["message"].strip().strip('"')


def test_the_catalogue_has_at_least_fifteen_files():
    assert len(FILES) >= 15


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_malformed_rubric_is_rejected_with_location_and_message(path):
    location, message = expected(path)
    with pytest.raises(RubricInvalid) as info:
        load_rubric_file(path)
    errors = info.value.errors
    assert len(errors) == 1, f"expected one problem, got {[str(e) for e in errors]}"
    [error] = errors
    assert error.location.startswith(location) if location.startswith("line") else error.location == location
    assert message in error.message
    # The summary names the file, so a folder of rubrics reports which one is broken.
    assert path.name in str(info.value)
