"""Importing items from JSON Lines: all rows or none, duplicates reported, gold rows kept."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests.factories import SINGLE_RUBRIC, make_project
from workbench.db import Base, make_engine
from workbench.errors import ImportInvalid
from workbench.models import Item, Response
from workbench.services.imports import ANALYZE_AFTER, import_items


def pair_row(external_id, prompt="What is 2 + 2?", **extra) -> dict:
    return {
        "id": external_id,
        "prompt": prompt,
        "responses": [
            {"id": f"{external_id}-a", "model": "model-a", "text": f"four ({external_id})"},
            {"id": f"{external_id}-b", "model": "model-b", "text": f"five ({external_id})", "metadata": {"t": 0.7}},
        ],
        **extra,
    }


def lines(*rows) -> list[str]:
    return [row if isinstance(row, str) else json.dumps(row) for row in rows]


def counts(session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Item)),
        session.scalar(select(func.count()).select_from(Response)),
    )


def locations(exc: ImportInvalid) -> list[str]:
    return [e.location for e in exc.errors]


@pytest.fixture
def pairwise(session):
    project = make_project(session)
    session.commit()
    return project


def test_good_file_imports_items_and_responses_in_order(session, pairwise):
    rows = [pair_row(f"q{n}", metadata={"source": "test", "n": n}) for n in (3, 1, 2)]
    report = import_items(session, pairwise, lines(*rows) + ["", "   "])
    session.commit()
    assert (report.imported, report.duplicates) == (3, 0)
    items = session.scalars(select(Item).where(Item.project_id == pairwise.id).order_by(Item.id)).all()
    assert [i.external_id for i in items] == ["q3", "q1", "q2"]  # file order
    first = items[0]
    assert first.prompt == "What is 2 + 2?"
    assert first.meta == {"source": "test", "n": 3}
    assert first.is_gold is False and first.gold_answer is None
    assert [(r.position, r.external_id, r.model, r.text) for r in first.responses] == [
        (0, "q3-a", "model-a", "four (q3)"),
        (1, "q3-b", "model-b", "five (q3)"),
    ]
    assert first.responses[1].meta == {"t": 0.7}
    assert counts(session) == (3, 6)


def test_response_ids_default_to_position_and_integer_ids_become_text(session, pairwise):
    row = {"id": 17, "prompt": "p", "responses": [{"text": "x"}, {"text": "y"}]}
    import_items(session, pairwise, lines(row))
    item = session.scalar(select(Item))
    assert item.external_id == "17"
    assert [r.external_id for r in item.responses] == ["0", "1"]
    assert [r.model for r in item.responses] == ["", ""]


def test_chat_message_prompts(session, pairwise):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Name a prime."},
    ]
    import_items(session, pairwise, lines(pair_row("chat", prompt=messages)))
    session.commit()
    session.expire_all()
    assert session.scalar(select(Item.prompt)) == messages


def test_single_response_project(session):
    project = make_project(session, SINGLE_RUBRIC)
    row = {"id": "s1", "prompt": "p", "responses": [{"text": "only", "model": "m"}]}
    assert import_items(session, project, lines(row)).imported == 1
    assert counts(session) == (1, 1)


BAD_ROWS = [
    pytest.param("{not json", "line 2", id="bad-json"),
    pytest.param(
        json.dumps({"id": "b", "prompt": "p", "responses": [{"text": "x"}, {"model": "m"}]}),
        "line 2: responses/1",
        id="missing-text",
    ),
    pytest.param(
        json.dumps({"id": "b", "prompt": "p", "responses": [{"text": "x"}]}),
        "line 2: responses",
        id="one-response-for-pairwise",
    ),
    pytest.param(
        json.dumps({"id": "b", "prompt": "p", "responses": [{"text": "x"}] * 3}),
        "line 2: responses",
        id="three-responses",
    ),
    pytest.param(json.dumps(pair_row("a")), "line 2: id", id="duplicate-id-in-file"),
    pytest.param(json.dumps(pair_row("b", prompt="")), "line 2: prompt", id="empty-prompt"),
    pytest.param(
        json.dumps(pair_row("b", prompt=[{"role": "robot", "content": "x"}])), "line 2: prompt", id="bad-message-role"
    ),
    pytest.param(json.dumps({**pair_row("b"), "colour": "red"}), "line 2: (row)", id="unknown-field"),
    pytest.param(
        json.dumps({"prompt": "p", "responses": [{"text": "x"}, {"text": "y"}]}), "line 2: (row)", id="missing-id"
    ),
    pytest.param("[1, 2]", "line 2: (row)", id="not-an-object"),
]


@pytest.mark.parametrize(("bad", "where"), BAD_ROWS)
def test_one_bad_row_aborts_everything(session, pairwise, bad, where):
    content = lines(pair_row("a"), bad, pair_row("c"))
    with pytest.raises(ImportInvalid) as info:
        import_items(session, pairwise, content)
    session.rollback()
    assert where in locations(info.value), str(info.value)
    assert all(loc.startswith("line 2") for loc in locations(info.value)), str(info.value)
    assert "nothing was imported" in info.value.summary
    assert counts(session) == (0, 0)


def test_wrong_response_count_for_single_project(session):
    project = make_project(session, SINGLE_RUBRIC)
    session.commit()
    with pytest.raises(ImportInvalid) as info:
        import_items(session, project, lines({"id": "x", "prompt": "p", "responses": [{"text": "a"}, {"text": "b"}]}))
    session.rollback()
    assert locations(info.value) == ["line 1: responses"]
    assert "1 response per item" in info.value.errors[0].message
    assert counts(session) == (0, 0)


def test_every_bad_line_is_listed(session, pairwise):
    content = lines(
        pair_row("ok1"),
        "oops",
        pair_row("ok2"),
        {"id": "n", "prompt": "p", "responses": [{"text": "x"}, {}]},
        pair_row("ok1"),
        "",
        {"id": "m", "prompt": "p", "responses": [{"text": "only one"}]},
    )
    with pytest.raises(ImportInvalid) as info:
        import_items(session, pairwise, content)
    session.rollback()
    assert locations(info.value) == ["line 2", "line 4: responses/1", "line 5: id", "line 7: responses"]
    assert "line 1" in info.value.errors[2].message  # where the id first appeared
    assert info.value.summary.startswith("4 problems in ")
    assert counts(session) == (0, 0)


def test_bad_file_leaves_earlier_imports_alone(session, pairwise):
    import_items(session, pairwise, lines(pair_row("a"), pair_row("b")))
    session.commit()
    with pytest.raises(ImportInvalid):
        import_items(session, pairwise, lines(pair_row("c"), "{"))
    session.rollback()
    assert counts(session) == (2, 4)


def test_empty_file_is_invalid(session, pairwise):
    with pytest.raises(ImportInvalid):
        import_items(session, pairwise, ["", "\n"])
    assert counts(session) == (0, 0)


def test_reimport_reports_duplicates_and_changes_nothing(session, pairwise):
    import_items(session, pairwise, lines(pair_row("a"), pair_row("b")))
    session.commit()
    before = session.execute(select(Item.id, Item.external_id, Item.prompt).order_by(Item.id)).all()
    changed = pair_row("a", prompt="A different prompt")
    report = import_items(session, pairwise, lines(changed, pair_row("b")))
    session.commit()
    assert (report.imported, report.duplicates, report.duplicate_ids) == (0, 2, ("a", "b"))
    session.expire_all()
    assert session.execute(select(Item.id, Item.external_id, Item.prompt).order_by(Item.id)).all() == before
    assert counts(session) == (2, 4)
    # A mixed file imports only the new rows.
    report = import_items(session, pairwise, lines(pair_row("b"), pair_row("c")))
    assert (report.imported, report.duplicates) == (1, 1)
    assert counts(session) == (3, 6)


def test_same_ids_in_another_project_are_not_duplicates(session, pairwise):
    other = make_project(session)
    import_items(session, pairwise, lines(pair_row("a")))
    assert import_items(session, other, lines(pair_row("a"))).imported == 1
    assert counts(session) == (2, 4)


def test_gold_rows(session, pairwise):
    gold = pair_row("g1", gold={"answer": {"helpful": {"choice": "A", "strength": 3}}, "rationale": "B is wrong."})
    gold_no_reason = pair_row("g2", gold={"answer": {"helpful": {"choice": "tie"}}})
    import_items(session, pairwise, lines(pair_row("plain"), gold, gold_no_reason))
    session.commit()
    session.expire_all()
    rows = {i.external_id: i for i in session.scalars(select(Item))}
    assert rows["plain"].is_gold is False and rows["plain"].gold_answer is None
    assert rows["g1"].is_gold is True
    assert rows["g1"].gold_answer == {"helpful": {"choice": "A", "strength": 3}}
    assert rows["g1"].gold_rationale == "B is wrong."
    assert rows["g2"].is_gold is True and rows["g2"].gold_rationale is None


def test_gold_without_answer_is_rejected(session, pairwise):
    with pytest.raises(ImportInvalid) as info:
        import_items(session, pairwise, lines(pair_row("g", gold={"rationale": "no answer"})))
    assert locations(info.value) == ["line 1: gold"]
    assert counts(session) == (0, 0)


def test_batches_keep_items_and_responses_together(session, pairwise):
    rows = [pair_row(f"r{n}") for n in range(7)]
    assert import_items(session, pairwise, lines(*rows), batch_size=3).imported == 7
    session.commit()
    for item in session.scalars(select(Item)):
        assert [r.text for r in item.responses] == [f"four ({item.external_id})", f"five ({item.external_id})"]


def test_overlong_id_is_reported_by_line(session, pairwise):
    with pytest.raises(ImportInvalid) as info:
        import_items(session, pairwise, lines(pair_row("a"), pair_row("x" * 201)))
    session.rollback()
    assert locations(info.value) == ["line 2: id", "line 2: responses/0/id", "line 2: responses/1/id"]
    assert counts(session) == (0, 0)


def test_a_large_import_refreshes_planner_statistics_on_postgresql(postgres_url):
    engine = make_engine(postgres_url)
    Base.metadata.create_all(engine)
    reltuples = text("SELECT reltuples FROM pg_class WHERE relname = 'items'")
    try:
        with Session(engine) as session:
            project = make_project(session)
            small = import_items(session, project, lines(*(pair_row(f"s{n}") for n in range(10))))
            assert small.imported == 10 and session.execute(reltuples).scalar() < 10  # never analyzed: -1
            report = import_items(session, project, lines(*(pair_row(f"q{n}") for n in range(ANALYZE_AFTER))))
            session.commit()
            assert report.imported == ANALYZE_AFTER
            assert session.execute(reltuples).scalar() == ANALYZE_AFTER + 10
    finally:
        engine.dispose()
