"""Uploaded files: streamed to a temporary file in chunks, checked row by row, imported or refused."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from tests.factories import make_project
from workbench.errors import InvalidInput
from workbench.models import Item, Judgment
from workbench.services.uploads import UploadTooLarge, spooled_upload, upload_items, upload_judgments


def item(n, **over):
    row = {
        "id": f"q{n}",
        "prompt": f"Question {n}?",
        "responses": [{"id": "a", "model": "m-1", "text": "One."}, {"id": "b", "model": "m-2", "text": "Two."}],
    }
    row.update(over)
    return row


def jsonl(*rows) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode()


class CountingStream(io.BytesIO):
    """A request body that remembers how much each read asked for."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size=-1):
        self.asked.append(size)
        return super().read(size)


def stored(session, project) -> int:
    return session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project.id))


def test_the_file_is_copied_in_chunks_and_removed_afterwards():
    body = CountingStream(b"x" * (3 * 1024 + 5))
    with spooled_upload(body, "big.jsonl", limit=10_000, chunk=1024) as path:
        assert path.suffix == ".jsonl"
        assert path.stat().st_size == 3 * 1024 + 5
    assert not path.exists()
    assert body.asked and all(0 < size <= 1024 for size in body.asked)  # never "read everything"
    assert len(body.asked) == 5  # three full chunks, the rest, the empty read at the end


def test_the_file_is_removed_when_the_import_fails():
    with pytest.raises(RuntimeError):
        with spooled_upload(io.BytesIO(b"{}\n"), "items.csv.gz", limit=100) as path:
            assert path.name.endswith(".csv.gz")
            raise RuntimeError("boom")
    assert not path.exists()


def test_a_file_over_the_limit_stops_at_the_limit():
    body = CountingStream(b"y" * 50_000)
    with pytest.raises(UploadTooLarge, match="upload limit"):
        with spooled_upload(body, "big.jsonl", limit=4096, chunk=1024):
            pytest.fail("a file over the limit is never handed on")
    assert sum(body.asked) <= 4096 + 1024  # stopped reading right after the limit


@pytest.mark.parametrize("name", ["items.txt", "items.json", "", "items.parquet.zip"])
def test_an_unknown_file_type_names_the_accepted_ones(name):
    with pytest.raises(InvalidInput) as caught:
        with spooled_upload(io.BytesIO(b"{}"), name, limit=100):
            pass
    assert caught.value.errors[0].location == "file" and ".jsonl" in caught.value.errors[0].message


def test_an_empty_file_is_refused():
    with pytest.raises(InvalidInput, match="empty"):
        with spooled_upload(io.BytesIO(b""), "items.jsonl", limit=100):
            pass


def _upload(session, project, data: bytes, name="items.jsonl", **kw):
    with spooled_upload(io.BytesIO(data), name, limit=1 << 20) as path:
        return upload_items(session, project, path, **kw)


def test_every_bad_row_is_listed_by_line_and_field_and_nothing_is_imported(session):
    project = make_project(session)
    data = jsonl(item(1), item(2, prompt=5), item(3, responses=[{"text": "only one"}]), "{not json", item(5))
    result = _upload(session, project, data)
    assert result.refused and result.imported == 0
    assert "nothing was imported" in result.summary
    assert any(p.startswith("line 2: prompt: ") for p in result.problems), result.problems
    assert any(p.startswith("line 3: responses: ") and "2 responses" in p for p in result.problems)
    assert any(p.startswith("line 4: ") and "not valid JSON" in p for p in result.problems)
    assert not any(p.startswith(("line 1", "line 5")) for p in result.problems)
    assert stored(session, project) == 0


def test_the_good_rows_option_imports_the_rest(session):
    project = make_project(session)
    result = _upload(session, project, jsonl(item(1), item(2, prompt=5), item(3)), skip_invalid=True)
    assert not result.refused
    assert result.imported == 2 and stored(session, project) == 2
    assert [p.split(":")[0] for p in result.problems] == ["line 2"]
    assert "skipped 1 bad row" in result.summary


