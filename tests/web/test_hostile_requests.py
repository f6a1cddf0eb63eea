"""Hostile input over HTTP, on every path it can take in: form fields, query strings, path
segments, JSON bodies, JSON Lines, CSV and Parquet uploads. Each is refused with a 400 or
422 naming the field, never a 500, and nothing is stored. Runs on SQLite, and on
PostgreSQL under WORKBENCH_TEST_DATABASE_URL (where NUL used to reach the driver).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.factories import make_items, make_project
from workbench.errors import ImportInvalid
from workbench.models import Item, Judgment
from workbench.services.import_formats import parquet_rows
from workbench.services.imports import import_rows
from workbench.services.users import create_api_token, create_user

BAD = [("\x00", "NUL"), ("\ud800", "surrogate")]


def _count(app, model) -> int:
    with app.extensions["workbench"].sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def project_id(app):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=2)
        make_items(session, project, 3)
        session.commit()
        return project.id


# A lone surrogate cannot be percent-encoded as UTF-8: a client can only send the bytes it
# would encode to (CESU-8), which werkzeug leaves as the literal text "%ED%A0%80" (forms,
# query strings) or reads as U+FFFD (paths). So forms, queries and paths are tested with NUL
# (refused, naming the field) and with those bytes (never a 500, never stored as a surrogate).
SURROGATE_BYTES = "%ED%A0%80"


def _rating_form(client, auth, project_id) -> dict[str, str]:
    import re

    page = client.get(f"/projects/{project_id}/rate").text
    return {
        "csrf_token": auth.csrf(),
        "lease_id": re.search(r'name="lease_id" value="(\d+)"', page).group(1),
        "idempotency_key": "k",
        "q.helpful.choice": "A",
        "q.helpful.strength": "1",
        "q.harmless.choice": "tie",
    }


def test_a_rationale_in_the_rating_form(client, auth, app, project_id):
    from urllib.parse import urlencode

    auth.login_as("rater")
    form = _rating_form(client, auth, project_id)
    refused = client.post(f"/projects/{project_id}/rate", data={**form, "rationale": "fine \x00 words"})
    assert refused.status_code == 400 and "rationale" in refused.text and "NUL" in refused.text
    assert _count(app, Judgment) == 0
    body = urlencode(form) + "&rationale=fine" + SURROGATE_BYTES + "words"
    sent = client.post(f"/projects/{project_id}/rate", data=body, content_type="application/x-www-form-urlencoded")
    assert sent.status_code in (200, 302, 303, 400, 422)
    with app.extensions["workbench"].sessionmaker() as session:
        for answers in session.scalars(select(Judgment.answers)):
            json.dumps(answers).encode("utf-8")  # storable text: no surrogate got through
            assert "\ud800" not in json.dumps(answers, ensure_ascii=False)


def test_query_strings_and_path_segments(client, auth, project_id):
    auth.login_as("researcher")
    query = client.get(f"/projects/{project_id}/disagreements", query_string={"rule": "any\x00"})
    assert query.status_code == 400 and "rule" in query.text and "NUL" in query.text
    path = client.get("/rubrics/pairwise%00helpful")
    assert path.status_code == 400 and "slug" in path.text and "NUL" in path.text
    for url in (
        f"/projects/{project_id}/disagreements?rule=any{SURROGATE_BYTES}",
        f"/rubrics/pairwise{SURROGATE_BYTES}helpful",
        f"/projects/{project_id}/export/count?judge={SURROGATE_BYTES}",
    ):
        assert client.get(url).status_code in (200, 400, 404, 422), url


def test_ids_beyond_the_integer_range_are_404_for_people_logged_in(client, auth, project_id):
    auth.login_as("admin")
    for huge in (2**31, 2**63, 10**30):
        for path in (
            f"/projects/{huge}",
            f"/projects/{huge}/rate",
            f"/projects/{project_id}/items/{huge}/adjudicate",
            f"/rubric-versions/{huge}",
        ):
            assert client.get(path).status_code == 404, path


@pytest.fixture
def researcher(app, project_id):
    with app.extensions["workbench"].sessionmaker() as session:
        user = create_user(session, "hostile-researcher@example.org", "researcher", None)
        token = create_api_token(session, user, "t")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("bad", "problem"), BAD)
def test_json_lines_and_csv_uploads(client, app, project_id, researcher, bad, problem):
    before = _count(app, Item)
    url = f"/api/v1/projects/{project_id}/items"
    row = {"id": "x1", "prompt": f"a {bad} b", "responses": [{"id": "a", "text": "r"}, {"id": "b", "text": "s"}]}
    lines = json.dumps(row).encode()  # json.dumps escapes both, as a client would send them
    ndjson = client.post(url, data=lines, headers={**researcher, "Content-Type": "application/x-ndjson"})
    assert ndjson.status_code in (400, 422), ndjson.text
    assert "prompt" in ndjson.text and problem in ndjson.text
    # CSV is bytes: a NUL byte, or the three bytes a lone surrogate would encode to (not UTF-8).
    cell = b"\x00" if bad == "\x00" else b"\xed\xa0\x80"
    csv = b"id,prompt,response_1,response_2\nx1,a " + cell + b" b,r,s\n"
    sent = client.post(url, data=csv, headers={**researcher, "Content-Type": "text/csv"})
    assert sent.status_code in (400, 422), sent.text
    assert ("NUL" in sent.text) if bad == "\x00" else ("UTF-8" in sent.text or "utf-8" in sent.text)
    assert _count(app, Item) == before


def test_parquet_cells_with_nul_or_bytes_that_are_not_utf8(session, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    project = make_project(session)
    path = tmp_path / "items.parquet"
    table = pa.table(
        {"id": ["x1", "x2"], "prompt": ["ok", "a\x00b"], "response_1": ["r", "r"], "response_2": ["s", "s"]}
    )
    pq.write_table(table, path)
    with pytest.raises(ImportInvalid) as caught:
        import_rows(session, project, parquet_rows(path))
    assert any("prompt" in e.location and "NUL" in e.message for e in caught.value.errors), caught.value.errors
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Item)) == 0
