"""Agreement from stored judgments reproduces published Krippendorff alphas.

Every judgment goes through the services (``next_assignment`` then ``record_judgment``), with
answers given in *screen* orientation (``to_screen`` with the lease's display order), so the
tables are reproduced only if judgments are stored, and counted, in canonical orientation.

Alpha depends on the per-unit multiset of values only (the value counts the service builds),
not on which rater gave which value; the reliability tables have missing cells, so raters
take the values of a unit from its multiset, and a rater offered a unit whose values are
all given walks away (their lease stays open and takes a place; with overlap 4 every unit
still receives all its values).
"""

from __future__ import annotations

import copy
import itertools

import krippendorff
import numpy as np
import pytest

from tests.factories import PAIRWISE_RUBRIC, SINGLE_RUBRIC, load_shipped_rubric
from workbench.domain import Level
from workbench.errors import JudgmentInvalid
from workbench.models import Item, Judgment, Lease, Response
from workbench.rubric import parse_rubric, to_screen
from workbench.services.agreement import project_agreement
from workbench.services.assignment import next_assignment
from workbench.services.judging import record_judgment
from workbench.services.projects import create_project
from workbench.services.rubrics import load_rubric
from workbench.services.users import create_user
from workbench.stats.reliability_table import parse_reliability_table

TOLERANCE = 1e-3
RESAMPLES = 200
LETTER_TO_CHOICE = {"a": "A", "b": "B", "c": "tie"}
_n = itertools.count(1)


def make_rater(session):
    return create_user(session, f"agree-rater{next(_n)}@example.org", "rater", None)


def read_table(reference_data, name: str):
    return parse_reliability_table((reference_data / "reliability" / name).read_text(encoding="utf-8"))


def make_items(session, project, unit_ids, n_responses: int) -> dict[int, str]:
    """One item per unit; returns ``{item_id: unit_id}``."""
    out = {}
    for unit in unit_ids:
        item = Item(project_id=project.id, external_id=unit, prompt=f"prompt {unit}", meta={})
        item.responses = [
            Response(position=p, external_id=f"{unit}-{p}", model=f"m{p}", text=f"{unit} text {p}")
            for p in range(n_responses)
        ]
        session.add(item)
        session.flush()
        out[item.id] = unit
    return out


def submit(session, rater, task, canonical: dict) -> None:
    order = session.get(Lease, task.lease_id).display_order
    screen = to_screen(task.rubric_document, canonical, order)
    record_judgment(session, rater, task.lease_id, screen, f"agree-{next(_n)}")


def rate_multisets(session, project, values_by_item: dict[int, list], answer) -> int:
    """Give every item its values through real raters; returns how many raters were needed."""
    remaining = {item_id: list(values) for item_id, values in values_by_item.items()}
    raters = 0
    while any(remaining.values()):
        rater = make_rater(session)
        raters += 1
        assert raters < 50, "the queue stopped offering items that still need values"
        while (task := next_assignment(session, project, rater)) is not None:
            if not remaining[task.item_id]:
                break  # nothing left to give here: this rater walks away
            submit(session, rater, task, answer(remaining[task.item_id].pop()))
    return raters


def by_id(results, question_id: str):
    found = [r for r in results if r.question_id == question_id]
    assert len(found) == 1, [r.question_id for r in results]
    return found[0]


def likert_answers(overall: int) -> dict:
    return {"accuracy": 4, "coherence": 5, "coverage": 3, "overall": overall}


def single_project(session, rubric_doc=None, name="p290"):
    if rubric_doc is None:
        load_shipped_rubric(session, SINGLE_RUBRIC)
        slug = SINGLE_RUBRIC
    else:
        load_rubric(session, parse_rubric(rubric_doc))
        slug = rubric_doc["slug"]
    return create_project(session, name, slug, overlap_k=4)


def p290_values(reference_data) -> tuple[list[str], list[list[int]]]:
    table = read_table(reference_data, "krippendorff-2018-p290.csv")
    assert table.matrix.shape == (4, 12)
    values = [[int(v) for v in table.matrix[:, u] if not np.isnan(v)] for u in range(table.matrix.shape[1])]
    return list(table.unit_ids), values


