"""Two runners of one judge on one project judge every item exactly once, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import make_project
from tests.judges.conftest import quality_items
from workbench.db import Base, make_engine
from workbench.judges.runner import RunOptions, run_judge
from workbench.models import JudgeVerdict, Lease
from workbench.services.judges import add_judge

N_ITEMS = 60


def _two_runners(engine_url: str, stub) -> tuple[list, Session, object]:
    setup = make_engine(engine_url)
    Base.metadata.create_all(setup)
    with Session(setup, expire_on_commit=False) as session:
        project = make_project(session, name="shared")
        quality_items(session, project, [(n % 3, (n + 1) % 3) for n in range(N_ITEMS)])
        judge = add_judge(session, "j", stub.url, "consistent+delay=0.03", concurrency=4)
        session.commit()
    summaries, errors = [], []

    def runner():
        engine = make_engine(engine_url)
        try:
            summaries.append(run_judge(engine, "shared", "j", RunOptions(both_orders=True, batch=4)))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    return summaries, setup, judge


def _check(summaries, engine, judge, stub):
    assert len(summaries) == 2
    assert sum(s.judged for s in summaries) == N_ITEMS
    assert all(s.judged > 0 for s in summaries), "both runners took a share"
    assert sum(s.skipped + s.failed for s in summaries) == 0
    with Session(engine) as session:
        rows = session.execute(select(JudgeVerdict.item_id, JudgeVerdict.swapped)).all()
        assert len(rows) == len(set(rows)) == 2 * N_ITEMS
        leases = session.scalar(
            select(func.count())
            .select_from(Lease)
            .where(Lease.rater_id == judge.user_id, Lease.completed_at.is_not(None))
        )
        assert leases == N_ITEMS
    asked = [(r["messages"][-1]["content"]) for r in stub.requests]
    assert len(asked) == len(set(asked)) == 2 * N_ITEMS  # no item asked twice in either order


def test_two_runners_share_a_project_on_sqlite(tmp_path, stub):
    url = f"sqlite:///{tmp_path}/shared.db"
    summaries, engine, judge = _two_runners(url, stub)
    try:
        _check(summaries, engine, judge, stub)
    finally:
        engine.dispose()


def test_two_runners_share_a_project_on_postgresql(postgres_url, stub):
    summaries, engine, judge = _two_runners(postgres_url, stub)
    try:
        _check(summaries, engine, judge, stub)
    finally:
        engine.dispose()
