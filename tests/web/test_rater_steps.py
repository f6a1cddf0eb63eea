"""The rater's steps around the task: instructions before the first item, "Saved." with an
Undo button in the persistent status region, undo with and without JavaScript."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.factories import make_items, make_project
from workbench.models import InstructionsSeen, Judgment, Lease

ANSWERS = {"q.helpful.choice": "A", "q.helpful.strength": "2", "q.harmless.choice": "tie"}


@pytest.fixture
def project(app):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=2)
        make_items(session, project, 3)
        session.commit()
        return project


@pytest.fixture
def hhh_project(app):
    """A project whose rubric has worked examples."""
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, rubric="pairwise-hhh", overlap_k=2)
        make_items(session, project, 3)
        session.commit()
        return project


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _task_fields(html: str) -> dict[str, str]:
    form = re.search(r'<form class="judgment.*?</form>', html, re.S).group(0)
    return {
        name: re.search(rf'name="{name}" value="([^"]*)"', form).group(1)
        for name in ("csrf_token", "lease_id", "idempotency_key")
    }


def _flash(html: str) -> str:
    return re.search(r'<div id="flash" role="status" aria-live="polite">(.*?)</div>', html, re.S).group(1)


@pytest.mark.rater_instructions
def test_instructions_come_once_before_the_first_item(client, auth, app, hhh_project):
    project = hhh_project
    rater = auth.login_as("rater")
    page = client.get(f"/projects/{project.id}/rate")
    assert page.status_code == 200
    assert "Start rating" in page.text and 'class="judgment' not in page.text
    assert "Capital of Australia?" in page.text  # a worked example of the rubric
    assert "Expected answer" in page.text
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Lease)) == 0  # no item reserved yet

    started = client.post(f"/projects/{project.id}/instructions", data={"csrf_token": auth.csrf()})
    assert started.status_code == 303 and started.headers["Location"] == f"/projects/{project.id}/rate"
    assert 'class="judgment' in client.get(f"/projects/{project.id}/rate").text
    # Remembered: a new session goes straight to the task; pressing again changes nothing.
    auth.logout()
    auth.login(rater.email)
    assert 'class="judgment' in client.get(f"/projects/{project.id}/rate").text
    assert client.post(f"/projects/{project.id}/instructions", data={"csrf_token": auth.csrf()}).status_code == 303
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(InstructionsSeen)) == 1


@pytest.mark.rater_instructions
def test_instructions_are_per_project(client, auth, app, hhh_project):
    project = hhh_project
    with _db(app) as session:
        other = make_project(session, rubric="pairwise-hhh", overlap_k=2)
        make_items(session, other, 1)
        session.commit()
    auth.login_as("rater")
    client.post(f"/projects/{project.id}/instructions", data={"csrf_token": auth.csrf()})
    assert "Start rating" in client.get(f"/projects/{other.id}/rate").text


def test_the_instructions_step_can_be_switched_off(client, auth, project):
    auth.login_as("rater")
    assert 'class="judgment' in client.get(f"/projects/{project.id}/rate").text


def _submit(client, project, html, headers=None):
    fields = _task_fields(html)
    return fields, client.post(f"/projects/{project.id}/rate", data={**fields, **ANSWERS}, headers=headers or {})


def test_saved_goes_to_the_live_region_with_an_undo_button_and_undo_gives_the_item_back(client, auth, app, project):
    auth.login_as("rater")
    fields, saved = _submit(client, project, client.get(f"/projects/{project.id}/rate").text, {"HX-Request": "true"})
    assert saved.status_code == 200
    # Out of band into #flash's content, never replacing the region itself.
    oob = re.search(r'<div hx-swap-oob="innerHTML:#flash">(.*?)</div>\s*$', saved.text, re.S).group(1)
    assert "Saved." in oob and ">Undo</button>" in oob
    assert f'name="lease_id" value="{fields["lease_id"]}"' in oob
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Judgment)) == 1

    undone = client.post(
        f"/projects/{project.id}/undo",
        data={"csrf_token": fields["csrf_token"], "lease_id": fields["lease_id"]},
        headers={"HX-Request": "true"},
    )
    assert undone.status_code == 200
    assert "Undone" in undone.text
    assert _task_fields(undone.text)["lease_id"] == fields["lease_id"]  # the same item again
    with _db(app) as session:
        assert session.scalar(select(func.count()).select_from(Judgment)) == 0

    # A second undo has nothing to take back.
    again = client.post(
        f"/projects/{project.id}/undo",
        data={"csrf_token": fields["csrf_token"], "lease_id": fields["lease_id"]},
        headers={"HX-Request": "true"},
    )
    assert again.status_code == 404


def test_without_javascript_saved_shows_after_the_redirect_and_undo_works(client, auth, app, project):
    auth.login_as("rater")
    fields, saved = _submit(client, project, client.get(f"/projects/{project.id}/rate").text)
    assert saved.status_code == 302
    page = client.get(saved.headers["Location"])
    flash = _flash(page.text)
    assert "Saved." in flash and ">Undo</button>" in flash
    assert "Saved." not in _flash(client.get(f"/projects/{project.id}/rate").text)  # shown once

    undone = client.post(
        f"/projects/{project.id}/undo", data={"csrf_token": fields["csrf_token"], "lease_id": fields["lease_id"]}
    )
    assert undone.status_code == 302
    page = client.get(undone.headers["Location"])
    assert "Undone" in _flash(page.text)
    assert _task_fields(page.text)["lease_id"] == fields["lease_id"]


def test_no_undo_button_when_undo_is_off(client, auth, app, project):
    app.config["UNDO_SECONDS"] = 0
    auth.login_as("rater")
    _, saved = _submit(client, project, client.get(f"/projects/{project.id}/rate").text, {"HX-Request": "true"})
    assert "Saved." in saved.text and ">Undo</button>" not in saved.text


def test_undo_needs_the_csrf_token(client, auth, project):
    auth.login_as("rater")
    fields, _ = _submit(client, project, client.get(f"/projects/{project.id}/rate").text, {"HX-Request": "true"})
    refused = client.post(f"/projects/{project.id}/undo", data={"lease_id": fields["lease_id"]})
    assert refused.status_code in (400, 403)
