"""``services.judge_alignment`` on a hand-built project: who counts as human, the figures
worked out by hand from the rows below, and imported raters marked as machines."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from tests.factories import make_item, make_project, make_rater
from tests.judge_builders import choice, make_judge, make_judgment, make_verdict
from workbench.errors import InvalidInput, NotFound
from workbench.services.import_formats import SourceRow
from workbench.services.judge_alignment import choice_question, find_judge, human_votes, judge_alignment
from workbench.services.judgment_import import import_judgments
from workbench.services.rubrics import current_version

# Per item: the three human choices, then the judge's (choice, confidence); None = nothing.
ROWS = [
    (["A", "A", "B"], ("A", 0.9)),
    (["B", "B", "B"], ("B", 0.8)),
    (["A", "B", "tie"], ("A", 0.55)),  # no majority
    (["tie", "tie", "A"], ("A", 0.6)),
    (["B", "B", "A"], ("A", 0.7)),
    (["A", "A", "A"], ("A", 0.95)),
    ([], ("B", 0.99)),  # no humans
    (["A", "A"], None),  # no verdict
]
CODE = {"A": 0, "B": 1, "tie": 2}


@pytest.fixture
def world(session):
    project = make_project(session)
    humans = [make_rater(session) for _ in range(3)]
    script = make_rater(session)
    script.is_machine = True
    judge = make_judge(session, "gpt-judge", model="model-a")
    items = []
    for n, (votes, verdict) in enumerate(ROWS):
        item = make_item(session, project)
        # Response A is the longer one, except on item 1.
        item.responses[0].text, item.responses[1].text = (
            ("short", "much longer text") if n == 1 else ("much longer text", "short")
        )
        items.append(item)
        for human, vote in zip(humans, votes, strict=False):
            make_judgment(session, project, item, human, choice(vote))
        make_judgment(session, project, item, script, choice("B"))  # a machine: never a vote
        if verdict:
            make_verdict(session, project, item, judge, choice(verdict[0]), verdict[1])
    # A superseded human judgment does not count (it would break item 4's majority).
    extra = make_rater(session)
    old = make_judgment(session, project, items[4], extra, choice("A"))
    old.superseded_by_id = old.id  # any judgment id: what matters is that it is not live
    session.flush()
    make_judgment(
        session, project, items[4], extra, {"harmless": {"choice": "A"}}
    )  # its live answer skips the question
    # A gold item is left out even though judged by everyone.
    gold = make_item(session, project, is_gold=True)
    for human in humans:
        make_judgment(session, project, gold, human, choice("A"))
    make_verdict(session, project, gold, judge, choice("B"), 0.99)
    # Asked again with the sides swapped: item 0 flips, items 1 and 5 keep their verdict.
    for n, value in ((0, "B"), (1, "B"), (5, "A")):
        make_verdict(session, project, items[n], judge, choice(value), swapped=True)
    session.flush()
    return project, judge, items


def test_human_votes_leave_out_machines_superseded_and_gold(session, world):
    project, _, items = world
    question = choice_question(current_version(session, project).document, None)
    votes = human_votes(session, project, question)
    assert question.question_id == "helpful"
    assert votes[items[0].id] == [0, 0, 1] and votes[items[4].id] == [1, 1, 0]
    assert items[6].id not in votes and len(votes) == 7


def test_agreement_kappa_and_confusion_by_hand(session, world):
    project, judge, _ = world
    report = judge_alignment(session, project, judge, n_resamples=200)
    a = report.agreement
    # Majority vs judge on items 0, 1, 3, 4, 5: A/A, B/B, tie/A, B/A, A/A.
    assert (a.n_items, a.n_no_majority) == (5, 1)
    assert a.agreement.value == pytest.approx(3 / 5)
    # p_o = 3/5; rows (A, B, tie) = 2, 2, 1; columns = 4, 1, 0; p_e = (8 + 2) / 25 = 0.4.
    assert a.kappa.value == pytest.approx((0.6 - 0.4) / 0.6)
    assert a.confusion.tolist() == [[2, 0, 0], [1, 1, 0], [1, 0, 0]]
    assert report.labels == ("A", "B", "tie") and report.n_verdicts == 7


def test_alphas_match_the_package_on_the_raw_matrix(session, world):
    project, judge, _ = world
    report = judge_alignment(session, project, judge, n_resamples=50)
    units = [r for r in ROWS if r[0] and r[1]]  # items with humans and a verdict
    humans = np.full((3, len(units)), np.nan)
    for u, (votes, _) in enumerate(units):
        humans[: len(votes), u] = [CODE[v] for v in votes]
    judge_row = [CODE[verdict[0]] for _, verdict in units]
    expected_h = krippendorff.alpha(reliability_data=humans, level_of_measurement="nominal")
    expected_j = krippendorff.alpha(reliability_data=np.vstack([humans, judge_row]), level_of_measurement="nominal")
    assert report.agreement.alpha_humans.alpha == pytest.approx(expected_h)
    assert report.agreement.alpha_with_judge.alpha == pytest.approx(expected_j)


def test_position_length_self_preference_and_reliability_by_hand(session, world):
    project, judge, _ = world
    report = judge_alignment(session, project, judge, n_resamples=50)
    assert (report.consistency.successes, report.consistency.trials) == (2, 3)
    # Primary asks show position 0 on the left: 5 of 7 picks are A. Swapped asks show
    # position 1 on the left: items 0 and 1 picked B (left), item 5 picked A (right).
    assert (report.left.share.successes, report.left.share.trials) == (7, 10)
    # Longer response: the judge picks it on all 6 items with humans; humans on 11 of 15
    # non-tie votes (2 + 3 + 1 + 1 + 1 + 3 of 3 + 3 + 2 + 1 + 3 + 3).
    assert (report.length.judge.successes, report.length.judge.trials) == (6, 6)
    assert (report.length.humans.successes, report.length.humans.trials) == (11, 15)
    # Own model (model-a, always response A): judge 5 of 6; humans 8 of 15.
    assert (report.self_preference.judge.successes, report.self_preference.humans.successes) == (5, 8)
    # Confidences with a majority: 0.9, 0.8, 0.95 agree; 0.6, 0.7 do not.
    # ECE = (2 * |1 - 0.925| + |1 - 0.8| + |0 - 0.7| + |0 - 0.6|) / 5 = 0.33.
    assert report.reliability.n == 5 and report.reliability.ece == pytest.approx(0.33)


def test_questions_and_judges_are_checked(session, world):
    project, judge, _ = world
    document = current_version(session, project).document
    assert choice_question(document, "harmless").question_id == "harmless"
    with pytest.raises(InvalidInput, match="not a choice question"):
        choice_question(document, "rationale")
    with pytest.raises(NotFound, match="gpt-judge"):
        find_judge(session, "nobody")
    assert find_judge(session, "gpt-judge").id == judge.id
    empty = judge_alignment(session, project, judge, "harmless", n_resamples=10)
    assert empty.agreement.n_items == 0 and empty.agreement.agreement.value is None


def test_imported_raters_count_as_humans_unless_marked_as_machines(session):
    project = make_project(session)
    item = make_item(session, project)
    judge = make_judge(session)
    make_verdict(session, project, item, judge, choice("A"), 0.9)
    rows = [
        SourceRow(
            1,
            {
                "item_id": item.external_id,
                "rater": "crowd-1",
                "answers": {**choice("B"), "harmless": {"choice": "tie"}},
            },
        ),
        SourceRow(
            2,
            {"item_id": item.external_id, "rater": "gpt-4", "answers": {**choice("A"), "harmless": {"choice": "tie"}}},
        ),
        SourceRow(
            3,
            {
                "item_id": item.external_id,
                "rater": "crowd-2",
                "answers": {**choice("B"), "harmless": {"choice": "tie"}},
            },
        ),
    ]
    with pytest.raises(InvalidInput, match="nobody"):
        import_judgments(session, project, rows, machine_raters=["nobody"])
    import_judgments(session, project, rows, machine_raters=["gpt-4"])
    question = choice_question(current_version(session, project).document, None)
    assert human_votes(session, project, question) == {item.id: [1, 1]}
    # Marking works on a later import of the same rows too.
    import_judgments(session, project, rows, machine_raters=["crowd-2"])
    assert human_votes(session, project, question) == {item.id: [1]}
