"""Uploads, the item browser and the reports queue through the test client: roles, partials,
refused files (422 naming line and field, nothing stored), the size limit (413) and Resolve."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from tests.factories import make_item, make_project
from tests.services.test_item_browser import flag
from tests.services.test_quality_loop import judge, pair
from workbench.models import Item, ItemFlag, RepeatJudgment


def item_row(n, **over):
    row = {"id": f"up{n}", "prompt": f"Uploaded question {n}?"}
    row["responses"] = [{"model": "m-1", "text": "One."}, {"model": "m-2", "text": "Two."}]
    row.update(over)
    return json.dumps(row) + "\n"


@pytest.fixture
def data(app, auth):
    r1, r2 = auth.create("rater"), auth.create("rater")
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=2)
        items = [make_item(session, project, external_id=f"seed-{n}") for n in range(2)]
        judge(session, project, items[0], r1, pair("A", 2, rationale="A is right."))
        judge(session, project, items[0], r2, pair("B", 1))
        flag(session, project, items[1], r1, "broken", "Response A is empty")
        session.commit()
        return project.id, [i.id for i in items], r1, r2


def count_items(app, project_id) -> int:
    with app.extensions["workbench"].sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project_id))


def upload(client, auth, project_id, body: bytes, name="items.jsonl", skip=False, kind="items", htmx=False):
    data = {"csrf_token": auth.csrf(), f"{kind}_file": (io.BytesIO(body), name)}
    if skip:
        data["skip_invalid"] = "1"
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        f"/projects/{project_id}/uploads/{kind}", data=data, content_type="multipart/form-data", headers=headers
    )


PAGES = ["/projects/{p}/uploads", "/projects/{p}/items", "/projects/{p}/items/{i}", "/projects/{p}/flags"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_and_partials(client, auth, data, path):
    auth.login_as("admin")
    url = path.format(p=data[0], i=data[1][0])
    full = client.get(url)
    assert full.status_code == 200 and "<html" in full.text and "HX-Request" in full.headers["Vary"]
    partial = client.get(url, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text


@pytest.mark.parametrize("path", PAGES)
def test_raters_are_refused_everything(client, auth, data, path):
    auth.login_as("rater")
    assert client.get(path.format(p=data[0], i=data[1][0])).status_code == 403
    assert upload(client, auth, data[0], item_row(1).encode()).status_code == 403
    assert (
        client.post(f"/projects/{data[0]}/items/{data[1][1]}/resolve", data={"csrf_token": auth.csrf()}).status_code
        == 403
    )
    assert count_items(client.application, data[0]) == 2


def test_authors_browse_but_do_not_upload(client, auth, data):
    auth.login_as("author")
    assert client.get(f"/projects/{data[0]}/items").status_code == 200
    assert client.get(f"/projects/{data[0]}/uploads").status_code == 403
    dashboard = client.get(f"/projects/{data[0]}").text
    assert ">Items</a>" in dashboard and ">Reports</a>" in dashboard and ">Uploads</a>" not in dashboard


def test_the_dashboard_links_researchers_to_all_three(client, auth, data):
    auth.login_as("researcher")
    dashboard = client.get(f"/projects/{data[0]}").text
    for target in ("items", "flags", "uploads"):
        assert f'href="/projects/{data[0]}/{target}"' in dashboard


def test_a_bad_file_is_refused_with_lines_and_fields_then_a_good_one_imports(client, auth, app, data):
    project_id = data[0]
    auth.login_as("researcher")
    bad = (item_row(1) + item_row(2, prompt=7) + item_row(3, responses=[])).encode()
    refused = upload(client, auth, project_id, bad, htmx=True)
    assert refused.status_code == 422 and "<html" not in refused.text
    assert "line 2: prompt: " in refused.text and "line 3: responses: " in refused.text
    assert "nothing was imported" in refused.text
    assert count_items(app, project_id) == 2
    page = upload(client, auth, project_id, bad)  # without JavaScript: the whole page, same answer
    assert page.status_code == 422 and "<html" in page.text and "line 2: prompt: " in page.text
    kept = upload(client, auth, project_id, bad, skip=True)
    assert kept.status_code == 200 and "Imported 1 item" in kept.text and "line 2: prompt: " in kept.text
    assert count_items(app, project_id) == 3
    again = upload(client, auth, project_id, (item_row(1) + item_row(4)).encode())
    assert again.status_code == 200 and "Imported 1 item; 1 already present" in again.text
    assert "<code>up1</code>" in again.text
    assert count_items(app, project_id) == 4


@pytest.mark.parametrize(
    ("value", "problem"), [("a\x00b", "NUL"), ("a\ud800b", "surrogate")], ids=["nul", "lone-surrogate"]
)
@pytest.mark.parametrize("kind", ["items", "judgments"])
def test_hostile_strings_in_a_file_are_a_422_naming_the_field(client, auth, app, data, value, problem, kind):
    auth.login_as("admin")
    if kind == "items":
        body = item_row(1) + item_row(2, responses=[{"text": "fine"}, {"text": value}])
        field = "line 2: responses/1/text: "
    else:
        answers = {"helpful": {"choice": "A", "strength": 1}, "harmless": {"choice": "tie"}, "rationale": value}
        body = json.dumps({"item_id": "seed-0", "rater": "ann", "answers": answers}) + "\n"
        field = "line 1: answers/rationale: "
    response = upload(client, auth, data[0], body.encode(), kind=kind)
    assert response.status_code == 422
    assert field in response.text and problem in response.text
    assert count_items(app, data[0]) == 2


def test_a_nul_in_a_csv_cell_is_a_422_naming_the_column(client, auth, app, data):
    auth.login_as("admin")
    body = b"id,prompt,response_1,response_2\nc1,Fine?,One,Two\nc2,Bad\x00cell,One,Two\n"
    response = upload(client, auth, data[0], body, name="items.csv")
    assert response.status_code == 422 and "line 3: prompt: contains a NUL character" in response.text
    assert count_items(app, data[0]) == 2


def test_repeated_judgment_rows_follow_the_chosen_policy(client, auth, app, data):
    auth.login_as("admin")
    answers = {"helpful": {"choice": "A", "strength": 1}, "harmless": {"choice": "tie"}}
    row = json.dumps({"item_id": "seed-1", "rater": "ann", "answers": answers}) + "\n"

    def send(repeats):
        body = {"csrf_token": auth.csrf(), "judgments_file": (io.BytesIO((row * 2).encode()), "j.jsonl")}
        if repeats:
            body["repeats"] = repeats
        return client.post(f"/projects/{data[0]}/uploads/judgments", data=body, content_type="multipart/form-data")

    refused = send(None)
    assert refused.status_code == 422 and "line 2: rater: " in refused.text
    assert send("bogus").status_code == 422
    stored = send("as-repeats")
    assert stored.status_code == 200 and "Imported 1 judgment;" in stored.text
    with app.extensions["workbench"].sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(RepeatJudgment)) == 1


def test_no_file_or_a_wrong_type_is_a_422(client, auth, data):
    auth.login_as("admin")
    none = client.post(f"/projects/{data[0]}/uploads/items", data={"csrf_token": auth.csrf()})
    assert none.status_code == 422 and "Items file: choose a file" in none.text
    wrong = upload(client, auth, data[0], b"{}", name="items.txt")
    assert wrong.status_code == 422 and "file: choose a .jsonl" in wrong.text


@pytest.mark.parametrize("size", [400 * 1024, 120 * 1024], ids=["announced", "found-while-copying"])
def test_a_file_over_the_limit_is_a_413_saying_the_limit(app, client, auth, data, size):
    # (Bodies stay under 500 KB: larger ones make the test client spool to an unclosed file.)
    app.config["UPLOAD_MAX_BYTES"] = 100 * 1024
    auth.login_as("admin")
    line = item_row(1).encode()
    big = line * (size // len(line))
    response = upload(client, auth, data[0], big)
    assert response.status_code == 413 and "upload limit of 100 KB" in response.text
    partial = upload(client, auth, data[0], big, htmx=True)
    assert partial.status_code == 413 and "upload limit of 100 KB" in partial.text and "<html" not in partial.text
    assert count_items(app, data[0]) == 2


def test_the_upload_limit_may_exceed_the_request_limit(app, client, auth, data):
    app.config.update(MAX_CONTENT_LENGTH=1024, UPLOAD_MAX_BYTES=1024 * 1024)
    auth.login_as("admin")
    body = "".join(item_row(n) for n in range(40)).encode()
    assert len(body) > 1024
    assert upload(client, auth, data[0], body).status_code == 200
    assert count_items(app, data[0]) == 42


def test_the_item_list_filters_and_reports_bad_filters(client, auth, data):
    auth.login_as("researcher")
    listed = client.get(f"/projects/{data[0]}/items?status=flagged").text
    assert 'id="item-list"' in listed and "seed-1" in listed and "seed-0" not in listed
    bad = client.get(f"/projects/{data[0]}/items?status=bogus")
    assert bad.status_code == 422 and "status: choose one of the listed statuses" in bad.text


def test_the_item_page_shows_pseudonymous_judgments_and_reports(client, auth, data):
    project_id, items, r1, r2 = data
    auth.login_as("researcher")
    page = client.get(f"/projects/{project_id}/items/{items[0]}").text
    assert "R1" in page and "R2" in page and "A is right." in page
    assert r1.email not in page and r1.name not in page
    flagged = client.get(f"/projects/{project_id}/items/{items[1]}").text
    assert "Response A is empty" in flagged and ">Resolve</button>" in flagged


def test_resolve_takes_the_item_off_the_queue(client, auth, app, data):
    project_id, items, _, _ = data
    auth.login_as("author")
    queue = client.get(f"/projects/{project_id}/flags").text
    assert 'id="flag-queue"' in queue and "Response A is empty" in queue
    htmx = client.post(
        f"/projects/{project_id}/items/{items[1]}/resolve",
        data={"csrf_token": auth.csrf()},
        headers={"HX-Request": "true"},
    )
    assert htmx.status_code == 200 and "<html" not in htmx.text and "No open skips or reports" in htmx.text
    assert 'id="flash"' in htmx.text and "Resolved 1 skip or report of the item." in htmx.text  # the live region
    plain = client.post(f"/projects/{project_id}/items/{items[1]}/resolve", data={"csrf_token": auth.csrf()})
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/projects/{project_id}/flags")
    with app.extensions["workbench"].sessionmaker() as session:
        assert session.scalar(select(ItemFlag.resolved_at)) is not None
    assert client.post(f"/projects/{project_id}/items/{items[1]}/resolve").status_code == 400  # no CSRF token
