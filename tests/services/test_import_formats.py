"""Import files in every format, malformed input, skip-invalid, adapters for published data."""

from __future__ import annotations

import csv
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from tests.factories import make_project
from workbench.errors import ImportInvalid
from workbench.models import Item, Response
from workbench.services.adapters import hh_items, transcript_messages
from workbench.services.import_formats import MAX_LINE_BYTES, open_source
from workbench.services.imports import import_rows, item_schema


def pair(external_id, prompt="What is 2 + 2?"):
    return {
        "id": external_id,
        "prompt": prompt,
        "responses": [
            {"id": "a", "model": "m1", "text": f"four {external_id}"},
            {"id": "b", "text": f"five {external_id}"},
        ],
    }


def counts(session):
    return (
        session.scalar(select(func.count()).select_from(Item)),
        session.scalar(select(func.count()).select_from(Response)),
    )


@pytest.fixture
def project(session):
    project = make_project(session)
    session.commit()
    return project


def import_file(session, project, path, **kwargs):
    source = open_source(path)
    return import_rows(session, project, source.rows, unit=source.unit, **kwargs)


def write_jsonl(path, *lines: bytes | dict):
    with open(path, "wb") as fh:
        for line in lines:
            fh.write(line if isinstance(line, bytes) else json.dumps(line).encode())
            fh.write(b"\n")
    return path


def test_the_item_schema_is_published_json_schema():
    schema = item_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["required"] == ["id", "prompt", "responses"]


def test_csv_with_text_and_chat_prompts(session, project, tmp_path):
    path = tmp_path / "items.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "prompt", "prompt_messages", "response_1", "response_1_model", "response_2", "metadata"])
        writer.writerow(["c1", "Line one\nline two, with comma", "", "yes", "m1", "no", '{"topic": "x"}'])
        writer.writerow(["c2", "", json.dumps([{"role": "user", "content": "hi"}]), "hello", "", "hey", ""])
    report = import_file(session, project, path)
    assert report.imported == 2
    items = {i.external_id: i for i in session.scalars(select(Item))}
    assert items["c1"].prompt == "Line one\nline two, with comma" and items["c1"].meta == {"topic": "x"}
    assert items["c2"].prompt == [{"role": "user", "content": "hi"}]
    assert [r.text for r in items["c1"].responses] == ["yes", "no"] and items["c1"].responses[0].model == "m1"


def test_parquet_nested_and_flat(session, project, tmp_path):
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.Table.from_pylist([pair("p1"), pair("p2")]), nested)
    flat = tmp_path / "flat.parquet"
    pq.write_table(pa.table({"id": ["p3"], "prompt": ["q"], "response_1": ["x"], "response_2": ["y"]}), flat)
    assert import_file(session, project, nested).imported == 2
    assert import_file(session, project, flat).imported == 1
    assert counts(session) == (3, 6)
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"id": ["p4", "p5"], "prompt": ["q", "q"], "response_1": ["x", "x"]}), bad)
    with pytest.raises(ImportInvalid) as info:
        import_file(session, project, bad)
    assert [e.location for e in info.value.errors] == ["row 1: responses", "row 2: responses"]


MALFORMED = [
    pytest.param(b"{not json", "line 2", "not valid JSON", id="broken-json"),
    pytest.param(
        json.dumps({**pair("x"), "prompt": 7}).encode(), "line 2: prompt", "non-empty string", id="wrong-type"
    ),
    pytest.param(
        json.dumps({"id": "x", "prompt": "p"}).encode(),
        "line 2: (row)",
        '"responses" is a required',
        id="missing-field",
    ),
    pytest.param(json.dumps(pair("g1")).encode(), "line 2: id", "already appears on line 1", id="duplicate-id"),
    pytest.param(b'{"id": "x", "prompt": "caf\xe9", "responses": []}', "line 2", "not valid UTF-8", id="invalid-utf8"),
    pytest.param(
        json.dumps({**pair("x"), "responses": [{"id": "a", "text": "1"}, {"id": "a", "text": "2"}]}).encode(),
        "line 2: responses",
        "response ids repeat",
        id="repeated-response-id",
    ),
]