def test_ordinal_alpha_matches_krippendorff_p290(session, reference_data):
    project = single_project(session)
    units, values = p290_values(reference_data)
    items = make_items(session, project, units, n_responses=1)
    rate_multisets(session, project, dict(zip(items, values, strict=True)), likert_answers)
    session.commit()

    results = project_agreement(session, project, n_resamples=RESAMPLES)
    overall = by_id(results, "overall")
    assert overall.rubric_version == 1
    assert overall.result.level is Level.ORDINAL
    assert overall.result.alpha == pytest.approx(0.815, abs=TOLERANCE)
    # 11 pairable units with 40 values; unit 12 has a single value and drops out.
    assert (overall.result.n_units, overall.result.n_values, overall.result.n_units_dropped) == (11, 40, 1)
    assert overall.result.ci_low <= overall.result.alpha <= overall.result.ci_high
    # The constant answers carry no variation: alpha is undefined, not a number.
    assert by_id(results, "accuracy").result.alpha is None
    assert {r.question_id for r in results} == {"accuracy", "coherence", "coverage", "overall"}


def test_interval_alpha_matches_krippendorff_p290(session, reference_data):
    doc = copy.deepcopy(load_shipped_rubric(session, SINGLE_RUBRIC).document)
    doc["slug"] = "response-quality-interval"
    next(q for q in doc["questions"] if q["id"] == "overall")["level"] = "interval"
    project = single_project(session, doc, name="p290-interval")
    units, values = p290_values(reference_data)
    items = make_items(session, project, units, n_responses=1)
    rate_multisets(session, project, dict(zip(items, values, strict=True)), likert_answers)
    session.commit()

    overall = by_id(project_agreement(session, project, n_resamples=RESAMPLES), "overall")
    assert overall.result.level is Level.INTERVAL
    assert overall.result.alpha == pytest.approx(0.849, abs=TOLERANCE)


def pair_answer(choice: str, strength: int = 1) -> dict:
    helpful = {"choice": choice} if choice == "tie" else {"choice": choice, "strength": strength}
    return {"helpful": helpful, "harmless": {"choice": "tie"}}


def pairwise_project(session, k: int, name: str):
    load_shipped_rubric(session, PAIRWISE_RUBRIC)
    return create_project(session, name, PAIRWISE_RUBRIC, overlap_k=k)


def rate_by_rater(session, project, rows: list[list[dict]], items: list[int]) -> list[list[int]]:
    """Rater r gives ``rows[r][i]`` (canonical) to ``items[i]``; returns the display orders seen."""
    orders = []
    for row in rows:
        rater = make_rater(session)
        planned = dict(zip(items, row, strict=True))
        seen = []
        while (task := next_assignment(session, project, rater)) is not None:
            seen.append(list(session.get(Lease, task.lease_id).display_order))
            submit(session, rater, task, planned[task.item_id])
        assert len(seen) == len(items)
        orders.append(seen)
    return orders


def test_nominal_choice_alpha_matches_krippendorff_p227(session, reference_data):
    table = read_table(reference_data, "krippendorff-2004-p227.csv")
    project = pairwise_project(session, k=2, name="p227")
    items = list(make_items(session, project, table.unit_ids, n_responses=2))
    rows = [[pair_answer(LETTER_TO_CHOICE[v]) for v in rater_row] for rater_row in table.matrix]
    orders = rate_by_rater(session, project, rows, items)
    session.commit()
    # The two raters of each item saw it in opposite orders, so screen-orientation storage
    # would turn their agreements into disagreements.
    assert sum(order == [1, 0] for rater in orders for order in rater) == len(items)

    results = project_agreement(session, project, n_resamples=RESAMPLES)
    helpful = by_id(results, "helpful")
    assert helpful.result.level is Level.NOMINAL
    assert helpful.result.alpha == pytest.approx(0.734, abs=TOLERANCE)
    assert helpful.result.n_units == 12
    assert by_id(results, "harmless").result.alpha is None  # all ties: undefined


