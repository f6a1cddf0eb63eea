"""32 raters racing over 50 items with overlap 3: no item over its overlap, no double judgment.

Each rater is a thread with its own ``Session`` on one shared engine and its own ``User``;
each transaction is ``next_assignment`` + ``record_judgment`` + ``commit`` (and, as in the
web flow, also lease and judgment in two transactions), retried a bounded number of times
if the database reports a serialization failure, a deadlock or a lock timeout. Runs on
SQLite (a file, every transaction ``BEGIN IMMEDIATE``) and on PostgreSQL (``FOR NO KEY UPDATE
SKIP LOCKED``, falling back to waiting).

Safety (no item over 3, no (item, rater) twice) and liveness (the raters stop only when
all 150 judgments are in, so asking again afterwards finds nothing) are asserted on both.
On PostgreSQL a rater must not be told "nothing left" while another transaction holds the
lock on an item that still has room (the test at the end pins that down).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from tests.factories import PAIR_ANSWER, PAIRWISE_RUBRIC, load_shipped_rubric
from workbench.db import Base, make_engine
from workbench.models import Item, Judgment, Lease, Project, Response, User
from workbench.services.assignment import next_assignment
from workbench.services.judging import record_judgment
from workbench.services.projects import create_project
from workbench.services.users import create_user

N_RATERS = 32
N_ITEMS = 50
OVERLAP = 3
MAX_RETRIES = 25
TIME_LIMIT_S = 60  # per race; each takes a few seconds on 2 cores

# SQLSTATEs worth retrying: serialization failure, deadlock, lock not available.
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


def is_retryable(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower()


@dataclass
class RaceLog:
    retries: Counter = field(default_factory=Counter)
    judged: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)
    seconds: float = 0.0
    raced: int = 0  # judgments when every rater had been told "nothing left"
    drained: int = 0  # judgments found afterwards by asking again, one rater at a time


def setup(engine) -> tuple[int, list[int]]:
    with Session(engine, expire_on_commit=False) as session:
        load_shipped_rubric(session, PAIRWISE_RUBRIC)
        project = create_project(session, "race", PAIRWISE_RUBRIC, overlap_k=OVERLAP)
        for n in range(N_ITEMS):
            item = Item(project_id=project.id, external_id=f"race-{n}", prompt=f"prompt {n}", meta={})
            item.responses = [
                Response(position=p, external_id=str(p), model=f"m{p}", text=f"text {n}/{p}") for p in (0, 1)
            ]
            session.add(item)
        raters = [create_user(session, f"racer{n}@example.org", "rater", None) for n in range(N_RATERS)]
        session.commit()
        return project.id, [r.id for r in raters]


def rater_loop(
    engine, project_id: int, rater_id: int, split: bool, start: threading.Barrier, log: RaceLog, deadline: float
) -> None:
    """Work until the queue is empty; ``split`` commits the lease before judging (as the web does)."""

    def transaction(session, work):
        for attempt in range(MAX_RETRIES + 1):
            try:
                result = work()
                session.commit()
                return result
            except DBAPIError as exc:
                session.rollback()
                if not is_retryable(exc) or attempt == MAX_RETRIES:
                    raise
                log.retries[type(exc.orig).__name__ + ": " + str(exc.orig).splitlines()[0][:80]] += 1
                time.sleep(0.001 * (attempt + 1))
        raise AssertionError("unreachable")

    start.wait()
    with Session(engine, expire_on_commit=False) as session:
        project = session.get(Project, project_id)
        rater = session.get(User, rater_id)
        session.commit()

        def judge(task):
            return record_judgment(session, rater, task.lease_id, PAIR_ANSWER, f"race-{rater_id}-{task.item_id}")

        def assign_and_judge():
            task = next_assignment(session, project, rater)
            if task is not None:
                judge(task)
            return task

        while time.monotonic() < deadline:
            if split:
                task = transaction(session, lambda: next_assignment(session, project, rater))
                if task is not None:
                    transaction(session, lambda: judge(task))  # noqa: B023 - called right away
            else:
                task = transaction(session, assign_and_judge)
            if task is None:
                return
            log.judged[rater_id] += 1
        raise TimeoutError(f"rater {rater_id} still working after {TIME_LIMIT_S} s")


def assert_safe(engine) -> None:
    """No item above its overlap, no (item, rater) judged twice."""
    with Session(engine) as session:
        per_item = session.execute(select(Judgment.item_id, func.count()).group_by(Judgment.item_id)).all()
        pairs = session.execute(
            select(Judgment.item_id, Judgment.rater_id, func.count()).group_by(Judgment.item_id, Judgment.rater_id)
        ).all()
    assert max(n for _, n in per_item) <= OVERLAP, "an item went over its overlap"
    assert all(n == 1 for _, _, n in pairs), "an (item, rater) pair was judged twice"


def drain(engine, project_id: int, rater_ids: list[int]) -> int:
    """Ask every rater again, one at a time; return how many judgments that still found."""
    found = 0
    with Session(engine, expire_on_commit=False) as session:
        project = session.get(Project, project_id)
        for rater_id in rater_ids:
            rater = session.get(User, rater_id)
            while (task := next_assignment(session, project, rater)) is not None:
                record_judgment(session, rater, task.lease_id, PAIR_ANSWER, f"drain-{rater_id}-{task.item_id}")
                session.commit()
                found += 1
        session.commit()
    return found


def race(url: str, split: bool, **engine_kwargs) -> RaceLog:
    engine = make_engine(url, **engine_kwargs)
    try:
        Base.metadata.create_all(engine)
        project_id, rater_ids = setup(engine)
        log = RaceLog()
        start = threading.Barrier(N_RATERS)
        deadline = time.monotonic() + TIME_LIMIT_S

        def run(rater_id: int) -> None:
            try:
                rater_loop(engine, project_id, rater_id, split, start, log, deadline)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                log.errors.append((rater_id, exc))

        threads = [threading.Thread(target=run, args=(rid,), name=f"rater-{rid}") for rid in rater_ids]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIME_LIMIT_S + 30)
        log.seconds = time.perf_counter() - began
        assert not any(t.is_alive() for t in threads), "a rater thread hung"
        assert not log.errors, f"{len(log.errors)} rater(s) failed; first: {log.errors[0][1]!r}"

        log.raced = sum(log.judged.values())
        assert_safe(engine)
        log.drained = drain(engine, project_id, rater_ids)
        assert_safe(engine)
        with Session(engine) as session:
            per_item = dict(session.execute(select(Judgment.item_id, func.count()).group_by(Judgment.item_id)).all())
            open_leases = session.scalar(select(func.count()).select_from(Lease).where(Lease.completed_at.is_(None)))
        assert log.raced + log.drained == N_ITEMS * OVERLAP == 150
        assert len(per_item) == N_ITEMS and set(per_item.values()) == {OVERLAP}
        assert open_leases == 0
        return log
    finally:
        engine.dispose()


def summary(log: RaceLog) -> str:
    return (
        f"{log.raced} judgments by {len(log.judged)} raters in {log.seconds:.2f} s "
        f"(max {max(log.judged.values())} per rater), {log.drained} more found afterwards; "
        f"retries: {sum(log.retries.values())} {dict(log.retries) or ''}"
    )


SPLIT = pytest.mark.parametrize("split", [False, True], ids=["one-transaction", "lease-then-judge"])


@SPLIT
def test_race_on_sqlite(tmp_path, split):
    log = race(f"sqlite:///{tmp_path}/race.db", split)
    print(summary(log))  # shown with -s, or with a failure
    assert log.seconds < 30, summary(log)
    assert (log.raced, log.drained) == (150, 0), summary(log)


@pytest.fixture
def private_schema(postgres_url):
    """A schema of our own in the test database.

    The ``test`` database may be shared with other test runs, whose resets drop and
    recreate ``public``; a race of several seconds in ``public`` would lose its tables
    midway. A private schema (``search_path``) keeps the race to itself.
    """
    schema = f"race_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@SPLIT
def test_race_on_postgresql(postgres_url, private_schema, split):
    log = race(postgres_url, split, connect_args={"options": f"-csearch_path={private_schema}"})
    print(summary(log))  # shown with -s, or with a failure
    assert log.seconds < 30, summary(log)
    assert (log.raced, log.drained) == (150, 0), summary(log)


@pytest.mark.parametrize("holder", ["assigning", "submitting"])
def test_locked_item_with_room_is_not_hidden_on_postgresql(postgres_url, private_schema, holder):
    """Rater 1's transaction holds the only item (overlap 3); rater 2 asks for work meanwhile."""
    engine = make_engine(postgres_url, connect_args={"options": f"-csearch_path={private_schema}"})
    Base.metadata.create_all(engine)
    first_session = Session(engine, expire_on_commit=False)
    second_session = Session(engine, expire_on_commit=False)
    try:
        with Session(engine, expire_on_commit=False) as setup_session:
            load_shipped_rubric(setup_session, PAIRWISE_RUBRIC)
            project = create_project(setup_session, "held", PAIRWISE_RUBRIC, overlap_k=3)
            item = Item(project_id=project.id, external_id="only", prompt="p", meta={})
            item.responses = [Response(position=p, external_id=str(p), model="m", text=f"t{p}") for p in (0, 1)]
            setup_session.add(item)
            first = create_user(setup_session, "first@example.org", "rater", None)
            second = create_user(setup_session, "second@example.org", "rater", None)
            setup_session.commit()

        first_project, first_rater = first_session.get(Project, project.id), first_session.get(User, first.id)
        if holder == "assigning":  # rater 1 is being given the item (lease written, not committed)
            assert next_assignment(first_session, first_project, first_rater).item_id == item.id
        else:  # rater 1 leased it earlier and is submitting (judgment written, not committed)
            lease_id = next_assignment(first_session, first_project, first_rater).lease_id
            first_session.commit()
            record_judgment(first_session, first_rater, lease_id, PAIR_ANSWER, "in-flight")
            first_session.flush()
        # Rater 1 commits shortly; a fix may wait for that instead of skipping the item.
        timer = threading.Timer(0.5, first_session.commit)
        timer.start()
        second_session.execute(text("SET LOCAL lock_timeout = '5s'"))
        task = next_assignment(
            second_session, second_session.get(Project, project.id), second_session.get(User, second.id)
        )
        timer.join()
        assert task is not None and task.item_id == item.id, "told the queue is empty while the item has 2 places"
    finally:
        second_session.rollback()
        first_session.rollback()
        second_session.close()
        first_session.close()
        engine.dispose()
