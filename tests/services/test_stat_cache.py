"""The statistics cache: reused while nothing changed, recomputed after a change once the
freshness bound has passed, never caching an error; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import PAIR_ANSWER, make_items, make_project, make_rater
from workbench.models import StatCache
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
