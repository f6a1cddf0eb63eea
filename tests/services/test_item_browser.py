"""The item browser's search and status filters, one item in full, and the reports queue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import make_item, make_project, make_rater, make_user
from tests.services.test_quality_loop import judge, pair
from workbench.domain import FlagKind
from workbench.errors import InvalidInput, NotFound
from workbench.models import ItemFlag
from workbench.services.adjudication import record_adjudication
from workbench.services.flags import flag_queue, resolve_flags
from workbench.services.item_browser import ItemFilter, browse_items, item_detail, parse_filter
from workbench.services.judging import recount_judgments


def flag(session, project, item, rater, kind, reason, minute=0):
    row = ItemFlag(
        project_id=project.id,
        item_id=item.id,
        rater_id=rater.id,
        kind=FlagKind(kind),
        reason=reason,
        created_at=datetime(2026, 1, 1, 12, minute, tzinfo=UTC),
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def world(session):
    project = make_project(session, overlap_k=2)
    r1, r2 = make_rater(session), make_rater(session)
    items = {
        "complete": make_item(session, project, external_id="complete-1", prompt="Name the capital of Peru."),
        "open": make_item(session, project, external_id="open-1", prompt="What is 100% of 5_000?"),
        "split": make_item(session, project, external_id="split-1"),
        "gold": make_item(session, project, external_id="gold-1", is_gold=True, gold_answer=pair("A")),
        "honeypot": make_item(session, project, external_id="honeypot:open-1:truncated", is_gold=True),
        "flagged": make_item(session, project, external_id="flagged-1"),
    }
    items["complete"].responses[1].text = "Lima is the capital."
    items["open"].responses[0].model = "special-model"
    judge(session, project, items["complete"], r1, pair("A", 2, rationale="Plainly right."))
    judge(session, project, items["complete"], r2, pair("A", 1))
    judge(session, project, items["open"], r1, pair("B", 1))
    judge(session, project, items["split"], r1, pair("A", 3))
    judge(session, project, items["split"], r2, pair("B", 3))
    recount_judgments(session, project)
    flag(session, project, items["flagged"], r1, "broken", "Response B is empty", 1)
    flag(session, project, items["flagged"], r2, "skip", "Outside my expertise", 2)
    flag(session, project, items["open"], r2, "skip", "Prompt is unclear", 3)
    session.commit()
    return project, items, (r1, r2)


def ids(session, project, **f) -> set[str]:
    return {row.external_id for row in browse_items(session, project, ItemFilter(**f)).rows}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("", {"complete-1", "open-1", "split-1", "gold-1", "honeypot:open-1:truncated", "flagged-1"}),
        ("open", {"open-1", "flagged-1"}),
        ("complete", {"complete-1", "split-1"}),
        ("gold", {"gold-1", "honeypot:open-1:truncated"}),
        ("honeypot", {"honeypot:open-1:truncated"}),
        ("flagged", {"flagged-1", "open-1"}),
        ("disagreement", {"split-1"}),
        ("adjudicated", set()),
    ],
)
def test_each_status_filter(session, world, status, expected):
    project, _, _ = world
    assert ids(session, project, status=status) == expected


def test_search_matches_id_prompt_and_response_text_case_blind(session, world):
    project, _, _ = world
    assert ids(session, project, q="COMPLETE") == {"complete-1"}
    assert ids(session, project, q="capital of peru") == {"complete-1"}
    assert ids(session, project, q="lima is") == {"complete-1"}
    assert ids(session, project, q="open-1") == {"open-1", "honeypot:open-1:truncated"}
    # LIKE wildcards are matched literally.
    assert ids(session, project, q="100%") == {"open-1"}
    assert ids(session, project, q="5_0") == {"open-1"}
    assert ids(session, project, q="%") == {"open-1"}


def test_search_finds_quotes_and_accents_in_prompts(session):
    project = make_project(session)
    make_item(session, project, external_id="cafe", prompt="Order a café au lait")
    make_item(session, project, external_id="quote", prompt='She said "hello" twice')
    make_item(session, project, external_id="chat", prompt=[{"role": "user", "content": "Crème brûlée?"}])
    assert ids(session, project, q="café") == {"cafe"}
    assert ids(session, project, q='"hello"') == {"quote"}
    assert ids(session, project, q="brûlée") == {"chat"}


def test_model_filter_and_filters_combine(session, world):
    project, _, _ = world
    assert ids(session, project, model="special-model") == {"open-1"}
    assert ids(session, project, model="special-model", status="complete") == set()
    assert ids(session, project, q="1", status="honeypot") == {"honeypot:open-1:truncated"}
    assert "special-model" in browse_items(session, project, ItemFilter()).models


def test_adjudicated_and_resolved_flags_change_the_status(session, world):
    project, items, (r1, _) = world
    admin = make_user(session, "admin")
    record_adjudication(session, project, items["split"].id, "helpful", {"choice": "A", "strength": 2}, "", admin)
    resolve_flags(session, project, items["open"].id, admin)
    session.commit()
    assert ids(session, project, status="adjudicated") == {"split-1"}
    assert ids(session, project, status="disagreement") == set()  # adjudicated: no longer open
    assert ids(session, project, status="flagged") == {"flagged-1"}


def test_pages(session):
    project = make_project(session)
    for n in range(7):
        make_item(session, project, external_id=f"p{n}")
    first = browse_items(session, project, ItemFilter(page=1), page_size=3)
    last = browse_items(session, project, ItemFilter(page=3), page_size=3)
    beyond = browse_items(session, project, ItemFilter(page=99), page_size=3)
    assert (first.total, first.pages) == (7, 3)
    assert [r.external_id for r in first.rows] == ["p0", "p1", "p2"]
    assert [r.external_id for r in last.rows] == ["p6"]
    assert beyond.page == 3 and [r.external_id for r in beyond.rows] == ["p6"]


@pytest.mark.parametrize(
    ("values", "field"),
    [({"status": "bogus"}, "status"), ({"page": "0"}, "page"), ({"page": "x"}, "page"), ({"q": "x" * 201}, "q")],
)
def test_bad_filters_name_the_field(values, field):
    with pytest.raises(InvalidInput) as caught:
        parse_filter(values)
    assert [e.location for e in caught.value.errors] == [field]


def test_item_detail_names_raters_by_pseudonym(session, world):
    project, items, (r1, r2) = world
    detail = item_detail(session, project, items["complete"].id)
    assert [j.pseudonym for j in detail.judgments] == ["R1", "R2"]
    labels = dict(detail.judgments[0].answers)
    assert "Plainly right." in labels.values()
    text = repr(detail.judgments)
    assert r1.email not in text and r1.name not in text
    with pytest.raises(NotFound):
        item_detail(session, make_project(session), items["complete"].id)


def test_the_queue_lists_open_flags_with_every_reason_reported_first(session, world):
    project, items, _ = world
    queue = flag_queue(session, project)
    assert [q.external_id for q in queue] == ["flagged-1", "open-1"]
    assert (queue[0].reports, queue[0].skips) == (1, 1)
    assert [n.reason for n in queue[0].notes] == ["Response B is empty", "Outside my expertise"]


def test_resolving_takes_the_item_off_the_queue_and_keeps_the_flags(session, world):
    project, items, _ = world
    admin = make_user(session, "admin")
    assert resolve_flags(session, project, items["flagged"].id, admin) == 2
    assert resolve_flags(session, project, items["flagged"].id, admin) == 0  # again: nothing left open
    session.commit()
    assert [q.external_id for q in flag_queue(session, project)] == ["open-1"]
    kept = item_detail(session, project, items["flagged"].id).flags
    assert len(kept) == 2 and all(f.resolved_by_id == admin.id and f.resolved_at for f in kept)
    with pytest.raises(NotFound):
        resolve_flags(session, make_project(session), items["open"].id, admin)