def test_signed_strength_is_ordinal_over_minus_max_to_max(session):
    # canonical answers of 3 raters on 5 items as signed strength (+A, -B, 0 tie)
    signed = np.array(
        [
            [3, -2, 0, 1, -1],
            [2, -2, 0, 1, 1],
            [3, -3, 1, 0, -1],
        ]
    )
    project = pairwise_project(session, k=3, name="strength")
    items = list(make_items(session, project, [f"s{i}" for i in range(signed.shape[1])], n_responses=2))

    def answer(value: int) -> dict:
        return pair_answer("tie") if value == 0 else pair_answer("A" if value > 0 else "B", abs(int(value)))

    rate_by_rater(session, project, [[answer(v) for v in row] for row in signed], items)
    session.commit()
    results = project_agreement(session, project, n_resamples=RESAMPLES)
    expected = krippendorff.alpha(
        reliability_data=signed, level_of_measurement="ordinal", value_domain=list(range(-3, 4))
    )
    strength = by_id(results, "helpful.strength")
    assert strength.result.level is Level.ORDINAL
    assert strength.result.alpha == pytest.approx(expected, abs=1e-9)
    choices = np.sign(signed)  # A=1, B=-1, tie=0 as nominal categories
    expected_choice = krippendorff.alpha(reliability_data=choices, level_of_measurement="nominal")
    assert by_id(results, "helpful").result.alpha == pytest.approx(expected_choice, abs=1e-9)


def test_perfect_agreement_on_choices_is_one(session):
    truth = ["A", "B", "tie", "A", "B", "A"]
    project = pairwise_project(session, k=3, name="perfect")
    items = list(make_items(session, project, [f"u{i}" for i in range(len(truth))], n_responses=2))
    rows = [[pair_answer(c, 2) for c in truth] for _ in range(3)]
    orders = rate_by_rater(session, project, rows, items)
    session.commit()
    assert any(order == [1, 0] for rater in orders for order in rater)
    results = project_agreement(session, project, n_resamples=RESAMPLES)
    assert by_id(results, "helpful").result.alpha == pytest.approx(1.0)
    assert by_id(results, "helpful.strength").result.alpha == pytest.approx(1.0)
    assert by_id(results, "helpful").result.n_values == 18


def test_alpha_is_reported_per_rubric_version(session):
    project = pairwise_project(session, k=2, name="versions")
    items = list(make_items(session, project, ["v1", "v2"], n_responses=2))
    rate_by_rater(session, project, [[pair_answer("A"), pair_answer("B")]] * 2, items)
    doc = dict(load_shipped_rubric(session, PAIRWISE_RUBRIC).document, guidelines="Second edition.")
    load_rubric(session, parse_rubric(doc))
    more = list(make_items(session, project, ["w1", "w2"], n_responses=2))
    rate_by_rater(
        session, project, [[pair_answer("A"), pair_answer("tie")], [pair_answer("B"), pair_answer("tie")]], more
    )
    session.commit()
    results = [r for r in project_agreement(session, project, n_resamples=RESAMPLES) if r.question_id == "helpful"]
    assert [r.rubric_version for r in results] == [1, 2]
    assert results[0].result.alpha == pytest.approx(1.0)
    assert results[0].result.n_units == 2 and results[1].result.n_units == 2
    # w1: A and B, w2: tie and tie -> n = 4, n_A = n_B = 1, n_tie = 2, two A/B coincidences:
    # alpha = 1 - (n - 1) * 2 / (2 * (1*1 + 1*2 + 1*2)) = 1 - 6 / 10
    assert results[1].result.alpha == pytest.approx(0.4)


def test_integral_float_answer_is_stored_as_an_integer(session):
    project = single_project(session, name="floats")
    make_items(session, project, ["f1"], n_responses=1)
    stored = []
    for overall in (7.0, 6):
        rater = make_rater(session)
        task = next_assignment(session, project, rater)
        try:
            recorded = record_judgment(session, rater, task.lease_id, likert_answers(overall), f"agree-{next(_n)}")
        except JudgmentInvalid as exc:  # rejecting 7.0 outright would be fine too
            assert [e.location for e in exc.errors] == ["/overall"]
            return
        stored.append(recorded.judgment.id)
    session.commit()
    overall = by_id(project_agreement(session, project, n_resamples=RESAMPLES), "overall")  # DataError on PostgreSQL
    assert overall.result.n_values == 2
    session.expire_all()
    assert all(type(session.get(Judgment, jid).answers["overall"]) is int for jid in stored)
