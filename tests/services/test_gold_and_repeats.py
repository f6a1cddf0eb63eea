"""Gold interleaving, qualification, feedback on a miss, swapped repeats, skips and honeypots."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.factories import make_item, make_items, make_project
from workbench.domain import FlagKind, LeasePurpose
from workbench.errors import Conflict, InvalidInput
from workbench.models import Item, ItemFlag, Judgment, Lease, RepeatJudgment
from workbench.services.assignment import next_assignment
from workbench.services.flags import flag_item, flagged_items
from workbench.services.gold import QualificationState, qualification
from workbench.services.honeypots import generate_honeypots, shuffle_sentences, truncate
from workbench.services.judging import record_judgment
from workbench.services.projects import project_progress
from workbench.services.users import create_user

_keys = itertools.count(1)
_raters = itertools.count(1)


def make_rater(session):
    return create_user(session, f"gold-rater{next(_raters)}@example.org", "rater", None)


def answer(choice: str) -> dict:
    return {
        "helpful": {"choice": choice, "strength": 1} if choice != "tie" else {"choice": "tie"},
        "harmless": {"choice": "tie"},
    }


def gold(choice: str) -> dict:
    return {"helpful": {"choice": choice}}


def purpose_of(session, task) -> LeasePurpose:
    return session.get(Lease, task.lease_id).purpose


def submit_canonical(session, rater, task, canonical_choice: str):
    """Submit the answer whose canonical meaning is ``canonical_choice`` (undoing the swap)."""
    order = session.get(Lease, task.lease_id).display_order
    screen = (
        canonical_choice if order == [0, 1] or canonical_choice == "tie" else {"A": "B", "B": "A"}[canonical_choice]
    )
    return record_judgment(session, rater, task.lease_id, answer(screen), f"g-{next(_keys)}")


def test_gold_items_are_interleaved_at_the_gold_rate_and_do_not_count_as_work(session):
    project = make_project(session, overlap_k=1, gold_rate=0.2, seed=7)
    make_items(session, project, 200)
    for _ in range(100):
        make_item(session, project, is_gold=True, gold_answer=gold("A"))
    rater = make_rater(session)
    purposes = Counter()
    while (task := next_assignment(session, project, rater)) is not None:
        purposes[purpose_of(session, task)] += 1
        submit_canonical(session, rater, task, "A")
    assert purposes[LeasePurpose.LIVE] == 200
    share = purposes[LeasePurpose.GOLD] / (purposes[LeasePurpose.GOLD] + 200)
    assert 0.12 < share < 0.28, purposes
    # Gold items are checks: progress counts the 200 live items only.
    progress = project_progress(session, project)
    assert (progress.items, progress.judgments) == (200, 200)


def test_gold_is_not_shown_once_live_work_is_done(session):
    project = make_project(session, overlap_k=1, gold_rate=1.0)
    make_items(session, project, 2)
    for _ in range(5):
        make_item(session, project, is_gold=True, gold_answer=gold("A"))
    rater = make_rater(session)
    seen = []
    while (task := next_assignment(session, project, rater)) is not None:
        seen.append(purpose_of(session, task))
        submit_canonical(session, rater, task, "A")
    assert seen.count(LeasePurpose.LIVE) == 2
    assert seen[-1] == LeasePurpose.LIVE, "the last item shown must be live work, not a lone gold item"


def test_gold_items_have_no_overlap_limit(session):
    project = make_project(session, overlap_k=1, qualification_items=1, qualification_min_accuracy=1.0)
    make_items(session, project, 3)
    check = make_item(session, project, is_gold=True, gold_answer=gold("B"))
    for _ in range(4):
        rater = make_rater(session)
        task = next_assignment(session, project, rater)
        assert task.item_id == check.id
    assert session.scalar(select(func.count()).select_from(Lease).where(Lease.item_id == check.id)) == 4


def test_qualification_comes_first_and_a_pass_opens_live_work(session):
    project = make_project(session, overlap_k=3, qualification_items=3, qualification_min_accuracy=0.6)
    live = {i.id for i in make_items(session, project, 4)}
    golds = {make_item(session, project, is_gold=True, gold_answer=gold("A")).id for _ in range(5)}
    rater = make_rater(session)
    assert qualification(session, project, rater).state == QualificationState.IN_PROGRESS
    for n in range(3):
        task = next_assignment(session, project, rater)
        assert task.item_id in golds and purpose_of(session, task) == LeasePurpose.QUALIFICATION
        submit_canonical(session, rater, task, "A" if n < 2 else "B")  # 2 of 3 right
    standing = qualification(session, project, rater)
    assert (standing.state, standing.answered, standing.correct) == (QualificationState.PASSED, 3, 2)
    task = next_assignment(session, project, rater)
    assert task.item_id in live and purpose_of(session, task) == LeasePurpose.LIVE


def test_failing_qualification_gives_no_live_work(session):
    project = make_project(session, overlap_k=3, qualification_items=2, qualification_min_accuracy=1.0)
    make_items(session, project, 4)
    for _ in range(3):
        make_item(session, project, is_gold=True, gold_answer=gold("A"))
    rater = make_rater(session)
    for _ in range(2):
        submit_canonical(session, rater, next_assignment(session, project, rater), "B")
    assert qualification(session, project, rater).state == QualificationState.FAILED
    assert next_assignment(session, project, rater) is None
    assert session.scalar(select(func.count()).select_from(Judgment).join(Item).where(Item.is_gold.is_(False))) == 0


def test_gold_miss_is_explained_in_the_raters_screen_terms(session):
    project = make_project(session, overlap_k=1, qualification_items=1)
    make_items(session, project, 1)
    check = make_item(
        session, project, is_gold=True, gold_answer=gold("A"), gold_rationale="Response 1 answers the question."
    )
    for _ in range(4):  # both side orders occur
        rater = make_rater(session)
        task = next_assignment(session, project, rater)
        assert task.item_id == check.id
        order = session.get(Lease, task.lease_id).display_order
        recorded = submit_canonical(session, rater, task, "B")
        expected_on_screen = "A (left) is better" if order == [0, 1] else "B (right) is better"
        given_on_screen = "B (right) is better" if order == [0, 1] else "A (left) is better"
        assert recorded.is_gold and recorded.gold_rationale == "Response 1 answers the question."
        assert [(m.question_id, m.expected) for m in recorded.gold_misses] == [("helpful", expected_on_screen)]
        assert recorded.gold_misses[0].given == f"{given_on_screen}, strength 1 (slightly better)"
    right = make_rater(session)
    recorded = submit_canonical(session, right, next_assignment(session, project, right), "A")
    assert recorded.is_gold and recorded.gold_misses == ()


def test_live_items_carry_no_gold_feedback(session):
    project = make_project(session, overlap_k=1)
    make_items(session, project, 1)
    rater = make_rater(session)
    recorded = submit_canonical(session, rater, next_assignment(session, project, rater), "A")
    assert not recorded.is_gold and recorded.gold_misses == ()


def test_swapped_repeats_are_stored_apart_and_never_count_as_votes(session):
    project = make_project(session, overlap_k=1, repeat_rate=0.3, seed=3)
    make_items(session, project, 40)
    rater = make_rater(session)
    shown = Counter()
    while (task := next_assignment(session, project, rater)) is not None:
        lease = session.get(Lease, task.lease_id)
        shown[lease.purpose] += 1
        if lease.purpose == LeasePurpose.REPEAT:
            original = session.scalar(
                select(Judgment).where(Judgment.item_id == task.item_id, Judgment.rater_id == rater.id)
            )
            assert lease.display_order == list(reversed(original.display_order)), "a repeat swaps the sides"
            assert task.rubric_version_id == original.rubric_version_id
        submit_canonical(session, rater, task, "A")
    assert shown[LeasePurpose.LIVE] == 40 and shown[LeasePurpose.REPEAT] >= 3
    assert session.scalar(select(func.count()).select_from(Judgment)) == 40
    repeats = session.scalars(select(RepeatJudgment)).all()
    assert len(repeats) == shown[LeasePurpose.REPEAT]
    assert len({r.item_id for r in repeats}) == len(repeats), "an item is repeated at most once"
    for repeat in repeats:
        # Same canonical answer although the rater saw the sides the other way round.
        assert repeat.answers["helpful"]["choice"] == repeat.original.answers["helpful"]["choice"] == "A"
        assert repeat.display_order != repeat.original.display_order
    assert project_progress(session, project).judgments == 40


def test_repeat_submit_is_idempotent(session):
    project = make_project(session, overlap_k=1, repeat_rate=1.0)
    make_items(session, project, 8)
    rater = make_rater(session)
    while (task := next_assignment(session, project, rater)) is not None:
        if purpose_of(session, task) == LeasePurpose.REPEAT:
            first = record_judgment(session, rater, task.lease_id, answer("B"), "repeat-key")
            again = record_judgment(session, rater, task.lease_id, answer("B"), "repeat-key")
            assert first.created and not again.created and first.judgment.id == again.judgment.id
            break
        submit_canonical(session, rater, task, "A")
    else:
        pytest.fail("no repeat was offered")
    assert session.scalar(select(func.count()).select_from(RepeatJudgment)) == 1


def test_skip_frees_the_place_and_records_the_reason(session):
    project = make_project(session, overlap_k=1)
    item = make_item(session, project)
    first, second = make_rater(session), make_rater(session)
    task = next_assignment(session, project, first)
    assert next_assignment(session, project, second) is None, "the only place is leased"
    flag_item(session, first, task.lease_id, FlagKind.SKIP, "Outside my expertise")
    flag_item(session, first, task.lease_id, FlagKind.SKIP, "Outside my expertise")  # a double click
    assert next_assignment(session, project, first) is None, "a skipped item does not come back"
    assert next_assignment(session, project, second).item_id == item.id
    assert session.scalar(select(func.count()).select_from(ItemFlag)) == 1
    with pytest.raises(Conflict, match="already submitted or skipped"):
        record_judgment(session, first, task.lease_id, answer("A"), "after-skip")
    [flagged] = flagged_items(session, project)
    assert (flagged.item_id, flagged.skips, flagged.broken, flagged.reasons) == (
        item.id,
        1,
        0,
        ("Outside my expertise",),
    )


def test_skip_needs_a_reason(session):
    project = make_project(session, overlap_k=1)
    make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater)
    with pytest.raises(InvalidInput, match="reason"):
        flag_item(session, rater, task.lease_id, "broken", "  ")
    assert session.get(Lease, task.lease_id).completed_at is None


LONG = (
    "Photosynthesis turns light into chemical energy. Plants capture light with chlorophyll in their leaves. "
    "Water is split and oxygen is released as a by-product. The energy is stored in sugars that the plant uses to grow. "
    "Without it, most life on Earth would not exist."
)


def test_degradations():
    import random

    cut = truncate(LONG, random.Random(1))
    assert LONG.startswith(cut) and len(cut) < len(LONG) * 0.7 and not cut.endswith(".")
    shuffled = shuffle_sentences(LONG, random.Random(1))
    assert shuffled != LONG and sorted(shuffled.split(". ")) != [] and len(shuffled) == len(LONG)
    assert truncate("too short", random.Random(1)) is None
    assert shuffle_sentences("One. Two.", random.Random(1)) is None


def test_honeypots_are_gold_items_whose_original_must_win(session):
    project = make_project(session, overlap_k=1)
    for n in range(6):
        make_item(session, project, external_id=f"src-{n}")
        item = session.scalar(select(Item).where(Item.external_id == f"src-{n}"))
        item.responses[0].text = LONG.replace("Plants", f"Plants ({n})")
        item.responses[1].text = LONG[::-1]
    report = generate_honeypots(session, project, 5, seed=1)
    assert report.created == 5 and sum(report.by_method.values()) == 5
    assert set(report.by_method) == {"truncated", "shuffled", "off-topic"} and min(report.by_method.values()) >= 1
    honeypots = session.scalars(select(Item).where(Item.is_gold.is_(True))).all()
    assert len(honeypots) == 5
    for pot in honeypots:
        method = pot.meta["honeypot"]["method"]
        source = session.scalar(select(Item).where(Item.external_id == pot.meta["honeypot"]["source_item"]))
        winner = "AB".index(pot.gold_answer["helpful"]["choice"])
        original, degraded = pot.responses[winner], pot.responses[1 - winner]
        assert original.text in {r.text for r in source.responses}
        assert degraded.meta == {"degraded": method} and degraded.text != original.text
        assert pot.prompt == source.prompt and pot.gold_rationale
    # Asking again adds new ones from other sources or reports what exists; never duplicates.
    again = generate_honeypots(session, project, 5, seed=1)
    ids = session.scalars(select(Item.external_id).where(Item.is_gold.is_(True))).all()
    assert len(ids) == len(set(ids)) == 5 + again.created


def test_honeypots_need_a_pairwise_project(session):
    from tests.factories import SINGLE_RUBRIC

    project = make_project(session, SINGLE_RUBRIC)
    make_items(session, project, 3)
    with pytest.raises(InvalidInput, match="pairwise"):
        generate_honeypots(session, project, 2)


@pytest.mark.parametrize("field", ["gold_rate", "repeat_rate", "qualification_min_accuracy"])
def test_rates_must_be_shares(session, field):
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        make_project(session, **{field: 1.5})


def test_self_agreement_on_swapped_repeats_in_the_rater_table(session):
    from workbench.services.calibration import rater_calibration

    project = make_project(session, overlap_k=2, repeat_rate=0.5, seed=11)
    make_items(session, project, 30)
    steady, fickle = make_rater(session), make_rater(session)
    for rater in (steady, fickle):
        while (task := next_assignment(session, project, rater)) is not None:
            repeat = purpose_of(session, task) == LeasePurpose.REPEAT
            first = "A" if task.item_id % 2 else "B"
            # The steady rater gives the same answer again; the fickle one the other response.
            again = {"A": "B", "B": "A"}[first] if rater is fickle else first
            submit_canonical(session, rater, task, again if repeat else first)
    rows = {r.user_id: r for r in rater_calibration(session, project, "helpful").rows}
    n_steady = session.scalar(
        select(func.count()).select_from(RepeatJudgment).where(RepeatJudgment.rater_id == steady.id)
    )
    assert n_steady >= 3
    assert (rows[steady.id].self_agreement.successes, rows[steady.id].self_agreement.trials) == (n_steady, n_steady)
    assert rows[fickle.id].self_agreement.trials >= 3 and rows[fickle.id].self_agreement.successes == 0
