"""The statistics cache: reused while nothing changed, recomputed after a change once the
freshness bound has passed, never caching an error; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import PAIR_ANSWER, make_items, make_project, make_rater
from workbench.models import Judgment, StatCache
from workbench.services import stat_cache
from workbench.services.assignment import next_assignment
from workbench.services.judging import record_judgment
from workbench.services.project_figures import calibration_figures
from workbench.stats.calibration import Thresholds


def _judge(session, project, rater, key):
    task = next_assignment(session, project, rater)
    record_judgment(session, rater, task.lease_id, PAIR_ANSWER, key)


def test_cached_until_the_state_changes_and_the_bound_passes(session, monkeypatch):
    project = make_project(session, overlap_k=2)
    make_items(session, project, 3)
    rater = make_rater(session)
    _judge(session, project, rater, "k1")
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    first = stat_cache.cached(session, project, "probe", (), compute)
    again = stat_cache.cached(session, project, "probe", (), compute)
    assert (first.value, again.value, len(calls)) == (1, 1, 1)
    _judge(session, project, rater, "k2")  # a new judgment, but within the freshness bound
    assert stat_cache.cached(session, project, "probe", (), compute).value == 1
    row = session.get(StatCache, (project.id, stat_cache._key("probe", ())))
    row.computed_at -= stat_cache.FRESHNESS + timedelta(seconds=1)
    session.flush()
    assert stat_cache.cached(session, project, "probe", (), compute).value == 2  # stale and changed: recomputed
    row.computed_at -= stat_cache.FRESHNESS + timedelta(seconds=1)
    session.flush()
    assert stat_cache.cached(session, project, "probe", (), compute).value == 2  # old but unchanged: reused
    assert stat_cache.cached(session, project, "probe", ("other",), compute).value == 3  # other parameters


def test_an_error_is_raised_and_not_cached(session):
    project = make_project(session)

    def broken():
        raise ValueError("no figures")

    with pytest.raises(ValueError):
        stat_cache.cached(session, project, "broken", (), broken)
    assert session.get(StatCache, (project.id, stat_cache._key("broken", ()))) is None


def test_cached_figures_equal_fresh_ones(session):
    from workbench.services.calibration import rater_calibration

    project = make_project(session, overlap_k=2)
    make_items(session, project, 3)
    for n in range(2):
        rater = make_rater(session)
        for k in range(3):
            _judge(session, project, rater, f"r{n}k{k}")
    fresh = rater_calibration(session, project, thresholds=Thresholds())
    calibration_figures(session, project, Thresholds())
    session.expire_all()
    from_cache = calibration_figures(session, project, Thresholds()).value  # read back from the table
    assert [(r.user_id, r.calibration.n_judgments, r.calibration.flags) for r in from_cache.rows] == [
        (r.user_id, r.calibration.n_judgments, r.calibration.flags) for r in fresh.rows
    ]


def test_the_disagreement_queue_shares_its_rows_and_shows_decisions_at_once(session, monkeypatch):
    from tests.factories import make_item
    from tests.services.test_quality_loop import judge, pair
    from workbench.services.adjudication import DisagreementRule, record_adjudication
    from workbench.services.project_figures import disagreement_figures

    project = make_project(session, overlap_k=2)
    r1, r2, lead = make_rater(session), make_rater(session), make_rater(session)
    items = [make_item(session, project) for _ in range(3)]
    for item in items[:2]:
        judge(session, project, item, r1, pair("A", 1))
        judge(session, project, item, r2, pair("B", 1))
    rule = DisagreementRule()
    first = disagreement_figures(session, project, "helpful", rule)
    assert [r.item_id for r in first.value.open] == [items[0].id, items[1].id]
    record_adjudication(session, project, items[0].id, "helpful", {"choice": "A", "strength": 1}, "A.", lead)
    judge(session, project, items[2], r1, pair("A", 1))
    judge(session, project, items[2], r2, pair("B", 1))
    shared = disagreement_figures(session, project, "helpful", rule)
    assert shared.computed_at == first.computed_at  # the rows are shared within the freshness bound...
    assert [r.item_id for r in shared.value.open] == [items[1].id]  # ...the decision shows at once
    assert [(r.item_id, r.note) for r in shared.value.resolved] == [(items[0].id, "A.")]
    monkeypatch.setattr(stat_cache, "FRESHNESS", timedelta(0))
    fresh = disagreement_figures(session, project, "helpful", rule)
    assert [r.item_id for r in fresh.value.open] == [items[1].id, items[2].id]  # the new disagreement, once due


def test_the_fingerprint_moves_with_everything_the_statistics_read(session):
    from tests.factories import make_item
    from workbench.services.adjudication import promote_to_gold, record_adjudication
    from workbench.services.spot_checks import review_spot_check, sample_spot_checks, spot_check_queue

    project = make_project(session, overlap_k=2)
    make_items(session, project, 3)
    rater, lead = make_rater(session), make_rater(session)
    states = [stat_cache.project_state(session, project.id)]

    def moved() -> bool:
        states.append(stat_cache.project_state(session, project.id))
        return states[-1] != states[-2]

    assert not moved()  # nothing happened
    _judge(session, project, rater, "f1")
    assert moved()  # a judgment
    _judge(session, project, rater, "f2")
    assert moved()
    make_item(session, project)
    assert moved()  # an item
    item_id = session.query(Judgment.item_id).order_by(Judgment.id).first()[0]
    record_adjudication(session, project, item_id, "helpful", {"choice": "A", "strength": 1}, "A.", lead)
    assert moved()  # an adjudication
    promote_to_gold(session, project, item_id)
    assert moved()  # promoted to gold
    sample_spot_checks(session, project, per_rater=1, seed=1)
    check = spot_check_queue(session, project).pending[0].check
    review_spot_check(session, project, check.id, True, "", lead, "helpful")
    assert moved()  # a reviewed spot check
    assert not moved()
