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


OTHER_RATIONALE = "OTHERS-WORDS"  # another rater's rationale: never shown to this rater


def _rater_get_routes(app) -> list[str]:
    """Every GET route a rater may open (from the authorization matrix, which covers every route)."""
    from tests.web.test_authorization_matrix import MATRIX, PUBLIC, RATER

    return sorted(
        rule
        for (method, rule), allowed in MATRIX.items()
        if method == "GET"
        and (allowed == PUBLIC or RATER in allowed)
        and rule != "/api/v1/projects/<int:project_id>/next"
    )


def test_a_crawl_of_every_rater_page_after_adjudication_spot_checks_and_feedback_finds_nothing(app):
    """The rater judges on the page (htmx and plain posts, a skip, a diff), staff adjudicate,
    spot-check and promote; then every GET route a rater may open is fetched, with every id it
    takes, and no answer names a model, an external id or another rater's words."""
    from workbench.models import Item, Judgment, Lease, Project, RubricVersion, User
    from workbench.services.assignment import next_assignment
    from workbench.services.judging import record_judgment

    with _db(app) as session:
        project = make_project(session, overlap_k=2, gold_rate=0.3, gold_feedback=True)
        for n in range(8):
            item = make_item(session, project, external_id=f"vicuna-q{n}-{PLANTED}-gpt35-vs-{PLANTED}-gpt4")
            item.responses[0].model, item.responses[1].model = f"{PLANTED}-a", f"{PLANTED}-b"
            item.responses[0].external_id = f"resp-{PLANTED}-{n}"
        for n in range(3):
            gold = make_item(
                session,
                project,
                external_id=f"zz-gold-{n}-{PLANTED}",
                is_gold=True,
                gold_answer={"helpful": {"choice": "A"}},
                gold_rationale="Because A.",
            )
            gold.responses[0].model = f"{PLANTED}-gold"
        other = create_user(session, "other-blind@example.org", "rater", None)
        for n in range(4):
            task = next_assignment(session, project, other)
            answers = {"helpful": {"choice": "A", "strength": 3}, "harmless": {"choice": "tie"}}
            record_judgment(session, other, task.lease_id, {**answers, "rationale": OTHER_RATIONALE}, f"o{n}")
        rater = create_user(session, "crawl-rater@example.org", "rater", "correct horse battery")
        create_user(session, "crawl-lead@example.org", "researcher", "correct horse battery")
        session.commit()
        project_id, rater_id = project.id, rater.id
    client = app.test_client()
    client.post(
        "/login",
        data={"email": "crawl-rater@example.org", "password": "correct horse battery", "csrf_token": _csrf(client)},
    )
    seen = []
    page = client.get(f"/projects/{project_id}/rate").text
    for n in range(10):
        seen.append(page)
        found = re.search(r'name="lease_id" value="(\d+)"', page)
        if found is None:
            break
        lease_id = found.group(1)
        seen.append(client.get(f"/projects/{project_id}/leases/{lease_id}/diff").text)
        with client.session_transaction() as cookie:
            csrf = cookie["csrf"]
        if n == 3:
            skipped = client.post(
                f"/projects/{project_id}/skip",
                data={"csrf_token": csrf, "lease_id": lease_id, "reason": "unsure"},
                headers={"HX-Request": "true"},
            )
            page = skipped.text
            continue
        form = {
            "csrf_token": csrf,
            "lease_id": lease_id,
            "idempotency_key": f"crawl-{n}",
            "q.helpful.choice": "B",
            "q.helpful.strength": "2",
            "q.harmless.choice": "tie",
            "rationale": f"my own words {n}",
        }
        if n == 5:  # a plain post, then the page it redirects to
            assert client.post(f"/projects/{project_id}/rate", data=form).status_code in (302, 303)
            page = client.get(f"/projects/{project_id}/rate").text
        else:
            page = client.post(f"/projects/{project_id}/rate", data=form, headers={"HX-Request": "true"}).text
    with _db(app) as session:
        project = session.get(Project, project_id)
        lead = session.query(User).filter_by(email="crawl-lead@example.org").one()
        mine = session.query(Judgment).join(Item).filter(Judgment.rater_id == rater_id, Item.is_gold.is_(False))
        judged = mine.first()
        record_adjudication(
            session, project, judged.item_id, "helpful", {"choice": "A", "strength": 1}, "Adjudged.", lead
        )
        sample_spot_checks(session, project, per_rater=3, seed=2)
        for pending in spot_check_queue(session, project).pending:
            review_spot_check(session, project, pending.check.id, False, "Checked.", lead, "helpful")
        session.commit()
        ids = {
            "project_id": [project_id],
            "lease_id": [lease.id for lease in session.query(Lease).filter_by(rater_id=rater_id)],
            "slug": ["pairwise-helpful-harmless"],
            "number": [1],
            "version_id": [v.id for v in session.query(RubricVersion)],
            "secret": ["no-such-link"],
        }
    assert "Adjudged." in client.get(f"/projects/{project_id}/feedback").text  # the feedback is there to crawl
    for rule in _rater_get_routes(app):
        names = re.findall(r"<(?:int:)?(\w+)>", rule)
        combos = [{}]
        for name in names:
            combos = [{**c, name: v} for c in combos for v in ids[name]]
        for combo in combos:
            path = re.sub(r"<(?:int:)?(\w+)>", lambda m, c=combo: str(c[m.group(1)]), rule)
            for headers in ({}, {"HX-Request": "true"}):
                answer = client.get(path, headers=headers)
                assert answer.status_code < 500, path
                seen.append(answer.text)
    everything = "\n".join(seen)
    assert "Checked." in everything and "Because A." in everything  # feedback and gold feedback were crawled
    for secret in (PLANTED, "vicuna-q", "zz-gold", "resp-", OTHER_RATIONALE):
        assert secret not in everything, secret


