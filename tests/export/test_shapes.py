"""Preference export shapes, formats, aggregations, filters and the files next to the data.

Judgments come in through ``import_judgments`` (canonical orientation), which is how
crowd and published labels arrive; orientation through the rating screen is covered in
``test_preferences.py``.
"""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.factories import make_item, make_project
from workbench.errors import InvalidInput
from workbench.export import (
    CARD_FILE,
    MANIFEST_FILE,
    PARQUET_FILE,
    PREFERENCES_FILE,
    ExportOptions,
    export_judgments,
    export_preferences,
)
from workbench.models import Item
from workbench.services.import_formats import text_lines_as_rows
from workbench.services.judgment_import import import_judgments

MESSAGES = [
    {"role": "system", "content": "Answer in one word."},
    {"role": "user", "content": "Capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Spain?"},
]


def answer(choice, strength=1):
    pick = {"choice": choice} if choice == "tie" else {"choice": choice, "strength": strength}
    return {"helpful": pick, "harmless": {"choice": "tie"}}


def judge(session, project, votes: dict[str, list], durations: dict[str, int] | None = None):
    """``votes[item] = [(rater, choice, strength), ...]`` in canonical orientation."""
    records = [
        {
            "item_id": item,
            "rater": rater,
            "answers": answer(choice, strength),
            "submitted_at": f"2024-05-01T12:{n % 60:02d}:00Z",
            "duration_ms": (durations or {}).get(rater, 20_000),
        }
        for n, (item, ratings) in enumerate(votes.items())
        for rater, choice, strength in ratings
    ]
    import_judgments(session, project, text_lines_as_rows([json.dumps(r) for r in records]))


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def rated(session):
    """q1: A 2:1 (strengths 1,1 vs 3); q2: B unanimous; q3: tie majority; q4: no majority."""
    project = make_project(session, overlap_k=3, name="shapes")
    items = {name: make_item(session, project, external_id=name) for name in ("q1", "q2", "q3", "q4")}
    judge(
        session,
        project,
        {
            "q1": [("a", "A", 1), ("b", "A", 1), ("c", "B", 3)],
            "q2": [("a", "B", 2), ("b", "B", 2), ("c", "B", 3)],
            "q3": [("a", "tie", None), ("b", "tie", None), ("c", "A", 1)],
            "q4": [("a", "A", 1), ("b", "B", 1)],
        },
    )
    return project, items


def test_standard_parquet_and_jsonl_agree_and_load_with_datasets(session, rated, tmp_path):
    datasets = pytest.importorskip("datasets")
    project, items = rated
    summary = export_preferences(session, project, tmp_path, ExportOptions(formats=("jsonl", "parquet")))
    lines = read_jsonl(tmp_path / PREFERENCES_FILE)
    table = pq.read_table(tmp_path / PARQUET_FILE)
    assert table.num_rows == len(lines) == summary.rows == 2
    assert table.schema.field("prompt").type == pa.string()
    assert table.schema.field("chosen").type == pa.string() and table.schema.field("margin").type == pa.float64()
    assert table.to_pylist() == [{c: line[c] for c in table.column_names} for line in lines]
    assert [line["chosen"] for line in lines] == [items["q1"].responses[0].text, items["q2"].responses[1].text]

    for kind, name in (("parquet", PARQUET_FILE), ("json", PREFERENCES_FILE)):
        ds = datasets.load_dataset(kind, data_files=str(tmp_path / name), split="train")
        assert {"prompt", "chosen", "rejected", "margin"} <= set(ds.column_names)
        assert ds.features["prompt"] == datasets.Value("string")
        assert ds.features["chosen"] == datasets.Value("string")
        assert ds.features["rejected"] == datasets.Value("string")
        assert ds[0]["chosen"] == items["q1"].responses[0].text


def test_conversational_shape_round_trips_multi_turn_prompts(session, tmp_path):
    datasets = pytest.importorskip("datasets")
    project = make_project(session, overlap_k=1)
    chat = make_item(session, project, external_id="chat", prompt=MESSAGES)
    judge(session, project, {"chat": [("a", "B", 2)]})
    export_preferences(session, project, tmp_path, ExportOptions(formats=("jsonl", "parquet")))
    expected_chosen = [{"role": "assistant", "content": chat.responses[1].text}]
    for kind, name in (("parquet", PARQUET_FILE), ("json", PREFERENCES_FILE)):
        ds = datasets.load_dataset(kind, data_files=str(tmp_path / name), split="train")
        row = ds[0]
        assert [{"role": m["role"], "content": m["content"]} for m in row["prompt"]] == MESSAGES
        assert [{"role": m["role"], "content": m["content"]} for m in row["chosen"]] == expected_chosen
    schema = pq.read_schema(tmp_path / PARQUET_FILE)
    assert schema.field("prompt").type == pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    with pytest.raises(InvalidInput, match="conversational"):
        export_preferences(session, project, tmp_path / "std", ExportOptions(shape="standard"))


