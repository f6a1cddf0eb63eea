"""Blind by construction: nothing a rater (or an adjudicator) receives names a model or an
external id, and the ids a rater sees carry no order that tells gold from live."""

from __future__ import annotations

import re

from tests.factories import make_item, make_project
from workbench.services.adjudication import record_adjudication
from workbench.services.spot_checks import review_spot_check, sample_spot_checks, spot_check_queue
from workbench.services.users import create_api_token, create_user

PLANTED = "MODELX"  # in every external id and model name


def _db(app):
    return app.extensions["workbench"].sessionmaker()


def _csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)


def test_raters_and_adjudicators_never_see_external_ids_or_models(app):
    with _db(app) as session:
        project = make_project(session, overlap_k=1, gold_rate=0.3, gold_feedback=True)
        for n in range(6):
            item = make_item(session, project, external_id=f"vicuna-q{n}-{PLANTED}-gpt35-vs-{PLANTED}-gpt4")
            item.responses[0].model, item.responses[1].model = f"{PLANTED}-a", f"{PLANTED}-b"
        for n in range(3):
            make_item(
                session,
                project,
                external_id=f"zz-gold-{n}-{PLANTED}",
                is_gold=True,
                gold_answer={"helpful": {"choice": "A"}},
                gold_rationale="Because A.",
            )
        rater = create_user(session, "blind-rater@example.org", "rater", "correct horse battery")
        create_user(session, "blind-lead@example.org", "researcher", "correct horse battery")
        token = create_api_token(session, rater, "t")
        session.commit()
        project_id = project.id
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    seen, ids = [], []
    while (task := client.get(f"/api/v1/projects/{project_id}/next", headers=headers)).status_code == 200:
        body = task.get_json()
        seen.append(task.text)
        ids.append(body["item_id"])
        answers = {"helpful": {"choice": "B", "strength": 1}, "harmless": {"choice": "tie"}}
        submitted = client.post(
            f"/api/v1/leases/{body['lease_id']}/judgment",
            json={"answers": answers, "idempotency_key": f"k{len(ids)}"},
            headers=headers,
        )
        assert submitted.status_code == 201, submitted.text
        seen.append(submitted.text)
    assert len(ids) >= 6 and all(re.fullmatch(r"i-[0-9a-f]{16}", i) for i in ids)
    with _db(app) as session:
        from workbench.models import Item, Judgment, Project, User

        project = session.get(Project, project_id)
        lead_user = session.query(User).filter_by(email="blind-lead@example.org").one()
        judged = session.query(Judgment).join(Item).filter(Item.is_gold.is_(False)).first()
        record_adjudication(
            session, project, judged.item_id, "helpful", {"choice": "A", "strength": 2}, "Think again.", lead_user
        )
        sample_spot_checks(session, project, per_rater=2, seed=1)
        for pending in spot_check_queue(session, project).pending:
            review_spot_check(session, project, pending.check.id, False, "Not quite.", lead_user, "helpful")
        session.commit()
        adjudicated_item = judged.item_id
    assert (
        client.post(
            "/login",
            data={"email": "blind-rater@example.org", "password": "correct horse battery", "csrf_token": _csrf(client)},
        ).status_code
        == 302
    )
    for path in (
        "/",
        f"/projects/{project_id}",
        f"/projects/{project_id}/rate",
        f"/projects/{project_id}/me",
        f"/projects/{project_id}/feedback",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        seen.append(page.text)
    everything = "\n".join(seen)
    assert "Think again." in everything and "Not quite." in everything  # the feedback was really crawled
    assert PLANTED not in everything and "vicuna-q" not in everything and "zz-gold" not in everything
    staff = app.test_client()
    staff.post(
        "/login",
        data={"email": "blind-lead@example.org", "password": "correct horse battery", "csrf_token": _csrf(staff)},
    )
    adjudication = staff.get(f"/projects/{project_id}/items/{adjudicated_item}/adjudicate")
    assert adjudication.status_code == 200
    assert PLANTED not in adjudication.text and "vicuna-q" not in adjudication.text


def test_item_refs_are_stable_keyed_and_without_order():
    from workbench.services.pseudonyms import item_token

    refs = [item_token("key", 1, n) for n in range(1, 200)]
    assert refs == [item_token("key", 1, n) for n in range(1, 200)]  # stable
    assert len(set(refs)) == len(refs)
    assert item_token("other key", 1, 5) != refs[4] and item_token("key", 2, 5) != refs[4]
    ascending = sum(a < b for a, b in zip(refs, refs[1:], strict=False))
    assert 60 < ascending < 140  # sorting by ref is no better than chance at recovering the id order
