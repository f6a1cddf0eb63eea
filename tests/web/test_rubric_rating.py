"""Raters can answer every shipped rubric on the rating page: every question has a control,
the form's fields make a valid judgment, and a missing conditional answer comes back inline."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.factories import make_items, make_project
from workbench.models import Judgment
from workbench.paths import resource_dir
from workbench.rubric import load_rubric_file

SHIPPED = sorted(p.stem for p in resource_dir("rubrics").glob("*.yaml"))


def form_answers(document: dict) -> dict[str, list[str]]:
    """One full, valid set of form fields for ``document``, as a browser would send them."""
    form: dict[str, list[str]] = {}
    for q in document["questions"]:
        key = f"q.{q['id']}"
        kind = q["type"]
        if kind == "pairwise":
            form[f"{key}.choice"] = ["A"]
            if "strength" in q:
                form[f"{key}.strength"] = [str(q["strength"]["max"])]
            if q.get("both_bad"):
                form[f"{key}.both_bad"] = ["true"]
        elif kind == "likert":
            if q.get("per_response"):
                form[f"{key}.A"], form[f"{key}.B"] = [str(q["max"])], [str(q["min"])]
            else:
                form[key] = [str(q["max"])]
        elif kind == "categorical":
            form[key] = [o["value"] for o in q["options"][:2]] if q.get("multiple") else [q["options"][0]["value"]]
        elif kind == "binary":
            form[key] = ["true"]
        else:
            form[key] = ["A reason long enough for any minimum length here."]
    return form


@pytest.mark.parametrize("slug", SHIPPED)
def test_every_shipped_rubric_can_be_answered(client, auth, app, slug):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, slug, overlap_k=1)
        make_items(session, project, 2)
        session.commit()
        project_id = project.id
    document = load_rubric_file(resource_dir("rubrics") / f"{slug}.yaml").data
    auth.login_as("rater")
    page = client.get(f"/projects/{project_id}/rate").text
    for q in document["questions"]:
        assert f'id="q-{q["id"]}"' in page
        if q.get("help") or q.get("examples"):
            assert re.search(rf'id="q-{q["id"]}".*?<details class="help">', page, re.S)
    hidden = {
        n: [re.search(rf'name="{n}" value="([^"]*)"', page).group(1)]
        for n in ("csrf_token", "lease_id", "idempotency_key")
    }
    answers = form_answers(document)
    saved = client.post(f"/projects/{project_id}/rate", data={**hidden, **answers}, headers={"HX-Request": "true"})
    assert saved.status_code == 200, saved.text[:2000]
    with app.extensions["workbench"].sessionmaker() as session:
        [judgment] = session.scalars(select(Judgment)).all()
        assert set(judgment.answers) == {q["id"] for q in document["questions"]}


def test_a_required_rationale_comes_back_inline(client, auth, app):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, "pairwise-hhh", overlap_k=1)
        make_items(session, project, 1)
        session.commit()
        project_id = project.id
    auth.login_as("rater")
    page = client.get(f"/projects/{project_id}/rate").text
    assert "Required when Helpful is at least 3 (much better)." in page
    assert "Both responses are bad" in page and "Expected answer" in page
    hidden = {
        n: re.search(rf'name="{n}" value="([^"]*)"', page).group(1)
        for n in ("csrf_token", "lease_id", "idempotency_key")
    }
    document = load_rubric_file(resource_dir("rubrics") / "pairwise-hhh.yaml").data
    answers = {k: v for k, v in form_answers(document).items() if k != "q.rationale"}
    response = client.post(f"/projects/{project_id}/rate", data={**hidden, **answers}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    error = re.search(r'id="err-rationale"[^>]*>(.*?)</p>', response.text, re.S).group(1)
    assert "Please answer this question; it is required when Helpful is at least 3 (much better)." in error