def test_kto_rows_are_unpaired_with_boolean_labels(session, rated, tmp_path):
    project, items = rated
    summary = export_preferences(session, project, tmp_path, ExportOptions(shape="kto", formats=("jsonl", "parquet")))
    lines = read_jsonl(tmp_path / PREFERENCES_FILE)
    assert [(line["item_id"], line["completion"], line["label"]) for line in lines] == [
        ("q1", items["q1"].responses[0].text, True),
        ("q1", items["q1"].responses[1].text, False),
        ("q2", items["q2"].responses[1].text, True),
        ("q2", items["q2"].responses[0].text, False),
    ]
    assert (summary.exported, summary.rows) == (2, 4)
    assert pq.read_schema(tmp_path / PARQUET_FILE).field("label").type == pa.bool_()
    with pytest.raises(InvalidInput, match="KTO"):
        export_preferences(session, project, tmp_path / "x", ExportOptions(shape="kto", ties="keep"))


def test_mean_strength_can_overturn_the_majority(session, rated, tmp_path):
    project, items = rated
    _ = export_preferences(session, project, tmp_path / "mean", ExportOptions(aggregate="mean_strength", ties="keep"))
    by_id = {line["item_id"]: line for line in read_jsonl(tmp_path / "mean" / PREFERENCES_FILE)}
    # q1: +1 +1 -3 → mean -1/3: B wins although two of three raters chose A
    assert by_id["q1"]["chosen"] == items["q1"].responses[1].text
    assert by_id["q1"]["margin"] == pytest.approx(1 / 3)
    # q4: +1 -1 → 0: a tie, kept
    assert by_id["q4"]["tie"] is True and by_id["q4"]["margin"] == 0.0


def test_dawid_skene_posteriors(session, rated, tmp_path):
    project, items = rated
    summary = export_preferences(session, project, tmp_path, ExportOptions(aggregate="dawid_skene", ties="keep"))
    by_id = {line["item_id"]: line for line in read_jsonl(summary.preferences_path)}
    assert by_id["q2"]["chosen"] == items["q2"].responses[1].text and by_id["q2"]["posterior"] > 0.9
    assert all(0 <= line["posterior"] <= 1 for line in by_id.values())
    assert json.loads(summary.manifest_path.read_text())["aggregation"]["method"] == "dawid_skene"


def test_per_rater_rows_carry_stable_pseudonyms(session, rated, tmp_path):
    project, items = rated
    first = export_preferences(session, project, tmp_path / "one", ExportOptions(aggregate="per_rater", ties="split"))
    lines = read_jsonl(first.preferences_path)
    assert first.exported == 11 and first.rows == 13  # two tie judgments split in two rows each
    raters = {line["rater"] for line in lines}
    assert len(raters) == 3 and all(r.startswith("r-") for r in raters)
    raw = first.preferences_path.read_text()
    assert "ext-" not in raw and "external.invalid" not in raw
    c_on_q1 = [line for line in lines if line["item_id"] == "q1" and line["chosen"] == items["q1"].responses[1].text]
    assert len(c_on_q1) == 1 and c_on_q1[0]["margin"] == 3.0 and c_on_q1[0]["agreement"] == pytest.approx(2 / 3)
    second = export_preferences(session, project, tmp_path / "two", ExportOptions(aggregate="per_rater", ties="split"))
    assert first.preferences_sha256 == second.preferences_sha256


def test_filters_min_agreement_version_gold_and_honeypots(session, rated, tmp_path):
    project, items = rated
    gold = make_item(session, project, external_id="gold", is_gold=True, gold_answer=answer("A"))
    honeypot = make_item(session, project, external_id="honey", meta={"honeypot": True})
    judge(session, project, {"gold": [("a", "A", 1)], "honey": [("a", "A", 1)]})
    default = export_preferences(session, project, tmp_path / "default")
    assert [line["item_id"] for line in read_jsonl(default.preferences_path)] == ["q1", "q2"]
    with_gold = export_preferences(session, project, tmp_path / "gold", ExportOptions(include_gold=True))
    assert [line["item_id"] for line in read_jsonl(with_gold.preferences_path)] == ["gold", "honey", "q1", "q2"]
    strict = export_preferences(session, project, tmp_path / "strict", ExportOptions(min_agreement=0.9))
    assert [line["item_id"] for line in read_jsonl(strict.preferences_path)] == ["q2"]
    assert strict.dropped_low_agreement == 3  # q1, q3 (2/3) and q4 (1/2)
    assert gold.id and honeypot.id
    with pytest.raises(InvalidInput, match="rubric_version"):
        export_preferences(session, project, tmp_path / "v9", ExportOptions(rubric_version=9))
    v1 = export_preferences(session, project, tmp_path / "v1", ExportOptions(rubric_version=1))
    assert v1.exported == 2