def test_sorting_served_items_by_the_ref_a_rater_sees_does_not_separate_gold_from_live(app):
    """Gold items are imported after every live one, so their database ids are all higher;
    over 200 items served through the rater API, ranking by the ref the rater sees puts gold
    above live about half the time (AUC near 0.5), where ranking by database id puts it
    above every time."""
    from workbench.models import Item, Lease

    with _db(app) as session:
        project = make_project(session, overlap_k=1, gold_rate=0.25)
        for n in range(150):
            make_item(session, project, external_id=f"live-{n:04d}")
        for n in range(50):
            make_item(
                session, project, external_id=f"gold-{n:04d}", is_gold=True, gold_answer={"helpful": {"choice": "A"}}
            )
        rater = create_user(session, "order-rater@example.org", "rater", None)
        token = create_api_token(session, rater, "t")
        session.commit()
        project_id = project.id
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    served = []
    while (task := client.get(f"/api/v1/projects/{project_id}/next", headers=headers)).status_code == 200:
        body = task.get_json()
        served.append((body["item_id"], body["lease_id"]))
        answers = {"helpful": {"choice": "A", "strength": 1}, "harmless": {"choice": "tie"}}
        client.post(
            f"/api/v1/leases/{body['lease_id']}/judgment",
            json={"answers": answers, "idempotency_key": f"o{len(served)}"},
            headers=headers,
        )
    with _db(app) as session:
        facts = {
            lease_id: (item_id, gold)
            for lease_id, item_id, gold in session.query(Lease.id, Lease.item_id, Item.is_gold).join(Item)
        }
    gold = [(ref, facts[lease][0]) for ref, lease in served if facts[lease][1]]
    live = [(ref, facts[lease][0]) for ref, lease in served if not facts[lease][1]]
    assert len(gold) >= 30 and len(live) >= 120

    def auc(key) -> float:
        """Share of (gold, live) pairs in which the gold item ranks higher: Mann-Whitney's U / (n1 n2)."""
        return sum(key(g) > key(lv) for g in gold for lv in live) / (len(gold) * len(live))

    assert auc(lambda row: row[1]) == 1.0  # by database id, gold is always last
    assert 0.3 < auc(lambda row: row[0]) < 0.7  # by the ref: chance (sd about 0.05 here)
