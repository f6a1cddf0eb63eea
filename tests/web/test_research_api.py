"""The researcher API: tokens and roles, bulk import, paging, statistics, export stream, OpenAPI."""

from __future__ import annotations

import hashlib
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from tests.factories import make_item, make_project, make_user
from workbench.services.import_formats import text_lines_as_rows
from workbench.services.judgment_import import import_judgments
from workbench.services.users import create_api_token
from workbench.web.openapi import openapi_document


def _answer(choice, strength=1):
    pick = {"choice": choice} if choice == "tie" else {"choice": choice, "strength": strength}
    return {"helpful": pick, "harmless": {"choice": "tie"}}


@pytest.fixture
def world(app):
    """A pairwise project with 3 items judged by 3 external raters, and tokens per role."""
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=3, name="api")
        for name in ("i1", "i2", "i3"):
            make_item(session, project, external_id=name)
        votes = [
            (i, r, c)
            for i, picks in (("i1", "AAB"), ("i2", "BBB"), ("i3", "ABA"))
            for r, c in zip("xyz", picks, strict=True)
        ]
        rows = [json.dumps({"item_id": i, "rater": r, "answers": _answer(c)}) for i, r, c in votes]
        import_judgments(session, project, text_lines_as_rows(rows))
        tokens = {role: create_api_token(session, make_user(session, role)) for role in ("researcher", "rater")}
        session.commit()
        return {"project": project.id, "tokens": tokens}


def auth(world, role="researcher"):
    return {"Authorization": f"Bearer {world['tokens'][role]}"}


def test_token_and_role_are_required(client, world):
    url = f"/api/v1/projects/{world['project']}/judgments"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    response = client.get(url, headers=auth(world, "rater"))
    assert response.status_code == 403 and response.is_json


def test_judgments_are_paged_by_cursor(client, world):
    url = f"/api/v1/projects/{world['project']}/judgments"
    seen, cursor = [], 0
    while True:
        body = client.get(url, query_string={"after": cursor, "limit": 4}, headers=auth(world)).get_json()
        seen += body["judgments"]
        if body["next"] is None:
            break
        cursor = body["next"]
    assert len(seen) == 9 and len({j["id"] for j in seen}) == 9
    assert {j["rater"] for j in seen} == {j["rater"] for j in seen if j["rater"].startswith("r-")}
    assert [j["answers"]["helpful"]["choice"] for j in seen if j["item_id"] == "i2"] == ["B", "B", "B"]


def test_bulk_import_reports_per_row_and_is_idempotent(client, world):
    url = f"/api/v1/projects/{world['project']}/items"
    good = json.dumps({"id": "n1", "prompt": "p", "responses": [{"text": "a"}, {"text": "b"}]})
    body = (good + "\n{broken\n").encode()
    response = client.post(url, data=body, headers={**auth(world), "Content-Type": "application/x-ndjson"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {
            "location": "line 2",
            "message": "not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        }
    ]
    ok = client.post(
        url,
        data=body,
        query_string={"skip_invalid": "true"},
        headers={**auth(world), "Content-Type": "application/x-ndjson"},
    )
    assert ok.status_code == 200 and ok.get_json()["imported"] == 1 and ok.get_json()["rejected"][0]["line"] == 2
    again = client.post(url, data=good.encode(), headers={**auth(world), "Content-Type": "application/x-ndjson"})
    assert again.get_json()["duplicates"] == 1 and again.get_json()["imported"] == 0


def test_statistics_as_json(client, world):
    base = f"/api/v1/projects/{world['project']}"
    agreement = client.get(f"{base}/agreement", query_string={"bootstrap": 50}, headers=auth(world)).get_json()
    helpful = next(q for q in agreement["questions"] if q["question"] == "helpful")
    assert helpful["n_units"] == 3 and helpful["level"] == "nominal"
    raters = client.get(f"{base}/raters", headers=auth(world)).get_json()
    assert sorted(r["rater"] for r in raters["raters"]) == ["x", "y", "z"]
    board = client.get(f"{base}/leaderboard", query_string={"bootstrap": 20}, headers=auth(world)).get_json()
    assert board["question_id"] == "helpful" and set(board["humans"]["models"]) == {"model-a", "model-b"}
    assert client.get(f"{base}/agreement", query_string={"bootstrap": "x"}, headers=auth(world)).status_code == 422
    assert client.get("/api/v1/projects/999/agreement", headers=auth(world)).status_code == 404


def test_export_streams_the_file_with_its_hashes(client, world):
    url = f"/api/v1/projects/{world['project']}/export"
    response = client.get(url, query_string={"bootstrap": 10}, headers=auth(world))
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    data = response.get_data()
    assert hashlib.sha256(data).hexdigest() == response.headers["X-Content-SHA256"]
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert [line["item_id"] for line in lines] == ["i1", "i2", "i3"]
    assert [line["chosen"] for line in lines][1] == "Response B to prompt " + lines[1]["prompt"].split()[-1].rstrip(
        "?"
    ) + "."
    again = client.get(url, query_string={"bootstrap": 10}, headers=auth(world))
    assert again.get_data() == data and again.headers["X-Manifest-SHA256"] == response.headers["X-Manifest-SHA256"]
    parquet = client.get(url, query_string={"format": "parquet", "shape": "kto", "bootstrap": 10}, headers=auth(world))
    assert parquet.status_code == 200 and parquet.get_data()[:4] == b"PAR1"


def test_export_of_a_single_response_project(client, app, world):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, "response-quality", name="rated")
        for name in ("a", "b"):
            make_item(session, project, external_id=name, prompt="Same?")
        rows = [
            json.dumps({"item_id": i, "rater": "x", "answers": dict.fromkeys(QUALITY, v)})
            for i, v in (("a", 6), ("b", 2))
        ]
        import_judgments(session, project, text_lines_as_rows(rows))
        session.commit()
        url = f"/api/v1/projects/{project.id}/export"
    response = client.get(url, query_string={"pairs": "best-worst", "min_gap": 3}, headers=auth(world))
    assert response.status_code == 200
    (line,) = [json.loads(line) for line in response.get_data().splitlines()]
    assert (line["chosen_item_id"], line["rejected_item_id"], line["margin"]) == ("a", "b", 4.0)
    assert client.get(url, query_string={"min_gap": 5}, headers=auth(world)).get_data() == b""
    bad = client.get(url, query_string={"shape": "sft"}, headers=auth(world))
    assert bad.status_code == 422 and "threshold" in bad.text


QUALITY = ("accuracy", "coherence", "coverage", "overall")


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value):
    return value.encode() if isinstance(value, str) else (json.dumps(value) + "\n").encode()


schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_openapi_document(case, app, world):
    case.operation.schema.app = app  # the WSGI app of this test's database
    if case.path_parameters and "project_id" in case.path_parameters:
        case.path_parameters["project_id"] = world["project"]  # a project that exists and has data
    # Left out, for the import POST: positive/negative data checks (the body is a text file
    # whose rows follow item.schema.json, which an OpenAPI string schema cannot express,
    # and skip_invalid=true accepts bad rows by design).
    # negative_data_rejection is left out everywhere: unknown query parameters are ignored,
    # as web APIs usually do, and the project id is replaced by a real one above.
    # positive_data_acceptance too: a question id is a free string in the document, but
    # only the project's own questions are accepted (422 otherwise).
    excluded = [negative_data_rejection, positive_data_acceptance]
    case.call_and_validate(headers=auth(world), app=app, excluded_checks=excluded)
