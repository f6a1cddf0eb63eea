"""The preference export's shortcuts give the same bytes as the general paths they stand in for.

- The item query either leaves unjudged items out in SQL or reads them and drops them in
  Python (``JUDGED_SHARE_FOR_SQL_FILTER`` picks one).
- Prompts that are plain JSON strings are read without a JSON parser and go to Parquet as
  Arrow arrays; every other prompt is parsed and converted value by value.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from tests.export.test_shapes import MESSAGES, judge
from tests.factories import make_item, make_project
from workbench.export import AGGREGATES, PARQUET_FILE, PREFERENCES_FILE, ExportOptions, export_preferences
from workbench.export import preferences as preferences_module
from workbench.export import rows as rows_module
from workbench.models import Item, Judgment

TRICKY = ["plain", 'with "quotes"', "back\\slash", "new\nline", "tab\tand\x01control", "é ü 日本 😀", "", "\\u00e9"]


def _exports(session, project, out) -> dict[str, bytes]:
    files = {}
    for aggregate in AGGREGATES:
        for ties in ("drop", "keep", "split"):
            folder = out / f"{aggregate}-{ties}"
            export_preferences(
                session,
                project,
                folder,
                ExportOptions(aggregate=aggregate, ties=ties, formats=("jsonl", "parquet"), batch_size=3),
            )
            for path in sorted(folder.iterdir()):
                files[f"{folder.name}/{path.name}"] = path.read_bytes()
    return files


@pytest.fixture
def varied(session):
    """Text prompts of every kind, unjudged, gold and honeypot items, three raters."""
    project = make_project(session, overlap_k=3, name="varied")
    votes = {}
    for n, prompt in enumerate(TRICKY * 2):
        name = f"i{n:02d}"
        make_item(session, project, external_id=name, prompt=prompt)
        votes[name] = [("a", "AB"[n % 2], 1 + n % 3), ("b", "A", 2), ("c", ["A", "B", "tie"][n % 3], 1)]
    make_item(session, project, external_id="unjudged-1")
    make_item(session, project, external_id="i99-unjudged")
    make_item(session, project, external_id="gold", is_gold=True)
    make_item(session, project, external_id="honey", meta={"honeypot": True})
    votes.update(gold=[("a", "A", 1)], honey=[("b", "B", 1)])
    judge(session, project, votes)
    return project


def test_unjudged_items_left_out_in_sql_or_in_python_give_the_same_bytes(session, varied, tmp_path, monkeypatch):
    monkeypatch.setattr(preferences_module, "JUDGED_SHARE_FOR_SQL_FILTER", 2.0)  # always in SQL
    in_sql = _exports(session, varied, tmp_path / "sql")
    monkeypatch.setattr(preferences_module, "JUDGED_SHARE_FOR_SQL_FILTER", 0.0)  # never
    in_python = _exports(session, varied, tmp_path / "python")
    assert in_sql == in_python


@pytest.mark.parametrize("chat", [False, True], ids=["text", "chat"])
def test_plain_string_prompts_give_the_same_bytes_as_parsed_ones(session, varied, tmp_path, monkeypatch, chat):
    if chat:
        make_item(session, varied, external_id="chat", prompt=MESSAGES)
        judge(session, varied, {"chat": [("a", "B", 2), ("b", "B", 1)]})
    fast = _exports(session, varied, tmp_path / "fast")
    monkeypatch.setattr(rows_module, "_PLAIN_STRING", "^$")  # no prompt is recognised as plain
    parsed = _exports(session, varied, tmp_path / "parsed")
    assert fast == parsed


def test_prompts_are_exported_exactly_as_stored(session, varied, tmp_path):
    summary = export_preferences(session, varied, tmp_path, ExportOptions(ties="keep", formats=("jsonl", "parquet")))
    stored = {item.external_id: item.prompt for item in session.query(Item).filter_by(project_id=varied.id)}
    lines = [json.loads(line) for line in summary.preferences_path.read_text(encoding="utf-8").splitlines()]
    table = pq.read_table(tmp_path / PARQUET_FILE).to_pylist()
    assert len(lines) == len(table) == summary.rows > len(TRICKY)
    for line, row in zip(lines, table, strict=True):
        assert line["prompt"] == row["prompt"] == stored[line["item_id"]]
    assert (tmp_path / PREFERENCES_FILE).exists()


def test_dawid_skene_with_an_item_whose_ratings_skip_the_question(session, varied, tmp_path):
    """Such an item has live judgments but no rating: it is not considered, and nothing breaks."""
    last = make_item(session, varied, external_id="zz-no-answer")
    other = session.query(Judgment).filter_by(project_id=varied.id).first()
    session.add(
        Judgment(
            project_id=varied.id,
            item_id=last.id,
            rater_id=other.rater_id,
            rubric_version_id=other.rubric_version_id,
            answers={"harmless": {"choice": "tie"}},
            display_order=[0, 1],
            submitted_at=other.submitted_at,
            idempotency_key="no-answer",
        )
    )
    session.flush()
    with_it = export_preferences(session, varied, tmp_path / "with", ExportOptions(aggregate="dawid_skene"))
    lines = [json.loads(line) for line in with_it.preferences_path.read_text(encoding="utf-8").splitlines()]
    assert "zz-no-answer" not in {line["item_id"] for line in lines}
    assert with_it.items_considered == with_it.exported + with_it.dropped_tie + with_it.dropped_no_majority


def test_parquet_rows_given_as_arrow_arrays_or_python_values_give_the_same_bytes(tmp_path):
    import pyarrow as pa

    from workbench.export.writers import ParquetWriter

    schema = pa.schema(
        [pa.field("s", pa.string(), nullable=False), pa.field("x", pa.float64()), pa.field("t", pa.bool_())]
    )
    rows = {"s": [f"row {n} é" for n in range(25)], "x": [n / 7 for n in range(25)]}
    digests = set()
    for name, cuts in (("values", None), ("arrays", [0, 4, 19, 25]), ("mixed", [0, 12, 25])):
        writer = ParquetWriter(tmp_path / name, tmp_path / f"{name}.tmp", schema, batch_rows=10)
        if cuts is None:
            writer.write_columns(rows)
        for start, end in zip(cuts or [], (cuts or [])[1:], strict=False):
            part = {"s": rows["s"][start:end], "x": rows["x"][start:end]}
            if name == "mixed" and start:
                writer.write_columns(part)
            else:
                writer.write_arrays({key: pa.array(values, schema.field(key).type) for key, values in part.items()})
        digests.add(writer.close().sha256)
    assert len(digests) == 1


def test_vote_table_columns_switch_to_64_bits_when_a_value_needs_it():
    import numpy as np

    from workbench.export.votes import GrowingArray

    column = GrowingArray()
    column.extend(np.arange(70_000, dtype=np.int64))  # grows past its first capacity
    assert column.array().dtype == np.int32
    column.extend(np.array([2**40, -(2**35)], dtype=np.int64))
    column.extend(np.array([7], dtype=np.int64))
    values = column.array()
    assert values.dtype == np.int64
    assert values[:70_000].tolist() == list(range(70_000)) and values[70_000:].tolist() == [2**40, -(2**35), 7]
