"""An adjudicator's final answer takes the place of the raters' aggregate in the export."""

from __future__ import annotations

import json

from tests.factories import make_item, make_project, make_rater, make_user
from workbench.export import PREFERENCES_FILE, ExportOptions, export_preferences
from workbench.models import Lease
from workbench.services.adjudication import record_adjudication
from workbench.services.assignment import next_assignment
from workbench.services.judging import record_judgment


def _judge(session, project, rater, canonical: str, key: str):
    task = next_assignment(session, project, rater)
    swapped = session.get(Lease, task.lease_id).display_order == [1, 0]
    screen = {"A": "B", "B": "A"}[canonical] if swapped else canonical
    record_judgment(
        session,
        rater,
        task.lease_id,
        {"helpful": {"choice": screen, "strength": 1}, "harmless": {"choice": "tie"}},
        key,
    )


def _rows(path):
    return [json.loads(line) for line in (path / PREFERENCES_FILE).read_text().splitlines()]


def test_adjudicated_answer_overrides_the_majority_and_settles_a_split(session, tmp_path):
    project = make_project(session, overlap_k=3)
    items = {}
    for name, votes in (("majority", "AAB"), ("split", "AB")):
        # One item at a time, so each new rater's queue holds just this one.
        item = items[name] = make_item(session, project, external_id=name)
        item.responses[0].text, item.responses[1].text = f"first of {name}", f"second of {name}"
        for n, vote in enumerate(votes):
            _judge(session, project, make_rater(session), vote, f"{name}-{n}")
    majority, split = items["majority"], items["split"]
    plain = export_preferences(session, project, tmp_path / "plain", ExportOptions(prefer_adjudicated=False))
    rows = {r["item_id"]: r for r in _rows(tmp_path / "plain")}
    assert (rows["majority"]["chosen"], rows["majority"]["rejected"]) == ("first of majority", "second of majority")
    assert "split" not in rows and plain.dropped_no_majority == 1

    adjudicator = make_user(session, "researcher")
    record_adjudication(
        session, project, majority.id, "helpful", {"choice": "B", "strength": 2}, "B is correct.", adjudicator
    )
    record_adjudication(
        session, project, split.id, "helpful", {"choice": "A", "strength": 1}, "A answers it.", adjudicator
    )
    summary = export_preferences(session, project, tmp_path / "adjudicated")
    rows = {r["item_id"]: r for r in _rows(tmp_path / "adjudicated")}
    assert (rows["majority"]["chosen"], rows["majority"]["rejected"]) == ("second of majority", "first of majority")
    assert (rows["split"]["chosen"], rows["split"]["rejected"]) == ("first of split", "second of split")
    assert summary.versions[0].adjudicated == 2 and summary.dropped_no_majority == 0
