"""Reading ahead and writing behind keep order, pass errors on, and release what they hold."""

from __future__ import annotations

import threading
from contextlib import closing

import pytest

from workbench.export.threads import WriteBehind, read_ahead


def test_read_ahead_yields_everything_in_order():
    assert list(read_ahead(iter(range(100)))) == list(range(100))


def test_read_ahead_raises_the_source_error_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("cursor broke")

    seen = []
    with pytest.raises(ValueError, match="cursor broke"):
        seen.extend(read_ahead(source()))
    assert seen == [1, 2]


def test_closing_read_ahead_early_closes_the_source_in_the_caller_thread():
    closed_in = []

    def source():
        try:
            yield from range(1000)
        finally:
            closed_in.append(threading.current_thread())

    with closing(read_ahead(source())) as items:
        assert next(items) == 0
    assert closed_in == [threading.current_thread()]
    assert not any(t.name == "export-read-ahead" for t in threading.enumerate())


def test_write_behind_runs_calls_in_order_and_raises_the_first_error():
    done = []
    behind = WriteBehind()
    for n in range(50):
        behind.submit(done.append, n)
    behind.finish()
    assert done == list(range(50))

    def fail(n):
        raise OSError(f"disk full at {n}")

    behind = WriteBehind()
    behind.submit(fail, 1)
    with pytest.raises(OSError, match="disk full at 1"):
        for n in range(10):
            behind.submit(done.append, 100 + n)
        behind.finish()
    assert 109 not in done  # calls after the error are skipped


def test_collection_paused_restores_the_collector_state():
    import gc

    from workbench.export.threads import collection_paused

    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()  # it was off before, so it stays off
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError
    assert gc.isenabled()


def test_a_read_ahead_cursor_is_closed_when_the_reader_stops_early(session):
    from sqlalchemy import select

    from tests.factories import make_item, make_project
    from workbench.export.queries import fetch_batches
    from workbench.models import Item

    project = make_project(session)
    for _ in range(5):
        make_item(session, project)
    for taken in (0, 1):
        batches = fetch_batches(session, select(Item.id).order_by(Item.id), 2)
        with closing(read_ahead(batches)) as ahead:
            for _ in range(taken):
                assert len(next(ahead)) == 2
        assert batches.cursor is None
    assert session.scalar(select(Item.id).order_by(Item.id.desc()).limit(1))  # the session still works