def test_flagged_raters_can_be_left_out(session, tmp_path):
    project = make_project(session, overlap_k=3, name="flags")
    names = [f"i{n}" for n in range(6)]
    for name in names:
        make_item(session, project, external_id=name)
    votes = {}
    for n, name in enumerate(names):
        good, bad = "AB"[n % 2], "BA"[n % 2]  # alternating, so nobody is straight-lining
        votes[name] = [("good1", good, 2), ("good2", good, 2), ("good3", good, 1), ("bad", bad, 1)]
    judge(session, project, votes, durations={"bad": 500})  # and too fast
    kept = export_preferences(session, project, tmp_path / "all", ExportOptions(aggregate="per_rater"))
    assert kept.exported == 24
    dropped = export_preferences(
        session, project, tmp_path / "clean", ExportOptions(aggregate="per_rater", exclude_flagged_raters=True)
    )
    assert dropped.exported == 18
    assert len({line["rater"] for line in read_jsonl(dropped.preferences_path)}) == 3
    manifest = json.loads(dropped.manifest_path.read_text())
    assert manifest["filters"]["raters_excluded"] == 1 and manifest["filters"]["exclude_flagged_raters"] is True


def test_same_data_gives_the_same_bytes_manifest_and_card(session, rated, tmp_path):
    project, _ = rated
    runs = [
        export_preferences(
            session,
            project,
            tmp_path / name,
            ExportOptions(formats=("jsonl", "parquet"), ties="split", batch_size=size),
        )
        for name, size in (("one", 1000), ("two", 1000), ("three", 1))
    ]
    for name in (PREFERENCES_FILE, PARQUET_FILE, MANIFEST_FILE, CARD_FILE):
        assert len({(tmp_path / run / name).read_bytes() for run in ("one", "two", "three")}) == 1, name
    assert len({r.manifest_sha256 for r in runs}) == 1
    manifest = json.loads((tmp_path / "one" / MANIFEST_FILE).read_text())
    for name, entry in manifest["files"].items():
        data = (tmp_path / "one" / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    assert manifest["files"][PARQUET_FILE]["rows"] == pq.read_metadata(tmp_path / "one" / PARQUET_FILE).num_rows
    alpha = manifest["rubric"]["versions"][0]["alpha"]
    assert (
        alpha["level"] == "nominal" and alpha["resamples"] > 0 and alpha["ci_low"] <= alpha["value"] <= alpha["ci_high"]
    )
    card = (tmp_path / "one" / CARD_FILE).read_text()
    assert "configs:" in card and PARQUET_FILE in card and manifest["files"][PARQUET_FILE]["sha256"] in card
    assert hashlib.sha256((tmp_path / "one" / MANIFEST_FILE).read_bytes()).hexdigest() in card


def test_bad_options_are_refused(session, rated, tmp_path):
    project, _ = rated
    for kwargs, where in (
        ({"shape": "nope"}, "shape"),
        ({"aggregate": "mode"}, "aggregate"),
        ({"ties": "half"}, "ties"),
        ({"formats": ("csv",)}, "formats"),
        ({"min_agreement": 1.5}, "min_agreement"),
    ):
        with pytest.raises(InvalidInput) as info:
            export_preferences(session, project, tmp_path, ExportOptions(**kwargs))
        assert info.value.errors[0].location == where
    assert not (tmp_path / PREFERENCES_FILE).exists()


def test_raw_judgments_are_canonical_with_pseudonyms_and_timings(session, rated, tmp_path):
    project, _ = rated
    summary = export_judgments(session, project, tmp_path, formats=("jsonl", "parquet"))
    lines = read_jsonl(tmp_path / "judgments.jsonl")
    assert summary.rows == len(lines) == 11
    q1 = [line for line in lines if line["item_id"] == "q1"]
    assert sorted(line["answers"]["helpful"]["choice"] for line in q1) == ["A", "A", "B"]
    assert all(line["rater_kind"] == "external" and line["display_order"] == [] for line in lines)
    assert all(line["duration_ms"] == 20_000 and line["submitted_at"].startswith("2024-05-01T12:") for line in lines)
    assert len({line["rater"] for line in lines}) == 3 and lines[0]["rubric_version"] == 1
    table = pq.read_table(tmp_path / "judgments.parquet")
    assert json.loads(table.column("answers")[0].as_py()) == lines[0]["answers"]
    again = export_judgments(session, project, tmp_path / "again", formats=("jsonl", "parquet"))
    assert [d.sha256 for d in again.files] == [d.sha256 for d in summary.files]
    assert session.query(Item).count() == 4


def test_parquet_row_groups_do_not_depend_on_how_rows_arrive(tmp_path):
    from workbench.export.writers import ParquetWriter

    schema = pa.schema([pa.field("x", pa.int64())])
    digests = []
    for name, chunks in (
        ("one", [list(range(25))]),
        ("many", [list(range(0, 7)), list(range(7, 19)), list(range(19, 25))]),
    ):
        writer = ParquetWriter(tmp_path / name, tmp_path / f"{name}.tmp", schema, batch_rows=10)
        for chunk in chunks:
            writer.write_columns({"x": chunk})
        digests.append(writer.close().sha256)
        assert [pq.ParquetFile(tmp_path / f"{name}.tmp").metadata.row_group(i).num_rows for i in range(3)] == [
            10,
            10,
            5,
        ]
    assert digests[0] == digests[1]
