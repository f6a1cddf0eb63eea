"""A worker killed with SIGKILL in the middle of a submit leaves no partial judgment, and a
retry with the same idempotency key then records it exactly once (gunicorn + PostgreSQL).

The submit is caught mid-transaction for real: another connection holds the item's row
lock, so the worker has written the judgment and waits to bump the item's counter when it
is killed.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select, text

from tests.factories import make_item, make_project
from workbench import migrate
from workbench.db import make_engine, make_sessionmaker
from workbench.models import Judgment, Lease
from workbench.services.users import create_api_token, create_user

ANSWERS = {"helpful": {"choice": "B", "strength": 2}, "harmless": {"choice": "tie"}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(port: int, method: str, path: str, token: str, body: dict | None = None, timeout: float = 30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    return response.status, (json.loads(data) if data else None)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def _wait_for(predicate, timeout: float = 30, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads gunicorn's workers from /proc")
def test_sigkill_mid_submit_leaves_nothing_and_the_retry_lands_once(postgres_url, tmp_path):
    migrate.upgrade(postgres_url)
    engine = make_engine(postgres_url)
    with make_sessionmaker(engine)() as session:
        project = make_project(session, overlap_k=1)
        item = make_item(session, project)
        token = create_api_token(session, create_user(session, "killed@example.org", "rater", None))
        session.commit()
        project_id, item_id = project.id, item.id
    port = _free_port()
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": postgres_url,
        "WORKBENCH_INSTANCE_PATH": str(tmp_path),
        "WORKBENCH_SECRET_KEY": "t",
    }
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed in finally
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workbench.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
            "--threads",
            "2",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    blocker = engine.connect()
    try:
        _wait_for(lambda: _health(port), what="the server")
        status, task = _call(port, "GET", f"/api/v1/projects/{project_id}/next", token)
        assert status == 200 and task["item_id"].startswith("i-")  # the one item, as an opaque ref
        submit = {"answers": ANSWERS, "idempotency_key": "kill-me"}
        path = f"/api/v1/leases/{task['lease_id']}/judgment"

        trans = blocker.begin()
        # FOR NO KEY UPDATE lets the judgment's foreign-key check through and stops the
        # counter update that follows it.
        blocker.execute(text("SELECT id FROM items WHERE id = :id FOR NO KEY UPDATE"), {"id": item_id})
        outcome: list = []
        thread = threading.Thread(target=lambda: outcome.append(_try_call(port, path, token, submit)))
        thread.start()
        _wait_for(lambda: _blocked_on_items(engine), what="the submit to wait on the item's lock")
        [worker] = _children(server.pid)
        os.kill(worker, signal.SIGKILL)
        thread.join(timeout=30)
        trans.rollback()
        assert outcome and outcome[0][0] != 201, "the killed request did not answer 201"

        with make_sessionmaker(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Judgment)) == 0, "a partial judgment survived"
            assert session.get(Lease, task["lease_id"]).completed_at is None

        _wait_for(
            lambda: _health(port) and _children(server.pid) and _children(server.pid) != [worker], what="a new worker"
        )
        assert _call(port, "POST", path, token, submit)[0] == 201
        assert _call(port, "POST", path, token, submit)[0] == 200
        with make_sessionmaker(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Judgment)) == 1
    finally:
        blocker.close()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=40)
        log.close()
        engine.dispose()


def _health(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _try_call(port, path, token, body):
    try:
        return _call(port, "POST", path, token, body, timeout=60)
    except (OSError, http.client.HTTPException) as exc:
        return (None, repr(exc))


def _blocked_on_items(engine) -> bool:
    with engine.connect() as conn:
        rows = (
            conn.execute(
                text(
                    "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            .scalars()
            .all()
        )
    return any("UPDATE items" in q for q in rows)