def test_duplicates_are_reported_and_left_unchanged(session):
    project = make_project(session)
    _upload(session, project, jsonl(item(1), item(2)))
    again = _upload(session, project, jsonl(item(1, prompt="changed"), item(2), item(3)))
    assert (again.imported, again.duplicates) == (1, 2)
    assert set(again.duplicate_ids) == {"q1", "q2"}
    assert session.scalar(select(Item.prompt).where(Item.external_id == "q1")) == "Question 1?"


def test_a_repeated_id_within_the_file_names_the_first_line(session):
    project = make_project(session)
    result = _upload(session, project, jsonl(item(1), item(2), item(1)))
    assert result.refused
    assert result.problems == ("line 3: id: id 'q1' already appears on line 1",)


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [("bad \x00 byte", "NUL"), ("lone \ud800 half", "surrogate")],
    ids=["nul", "lone-surrogate"],
)
def test_hostile_strings_are_refused_naming_the_field(session, prompt, problem):
    project = make_project(session)
    data = (json.dumps(item(1)) + "\n" + json.dumps(item(2, prompt=prompt)) + "\n").encode()
    result = _upload(session, project, data)
    assert result.refused
    assert len(result.problems) == 1 and result.problems[0].startswith("line 2: prompt: ")
    assert problem in result.problems[0]
    assert stored(session, project) == 0


def test_csv_rows_are_numbered_by_line(session):
    project = make_project(session)
    data = b'id,prompt,response_1,response_2\nc1,First?,One,Two\nc2,,One,Two\nc3,"Third, with a comma?",One,Two\n'
    result = _upload(session, project, data, name="items.csv")
    assert result.refused
    assert [p.split(":")[0] for p in result.problems] == ["line 3"]
    good = _upload(session, project, data.replace(b"c2,,", b"c2,Second?,"), name="items.csv")
    assert good.imported == 3


def test_parquet_rows_are_numbered_by_row(session, tmp_path):
    project = make_project(session)
    table = pa.table(
        {"id": ["p1", "p2"], "prompt": ["One?", "Two?"], "response_1": ["a", "a"], "response_2": ["b", None]}
    )
    pq.write_table(table, tmp_path / "items.parquet")
    result = _upload(session, project, (tmp_path / "items.parquet").read_bytes(), name="items.parquet")
    assert result.refused
    assert [p.split(":")[0] for p in result.problems] == ["row 2"]


def test_an_unreadable_parquet_file_is_a_field_error(session):
    project = make_project(session)
    with pytest.raises(InvalidInput) as caught:
        _upload(session, project, b"not parquet at all", name="x.parquet")
    assert caught.value.errors[0].location == "file"


def test_judgments_are_imported_or_refused_with_their_lines(session):
    project = make_project(session)
    _upload(session, project, jsonl(item(1), item(2)))
    answers = {"helpful": {"choice": "A", "strength": 2}, "harmless": {"choice": "tie"}}
    bad = jsonl(
        {"item_id": "q1", "rater": "ann", "answers": answers},
        {"item_id": "nope", "rater": "ann", "answers": answers},
    )
    with spooled_upload(io.BytesIO(bad), "j.jsonl", limit=1 << 20) as path:
        refused = upload_judgments(session, project, path)
    assert refused.refused and refused.problems[0].startswith("line 2: item_id: ")
    assert session.scalar(select(func.count()).select_from(Judgment)) == 0
    good = jsonl(
        {"item_id": "q1", "rater": "ann", "answers": answers}, {"item_id": "q2", "rater": "bob", "answers": answers}
    )
    with spooled_upload(io.BytesIO(good), "j.jsonl", limit=1 << 20) as path:
        result = upload_judgments(session, project, path)
    assert (result.imported, result.raters_created) == (2, 2)
    assert session.scalar(select(func.count()).select_from(Judgment)) == 2