@pytest.mark.parametrize(("bad", "where", "message"), MALFORMED)
def test_malformed_line_is_reported_and_nothing_changes(session, project, tmp_path, bad, where, message):
    path = write_jsonl(tmp_path / "items.jsonl", pair("g1"), bad, pair("g3"))
    with pytest.raises(ImportInvalid) as info:
        import_file(session, project, path)
    session.rollback()
    errors = info.value.errors
    assert [e.location for e in errors] == [where], str(info.value)
    assert message in errors[0].message
    assert counts(session) == (0, 0)


def test_a_50_mb_line_is_refused_without_reading_it_whole(session, project, tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as fh:
        fh.write(json.dumps(pair("g1")).encode() + b"\n")
        fh.write(b'{"id": "big", "prompt": "' + b"x" * (50 * 1024 * 1024) + b'", "responses": []}\n')
        fh.write(json.dumps(pair("g3")).encode() + b"\n")
    assert path.stat().st_size > 50 * 1024 * 1024 > MAX_LINE_BYTES
    with pytest.raises(ImportInvalid) as info:
        import_file(session, project, path)
    session.rollback()
    [error] = info.value.errors
    assert error.location == "line 2" and "50 MB long; the limit is 16 MB" in error.message
    assert counts(session) == (0, 0)
    report = import_file(session, project, path, skip_invalid=True)
    assert report.imported == 2 and report.skipped == 1


def test_late_error_rolls_back_rows_already_inserted(session, project, tmp_path):
    path = write_jsonl(tmp_path / "items.jsonl", *[pair(f"g{n}") for n in range(25)], b"[]")
    source = open_source(path)
    with pytest.raises(ImportInvalid):
        import_rows(session, project, source.rows, batch_size=10)
    session.commit()
    assert counts(session) == (0, 0)


def test_skip_invalid_imports_good_rows_and_reports_the_rest(session, project, tmp_path):
    path = write_jsonl(tmp_path / "items.jsonl", pair("g1"), b"{oops", pair("g1"), {"id": "x"}, pair("g2"))
    report = import_file(session, project, path, skip_invalid=True)
    assert (report.imported, report.skipped) == (2, 3)
    assert [e.as_dict()["line"] for e in report.rejected][:2] == [2, 3]
    session.commit()
    again = import_file(session, project, path, skip_invalid=True)
    assert (again.imported, again.duplicates) == (0, 2)
    assert counts(session) == (2, 4)


def test_gzipped_jsonl(session, project, tmp_path):
    path = tmp_path / "items.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write((json.dumps(pair("z1")) + "\n").encode())
    assert import_file(session, project, path).imported == 1


def test_transcripts_become_chat_messages():
    assert transcript_messages("\n\nHuman: hi\n\nAssistant: hello\n\nHuman: bye") == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "bye"},
    ]


def test_anthropic_hh_prompts_are_the_shared_multi_turn_prefix(session, project, reference_data):
    path = reference_data / "preferences" / "hh-rlhf-harmless-test" / "harmless-base_test.jsonl.gz"
    originals = [json.loads(line) for line in gzip.open(path)]
    report = import_rows(session, project, hh_items(path))
    assert report.imported == len(originals) == 2312
    items = {i.external_id: i for i in session.scalars(select(Item).where(Item.project_id == project.id))}
    multi_turn = 0
    for n, original in enumerate(originals):
        item = items[f"harmless-base_test-{n:05d}"]
        assert item.prompt[0]["role"] == "user"
        chosen, rejected = (r.text for r in item.responses)
        if not item.meta.get("spans_turns"):
            assert item.prompt[-1]["role"] == "user"
            # prompt + "Assistant: " + response rebuilds each published transcript exactly
            rebuilt = "".join(
                f"\n\n{'Human' if m['role'] == 'user' else 'Assistant'}: {m['content']}" for m in item.prompt
            )
            assert original["chosen"] in (rebuilt + "\n\nAssistant: " + chosen, rebuilt + "\n\nAssistant:" + chosen)
            assert original["rejected"] in (
                rebuilt + "\n\nAssistant: " + rejected,
                rebuilt + "\n\nAssistant:" + rejected,
            )
        multi_turn += len(item.prompt) > 1
    assert multi_turn > 1000
