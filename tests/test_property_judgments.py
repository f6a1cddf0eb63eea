"""Property tests: any answers, against any shipped rubric, are accepted or refused with
located errors; through the API, any JSON body gets a 2xx or a 4xx, never a 500."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_items, make_project
from workbench.errors import JudgmentInvalid
from workbench.paths import resource_dir
from workbench.rubric import load_rubric_file, normalize_answers, validate_judgment
from workbench.services.users import create_api_token, create_user

RUBRICS = sorted(p for p in Path(resource_dir("rubrics")).glob("*.yaml"))
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _answer_like(document):
    """Answers shaped like the rubric's, with any value in any place."""
    keys = st.sampled_from([q["id"] for q in document["questions"]] + ["unknown", ""])
    near = st.fixed_dictionaries(
        {},
        optional={
            "choice": st.sampled_from(["A", "B", "tie", "C", "", None]),
            "strength": st.integers(-2, 6) | st.text(max_size=3),
            "both_bad": st.booleans() | st.none(),
            "A": st.integers(-2, 12),
            "B": st.integers(-2, 12),
        },
    )
    return st.dictionaries(keys, near | JSON_VALUES, max_size=6)


@pytest.mark.parametrize("path", RUBRICS, ids=[p.stem for p in RUBRICS])
def test_validation_accepts_or_refuses_with_locations(path):
    document = load_rubric_file(path).data

    @settings(max_examples=150, deadline=None)
    @given(_answer_like(document) | JSON_VALUES)
    def check(answers):
        try:
            validate_judgment(document, normalize_answers(answers))
        except JudgmentInvalid as exc:
            assert exc.errors, "a refusal names what is wrong"
            assert all(isinstance(e.location, str) and e.message for e in exc.errors)

    check()


_keys = itertools.count(1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=JSON_VALUES
    | st.fixed_dictionaries({"answers": JSON_VALUES, "idempotency_key": JSON_VALUES})
    | st.binary(max_size=40)
)
def test_api_submit_never_fails_with_a_server_error(client, app, body):
    with app.extensions["workbench"].sessionmaker() as session:
        if not hasattr(app, "_property_token"):
            project = make_project(session, overlap_k=1000)
            make_items(session, project, 1)
            app._property_token = create_api_token(session, create_user(session, "prop@example.org", "rater", None))
            app._property_project = project.id
            session.commit()
    headers = {"Authorization": f"Bearer {app._property_token}"}
    task = client.get(f"/api/v1/projects/{app._property_project}/next", headers=headers)
    assert task.status_code in (200, 204)
    lease_id = task.get_json()["lease_id"] if task.status_code == 200 else 1
    data = body if isinstance(body, bytes) else json.dumps(body)
    response = client.post(
        f"/api/v1/leases/{lease_id}/judgment", data=data, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code in (200, 201, 400, 404, 409, 422), response.text
    assert response.is_json and "error" in response.get_json() or response.status_code in (200, 201)
