"""Input that cannot hurt: NUL, lone surrogates, deep JSON, huge ids, YAML alias bombs, file modes.

Each probe runs on the test database (SQLite, or PostgreSQL under WORKBENCH_TEST_DATABASE_URL):
the input is refused with a message naming the field, and nothing is stored.
"""

from __future__ import annotations

import io
import json
import os
import stat
import time

import pytest
from sqlalchemy import func, select

from tests.factories import make_items, make_project
from workbench.errors import ImportInvalid, RubricInvalid
from workbench.models import Item, Judgment
from workbench.render import markdown_to_html
from workbench.rubric.document import load_rubric_file
from workbench.rubric.editing import document_from_form
from workbench.services.import_formats import csv_rows, jsonl_rows
from workbench.services.imports import import_rows
from workbench.services.judgment_import import import_judgments
from workbench.services.users import create_api_token, create_user
from workbench.textsafety import MAX_JSON_DEPTH, json_depth_exceeds, unsafe_value

BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def _item_line(prompt: str = "p", text: str = "r", n: int = 1) -> bytes:
    row = {"id": f"i{n}", "prompt": prompt, "responses": [{"id": "a", "text": text}, {"id": "b", "text": "x"}]}
    return json.dumps(row).encode() + b"\n"


@pytest.mark.parametrize(
    ("prompt", "text", "field", "problem"),
    [("a\x00b", "r", "prompt", "NUL"), ("p", "bad \ud800 text", "responses/0/text", "surrogate")],
)
def test_items_with_nul_or_lone_surrogates_are_refused_naming_the_field(session, prompt, text, field, problem):
    project = make_project(session)
    data = _item_line() + _item_line(prompt, text, 2)
    with pytest.raises(ImportInvalid) as caught:
        import_rows(session, project, jsonl_rows(io.BytesIO(data)))
    assert any(e.location.endswith(field) and problem in e.message for e in caught.value.errors), caught.value.errors
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Item)) == 0


def test_a_csv_cell_with_nul_is_refused(session):
    project = make_project(session)
    data = b"id,prompt,response_1,response_2\ni1,ok,x,y\ni2,bad\x00cell,x,y\n"
    with pytest.raises(ImportInvalid) as caught:
        import_rows(session, project, csv_rows(io.BytesIO(data)), unit="row")
    assert any("NUL" in e.message for e in caught.value.errors)


def test_json_nested_100000_deep_is_a_row_error_not_a_crash(session):
    project = make_project(session)
    deep = b'{"id": "x", "prompt": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    with pytest.raises(ImportInvalid) as caught:
        import_rows(session, project, jsonl_rows(io.BytesIO(_item_line() + deep)))
    assert any(f"nested deeper than {MAX_JSON_DEPTH}" in e.message for e in caught.value.errors)


def test_judgment_imports_refuse_lone_surrogates(session):
    project = make_project(session)
    make_items(session, project, 1)
    external = session.scalar(select(Item.external_id))
    row = {
        "item_id": external,
        "rater": "r1",
        "answers": {"helpful": {"choice": "A", "strength": 1}, "rationale": "x\ud800"},
    }
    with pytest.raises(ImportInvalid) as caught:
        import_judgments(session, project, jsonl_rows(io.BytesIO(json.dumps(row).encode())))
    assert any("surrogate" in e.message for e in caught.value.errors)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Judgment)) == 0


def test_the_checks_themselves():
    assert unsafe_value({"a": [1, {"b": "ok"}]}) is None
    assert unsafe_value({"a": [1, {"b": "x\x00"}]}) == ("a/1/b", "contains a NUL character")
    assert unsafe_value({"k\udfff": 1})[1].startswith("has a key")
    assert json_depth_exceeds("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert not json_depth_exceeds('"' + "[" * 500 + '"')  # brackets inside a string do not nest
    assert not json_depth_exceeds('["\\"[[[[[["]' * 10)


def test_text_stored_before_the_checks_still_renders():
    assert markdown_to_html("a\ud800b").strip() == "<p>a\ufffdb</p>"


def test_a_yaml_alias_bomb_is_refused_fast_with_a_short_message(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    started = time.perf_counter()
    with pytest.raises(RubricInvalid) as caught:
        load_rubric_file(path)
    assert time.perf_counter() - started < 3
    message = str(caught.value) + " ".join(str(e) for e in caught.value.errors)
    assert "aliases" in message and "line 1" in message and len(message) < 500
    _, _, errors = document_from_form({"slug": "s"}, {"title": "t"}, ["id: q\nprompt: &x hi\nhelp: *x"])
    assert errors and "aliases" in errors[0].message and "line 2" in errors[0].message


def test_the_sqlite_file_and_its_folder_are_private(tmp_path):
    from workbench.db import make_engine

    url = f"sqlite:///{tmp_path}/fresh/w.db"
    make_engine(url).dispose()
    assert stat.S_IMODE(os.stat(tmp_path / "fresh").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "fresh" / "w.db").st_mode) == 0o600


def _token(app, role: str = "rater") -> dict[str, str]:
    with app.extensions["workbench"].sessionmaker() as session:
        user = create_user(session, f"{role}-hostile@example.org", role, None)
        token = create_api_token(session, user, "t")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_web_input_is_checked_before_any_view(client, app):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=2)
        make_items(session, project, 2)
        session.commit()
        project_id = project.id
    headers = _token(app)
    lease = client.get(f"/api/v1/projects/{project_id}/next", headers=headers).get_json()["lease_id"]
    submit = f"/api/v1/leases/{lease}/judgment"
    body = '{"answers": {"rationale": "a\\ud800"}, "idempotency_key": "k"}'
    bad = client.post(submit, data=body, headers={**headers, "Content-Type": "application/json"})
    assert (
        bad.status_code == 400
        and "answers/rationale" in bad.get_json()["error"]
        and "surrogate" in bad.get_json()["error"]
    )
    deep = "[" * 100_000 + "]" * 100_000
    nested = client.post(submit, data=deep, headers={**headers, "Content-Type": "application/json"})
    assert nested.status_code == 400 and "nested deeper" in nested.get_json()["error"]
    for huge in (2**31, 2**63, 10**30):
        assert client.get(f"/api/v1/projects/{huge}/next", headers=headers).status_code == 404
        assert (
            client.post(
                f"/api/v1/leases/{huge}/judgment", json={"answers": {}, "idempotency_key": "k"}, headers=headers
            ).status_code
            == 404
        )
    assert client.get(f"/projects/{2**40}").status_code in (302, 404)  # anonymous: login first, never a 500
    with app.extensions["workbench"].sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Judgment)) == 0
