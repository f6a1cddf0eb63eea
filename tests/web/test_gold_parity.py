"""Gold and live items cost the same: a submit on either, and the next item that follows,
run the same SQL statements in the same order and answer in the same shape, on the rater
API and on the rating page; and a honeypot never repeats a prompt the rater just judged.

Runs on SQLite, and on PostgreSQL under WORKBENCH_TEST_DATABASE_URL.
"""

from __future__ import annotations

import re
from collections import defaultdict
from contextlib import contextmanager

from sqlalchemy import event, select

from tests.factories import make_item, make_project
from workbench.models import Item, Lease
from workbench.services.users import create_api_token, create_user

ANSWERS = {"helpful": {"choice": "A", "strength": 1}, "harmless": {"choice": "tie"}}
GOLD = {"helpful": {"choice": "A", "strength": 1}}


def _db(app):
    return app.extensions["workbench"].sessionmaker()


@contextmanager
def statements(app):
    """The SQL statements run inside the block, reduced to their shape: parameters stay
    placeholders, and an expanded ``IN (?, ?, ?)`` list counts as one placeholder. The token's
    "last used" stamp is left out: it is written once a minute, whatever the item."""
    engine = app.extensions["workbench"].engine
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        shape = re.sub(r"\s+", " ", statement).strip()
        shape = re.sub(
            r"\((?:\s*(?:\?|%\([^)]*\)s|__\[[^]]*\])\s*,)+\s*(?:\?|%\([^)]*\)s|__\[[^]]*\])\s*\)", "(?)", shape
        )
        if not shape.startswith("UPDATE api_tokens SET last_used_at"):  # once a minute, whatever is served
            seen.append(shape)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _project(app, n_live=40, n_gold=40):
    with _db(app) as session:
        project = make_project(session, overlap_k=1, gold_rate=0.5, repeat_rate=0.0, gold_feedback=False)
        for _ in range(n_live):
            make_item(session, project)
        for _ in range(n_gold):
            make_item(session, project, is_gold=True, gold_answer=GOLD)
        rater = create_user(session, "parity@example.org", "rater", "correct horse battery")
        token = create_api_token(session, rater, "t")
        session.commit()
        return project.id, token


def _purpose(app, lease_id: int) -> str:
    with _db(app) as session:
        return session.scalar(select(Lease.purpose).where(Lease.id == lease_id)).value


def test_gold_and_live_run_the_same_statements_on_the_rater_api(app):
    project_id, token = _project(app)
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    nexts, submits, bodies = defaultdict(set), defaultdict(set), defaultdict(set)
    for n in range(30):
        with statements(app) as taken:
            task = client.get(f"/api/v1/projects/{project_id}/next", headers=headers)
        assert task.status_code == 200
        lease_id = task.get_json()["lease_id"]
        purpose = _purpose(app, lease_id)
        if n:  # the first next of all reads what every later one finds already there
            nexts[purpose].add(tuple(taken))
        with statements(app) as written:
            done = client.post(
                f"/api/v1/leases/{lease_id}/judgment",
                json={"answers": ANSWERS, "idempotency_key": f"k{n}"},
                headers=headers,
            )
        assert done.status_code == 201
        submits[purpose].add(tuple(written))
        bodies[purpose].add((tuple(sorted(task.get_json())), tuple(sorted(done.get_json()))))
    assert set(nexts) == {"gold", "live"} and set(submits) == {"gold", "live"}
    assert len(submits["live"]) == 1 and submits["gold"] == submits["live"]
    assert len(nexts["live"]) == 1 and nexts["gold"] == nexts["live"]
    assert bodies["gold"] == bodies["live"]


def test_gold_and_live_run_the_same_statements_on_the_rating_page(app, client, auth):
    project_id, _ = _project(app)
    auth.login("parity@example.org")
    page = client.get(f"/projects/{project_id}/rate").text
    runs = defaultdict(set)
    for n in range(30):
        lease_id = int(re.search(r'name="lease_id" value="(\d+)"', page).group(1))
        purpose = _purpose(app, lease_id)
        form = {
            "csrf_token": auth.csrf(),
            "lease_id": lease_id,
            "idempotency_key": f"page-{n}",
            "q.helpful.choice": "A",
            "q.helpful.strength": "1",
            "q.harmless.choice": "tie",
        }
        with statements(app) as taken:
            answer = client.post(f"/projects/{project_id}/rate", data=form, headers={"HX-Request": "true"})
        assert answer.status_code == 200 and "Saved." in answer.text
        page = answer.text
        runs[purpose].add(tuple(taken))
    assert set(runs) == {"gold", "live"}
    assert len(runs["live"]) == 1 and runs["gold"] == runs["live"]


def test_a_honeypot_never_shows_a_prompt_judged_in_the_last_n_items(app):
    """Every gold item repeats a live item's prompt; served in any order, none comes within
    ``GOLD_PROMPT_GAP`` items of the rater's judgment on the same prompt."""
    gap = app.config["GOLD_PROMPT_GAP"]
    assert gap == 20
    app.config["GOLD_PROMPT_GAP"] = gap = 6
    with _db(app) as session:
        project = make_project(session, overlap_k=1, gold_rate=0.3, repeat_rate=0.0)
        for n in range(40):
            make_item(session, project, prompt=f"Shared prompt {n}?")
            make_item(session, project, prompt=f"Shared prompt {n}?", is_gold=True, gold_answer=GOLD)
        rater = create_user(session, "gap@example.org", "rater", "correct horse battery")
        token = create_api_token(session, rater, "t")
        session.commit()
        project_id = project.id
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    served = []
    while (task := client.get(f"/api/v1/projects/{project_id}/next", headers=headers)).status_code == 200:
        body = task.get_json()
        served.append((_purpose(app, body["lease_id"]), body["prompt"]))
        key = f"g{len(served)}"
        client.post(
            f"/api/v1/leases/{body['lease_id']}/judgment",
            json={"answers": ANSWERS, "idempotency_key": key},
            headers=headers,
        )
    golds = [n for n, (purpose, _) in enumerate(served) if purpose == "gold"]
    assert len(golds) >= 8  # the gap held back some gold items, not all of them
    for n in golds:
        recent = [prompt for _, prompt in served[max(0, n - gap) : n]]
        assert served[n][1] not in recent, (n, served[n][1])
    with _db(app) as session:
        assert session.scalar(select(Item.id).where(Item.project_id == project_id).limit(1)) is not None
