"""Calibration and leaderboard services on real judgments (orientation, populations, gold)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.factories import make_item, make_project, make_rater, make_user
from workbench.domain import Role
from workbench.errors import InvalidInput, NotFound
from workbench.models import Lease
from workbench.rubric import to_screen
from workbench.services.assignment import next_assignment
from workbench.services.calibration import judgment_table, rater_calibration
from workbench.services.judging import record_judgment
from workbench.services.leaderboard import project_leaderboard
from workbench.services.questions import find_question

DOC_TIE = {"helpful": {"choice": "tie"}, "harmless": {"choice": "tie"}}


def judge_all(session, project, rater, canonical_for_item, key: str):
    """The rater judges every item offered, answering ``canonical_for_item(item_id)`` in screen terms."""
    n = 0
    while (task := next_assignment(session, project, rater)) is not None:
        order = session.get(Lease, task.lease_id).display_order
        screen = to_screen(task.rubric_document, canonical_for_item(task.item_id), order)
        record_judgment(session, rater, task.lease_id, screen, f"{key}-{rater.id}-{task.item_id}")
        n += 1
    return n


def pick(choice: str, strength: int = 2) -> dict:
    helpful = {"choice": choice} if choice == "tie" else {"choice": choice, "strength": strength}
    return {"helpful": helpful, "harmless": {"choice": "tie"}}


def test_left_pick_follows_the_display_order(session):
    project = make_project(session, overlap_k=4)
    for _ in range(6):
        make_item(session, project)
    raters = [make_rater(session) for _ in range(4)]
    for rater in raters:
        judge_all(session, project, rater, lambda _item: pick("A"), "p")
    question = find_question(project.rubric.versions[0].document, "helpful")
    table, rater_ids = judgment_table(session, project, question)
    leases = {(lease.item_id, lease.rater_id): lease.display_order for lease in session.query(Lease)}
    # Canonical A was preferred every time: "left" exactly when A was shown on the left.
    expected = []
    for item_id, rater_id in sorted(leases):
        expected.append(1.0 if leases[(item_id, rater_id)][0] == 0 else 0.0)
    assert sorted(table.left_pick.tolist()) == sorted(expected)
    assert 0 < np.nansum(table.left_pick) < len(table.left_pick)  # counterbalancing showed both sides
    assert np.all(table.value == 0.0)  # code of "A"
    assert sorted(rater_ids) == sorted(r.id for r in raters)


def test_always_left_rater_is_flagged_and_ranked_worst(session):
    project = make_project(session, overlap_k=5)
    items = [make_item(session, project) for _ in range(30)]
    truth = {item.id: ("A" if n % 3 else "B") for n, item in enumerate(items)}
    good = [make_rater(session) for _ in range(4)]
    for rater in good:
        judge_all(session, project, rater, lambda item_id: pick(truth[item_id]), "g")
    lefty = make_rater(session)
    while (task := next_assignment(session, project, lefty)) is not None:
        answers = {"helpful": {"choice": "A", "strength": 1}, "harmless": {"choice": "tie"}}  # "A" on screen = left
        record_judgment(session, lefty, task.lease_id, answers, f"left-{task.item_id}")
    report = rater_calibration(session, project, "helpful")
    worst = report.rows[0]
    assert worst.user_id == lefty.id
    assert worst.calibration.position.estimate == 1.0
    assert any("left" in flag for flag in worst.calibration.flags)
    assert all(not any("left" in f for f in row.calibration.flags) for row in report.rows[1:])
    assert report.for_user(lefty.id) is worst


def test_gold_answers_give_gold_accuracy(session):
    project = make_project(session, overlap_k=1, gold_rate=1.0)
    for n in range(10):
        make_item(session, project, is_gold=True, gold_answer=pick("A" if n < 5 else "B"))
        make_item(session, project)
    rater = make_rater(session)
    judge_all(session, project, rater, lambda _item: pick("A"), "gold")
    row = rater_calibration(session, project, "helpful").for_user(rater.id)
    assert (row.calibration.gold.successes, row.calibration.gold.trials) == (5, 10)


def test_unknown_question_is_not_found(session):
    project = make_project(session)
    with pytest.raises(NotFound, match="choose from helpful, helpful.strength"):
        rater_calibration(session, project, "nope")


def test_leaderboard_orders_models_and_separates_machines(session):
    project = make_project(session, overlap_k=3)
    strong_first, strong_second = [], []
    for n in range(24):
        item = make_item(session, project)
        # Alternate which side the strong model is on; the canonical outcome follows it.
        first, second = ("strong", "weak") if n % 2 == 0 else ("weak", "strong")
        item.responses[0].model, item.responses[1].model = first, second
        (strong_first if first == "strong" else strong_second).append(item.id)
    session.flush()
    humans = [make_rater(session) for _ in range(2)]
    machine = make_user(session, Role.RATER)
    machine.is_machine = True
    winner = lambda item_id: pick("A" if item_id in strong_first else "B")  # noqa: E731
    for rater in humans:
        judge_all(session, project, rater, winner, "h")
    judge_all(session, project, machine, lambda item_id: pick("tie"), "m")
    board = project_leaderboard(session, project, n_resamples=200)
    assert board.humans.models[0] == "strong" and board.humans.rank[0] == 1 and board.humans.rank[1] == 2
    assert board.humans.n_comparisons == 48
    assert board.machines.n_comparisons == 24 and board.machines.n_ties == 24
    assert abs(board.machines.strength[0] - board.machines.strength[1]) < 1e-6
    assert board.human_vs_machine.n_items == 24 and board.human_vs_machine.share == 0.0


def test_leaderboard_leaves_gold_out_and_needs_a_pairwise_rubric(session):
    project = make_project(session, overlap_k=1)
    make_item(session, project, is_gold=True, gold_answer=pick("A"))
    rater = make_rater(session)
    judge_all(session, project, rater, lambda _item: pick("A"), "x")
    assert project_leaderboard(session, project, n_resamples=10).humans is None
    single = make_project(session, rubric="response-quality")
    with pytest.raises(InvalidInput, match="no pairwise question"):
        project_leaderboard(session, single)


def test_thresholds_come_from_json_overrides():
    from workbench.services.calibration import parse_thresholds
    from workbench.stats.rater_flags import Thresholds

    assert parse_thresholds("") == Thresholds()
    assert parse_thresholds('{"too_fast_seconds": 5}').too_fast_seconds == 5
    with pytest.raises(InvalidInput) as info:
        parse_thresholds('{"too_fast": 5, "min_gold_accuracy": "high"}')
    assert [e.location for e in info.value.errors] == ["too_fast", "min_gold_accuracy"]
    with pytest.raises(InvalidInput, match="not valid JSON"):
        parse_thresholds("{oops")


def test_stricter_speed_threshold_flags_more(session):
    from workbench.services.calibration import parse_thresholds

    project = make_project(session, overlap_k=1)
    for _ in range(6):
        make_item(session, project)
    rater = make_rater(session)
    judge_all(session, project, rater, lambda _item: pick("A"), "speed")  # instant judgments
    default = rater_calibration(session, project, "helpful").for_user(rater.id)
    lax = rater_calibration(session, project, "helpful", parse_thresholds('{"too_fast_seconds": 0.0}')).for_user(
        rater.id
    )
    assert any("too fast" in f for f in default.calibration.flags)
    assert not any("too fast" in f for f in lax.calibration.flags)


def safe(harmful: bool) -> dict:
    answers = {"harmful": harmful, "behaviour": "complied", "refusal_appropriate": True}
    return {**answers, "harm_types": ["violence"]} if harmful else answers


def test_binary_question_gets_calibration_whatever_the_backend_returns(session):
    # SQLite's JSON functions read true/false back as 1/0; the binary question must still be counted.
    project = make_project(session, rubric="safety", overlap_k=1, gold_rate=1.0)
    for n in range(6):
        make_item(session, project, is_gold=True, gold_answer={"harmful": n < 2})
        make_item(session, project)
    rater = make_rater(session)
    judge_all(session, project, rater, lambda _item: safe(True), "binary")
    question = find_question(project.rubric.versions[0].document, "harmful")
    table, _ = judgment_table(session, project, question)
    assert not np.isnan(table.value).any() and set(table.value.tolist()) == {1.0}
    row = rater_calibration(session, project, "harmful").for_user(rater.id)
    assert (row.calibration.gold.successes, row.calibration.gold.trials) == (2, 6)
