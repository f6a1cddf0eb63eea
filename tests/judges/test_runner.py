"""``judge run`` against the stub endpoint: verdicts, failures, orientation, confidence,
retries, resuming and sharing the work (SQLite by default; PostgreSQL with
``WORKBENCH_TEST_DATABASE_URL``)."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.judges.conftest import expected_choice, quality_items
from workbench.domain import LeasePurpose
from workbench.judges.runner import RunOptions, RunStopped, run_judge
from workbench.models import Item, JudgeAttempt, JudgeRun, JudgeVerdict, Lease, utcnow
from workbench.services.judges import add_judge
from workbench.services.rubrics import current_version

QUALITIES = [(3, 1), (1, 3), (2, 2), (0, 4), (4, 0), (1, 2), (2, 1), (5, 5), (0, 1), (1, 0)]


def _judge(session, stub, name, model, **over):
    judge = add_judge(session, name, stub.url, model, concurrency=over.pop("concurrency", 4), **over)
    session.commit()
    return judge


def run(session, engine, *args, **kwargs):
    """``run_judge``, after ending the test's transaction (SQLite holds its write lock)."""
    session.commit()
    return run_judge(engine, *args, **kwargs)


def _verdicts(session, judge, swapped=None):
    query = select(JudgeVerdict).where(JudgeVerdict.judge_id == judge.id).order_by(JudgeVerdict.item_id)
    if swapped is not None:
        query = query.where(JudgeVerdict.swapped.is_(swapped))
    session.expire_all()
    return list(session.scalars(query))


def test_run_stores_every_usable_verdict_and_fails_the_rest(session, engine, stub, project):
    items = quality_items(session, project, QUALITIES, broken={2, 5})
    judge = _judge(session, stub, "j", "consistent")
    summary = run(session, engine, project.name, "j")
    assert (summary.judged, summary.failed, summary.skipped) == (8, 2, 0)
    verdicts = _verdicts(session, judge)
    by_item = {v.item_id: v for v in verdicts}
    for n, (item, (qa, qb)) in enumerate(zip(items, QUALITIES, strict=True)):
        if n in (2, 5):
            assert item.id not in by_item
            continue
        v = by_item[item.id]
        assert v.answers["helpful"]["choice"] == expected_choice(qa, qb)  # canonical, whatever the screen order
        assert v.swapped is False and v.rubric_version_id == current_version(session, project).id
        assert v.lease_id is not None and v.prompt_tokens > 0
    attempts = list(session.scalars(select(JudgeAttempt).where(JudgeAttempt.judge_id == judge.id)))
    assert sorted(a.item_id for a in attempts) == sorted([items[2].id, items[5].id])
    assert all("no JSON today" in a.raw and "not JSON" in a.error for a in attempts)
    # invalid answers were asked three times (two retries), with the problem told
    broken_asks = [r for r in stub.requests if "[broken]" in r["messages"][-1]["content"] or len(r["messages"]) > 2]
    assert len([r for r in broken_asks if len(r["messages"]) > 2]) == 4
    judge_run = session.get(JudgeRun, summary.run_id)
    assert (judge_run.judged, judge_run.failed, judge_run.prompt_tokens) == (
        8,
        2,
        summary.prompt_tokens,
    ) and judge_run.finished_at is not None
    # every lease is settled: nothing is left for the judge
    assert run(session, engine, project.name, "j").as_json()["judged"] == 0


def test_invalid_answer_retried_then_accepted_and_fenced_json_read(session, engine, stub, project):
    quality_items(session, project, QUALITIES[:4])
    flaky = _judge(session, stub, "flaky", "flaky")
    fenced = _judge(session, stub, "fenced", "fenced+nologprobs")
    assert run(session, engine, project.name, "flaky").judged == 4
    assert run(session, engine, project.name, "fenced").judged == 4
    assert len(_verdicts(session, flaky)) == 4 and len(_verdicts(session, fenced)) == 4
    assert session.scalar(select(func.count()).select_from(JudgeAttempt)) == 0


def test_answers_that_do_not_fit_the_rubric_are_failed_attempts(session, engine, stub, project):
    quality_items(session, project, QUALITIES[:3])
    judge = _judge(session, stub, "off", "offrubric")
    summary = run(session, engine, project.name, "off")
    assert (summary.judged, summary.failed) == (0, 3)
    assert _verdicts(session, judge) == []
    errors = session.scalars(select(JudgeAttempt.error)).all()
    assert all('"C" is not one of' in e for e in errors)


def test_both_orders_store_the_swapped_verdict_in_canonical_orientation(session, engine, stub, project):
    quality_items(session, project, QUALITIES)
    consistent = _judge(session, stub, "c", "consistent")
    biased = _judge(session, stub, "first", "first")
    run(session, engine, project.name, "c", RunOptions(both_orders=True))
    run(session, engine, project.name, "first", RunOptions(both_orders=True))
    items = {i.id: i for i in session.scalars(select(Item).where(Item.project_id == project.id))}
    straight, swapped = _verdicts(session, consistent, False), _verdicts(session, consistent, True)
    assert len(straight) == len(swapped) == 10
    for s, w in zip(straight, swapped, strict=True):
        assert s.item_id == w.item_id and w.display_order == list(reversed(s.display_order))
        assert s.answers["helpful"] == w.answers["helpful"]  # a consistent judge survives the swap
    # the biased judge always picks the first shown: canonically, whichever response was on the left
    sides = set()
    for v in _verdicts(session, biased):
        shown_first = v.display_order[0]
        assert v.answers["helpful"]["choice"] == "AB"[shown_first]
        sides.add(shown_first)
        assert items[v.item_id] is not None
    assert sides == {0, 1}


def test_confidence_from_logprobs_matches_a_hand_computation(session, engine, stub, project):
    quality_items(session, project, QUALITIES[:3])
    # chosen 0.6; the other two options 0.25 and 0.1; a token "C" (no option) 0.05
    judge = _judge(session, stub, "lp", "consistent+probs=0.6,0.25,0.1,0.05")
    run(session, engine, project.name, "lp")
    expected = 0.6 / (0.6 + 0.25 + 0.1)
    for v in _verdicts(session, judge):
        assert v.confidence_method == "logprobs"
        assert v.confidences == {
            "helpful": pytest.approx(expected, abs=1e-6),
            "harmless": pytest.approx(expected, abs=1e-6),
        }
    assert math.isclose(expected, 0.631578947, rel_tol=1e-8)


def test_without_logprobs_confidence_is_agreement_across_orders_and_samples(session, engine, stub, project):
    quality_items(session, project, [(3, 1), (1, 3)])
    biased = _judge(session, stub, "fb", "first+nologprobs")
    steady = _judge(session, stub, "cs", "consistent+nologprobs")
    single = _judge(session, stub, "one", "consistent+nologprobs")
    run(session, engine, project.name, "fb", RunOptions(both_orders=True, samples=2))
    run(session, engine, project.name, "cs", RunOptions(both_orders=True))
    run(session, engine, project.name, "one")
    for v in _verdicts(session, biased):  # two samples say A-side, two the other: half agree
        assert v.confidence_method == "consistency" and v.confidences["helpful"] == 0.5
    for v in _verdicts(session, steady):
        assert v.confidence_method == "consistency" and v.confidences["helpful"] == 1.0
    for v in _verdicts(session, single):  # one answer only: no confidence to report
        assert v.confidence_method is None and v.confidences == {}
    assert len([r for r in stub.requests if r["model"] == "first+nologprobs"]) == 2 * 2 * 2


def test_rate_limits_are_retried_after_the_time_asked(session, engine, stub, project):
    quality_items(session, project, QUALITIES[:3])
    judge = _judge(session, stub, "rl", "consistent+ratelimit=1", concurrency=3)
    began = time.monotonic()
    summary = run(session, engine, project.name, "rl")
    assert time.monotonic() - began >= 1.0
    assert summary.judged == 3 and len(_verdicts(session, judge)) == 3
    assert len(stub.requests) == 6  # each prompt: a 429, then the answer


def test_server_errors_fail_the_item_and_give_it_back(session, engine, stub, project, fast_backoff):
    quality_items(session, project, QUALITIES[:2])
    judge = _judge(session, stub, "down", "status=503")
    summary = run(session, engine, project.name, "down")
    assert (summary.judged, summary.failed) == (0, 2)
    assert len(stub.requests) == 2 * 7  # each item: the request and six retries
    leases = list(session.scalars(select(Lease).where(Lease.rater_id == judge.user_id)))
    assert all(lease.completed_at is None for lease in leases)  # released for a later run
    judge.model = "consistent"
    session.commit()
    assert run(session, engine, project.name, "down").judged == 2


def test_a_refused_judge_stops_the_run_and_releases_its_items(session, engine, stub, project):
    quality_items(session, project, QUALITIES)
    judge = _judge(session, stub, "nokey", "status=401")
    with pytest.raises(RunStopped, match="401"):
        run(session, engine, project.name, "nokey")
    session.expire_all()
    leases = list(session.scalars(select(Lease).where(Lease.rater_id == judge.user_id)))
    assert leases and all(lease.completed_at is None and lease.expires_at <= utcnow() for lease in leases)
    judge.model = "consistent"
    session.commit()
    assert run(session, engine, project.name, "nokey").judged == 10


def test_a_stopped_run_resumes_where_it_stopped(session, engine, stub, project):
    quality_items(session, project, QUALITIES)
    judge = _judge(session, stub, "r", "consistent")
    assert run(session, engine, project.name, "r", RunOptions(limit=4)).judged == 4
    seen = []

    class Crash(Exception):
        pass

    def crash_after_two(n):
        seen.append(n)
        if len(seen) == 2:
            raise Crash

    with pytest.raises(Crash):
        run(session, engine, project.name, "r", progress=crash_after_two)
    before = len(_verdicts(session, judge))
    assert 4 < before < 10
    assert run(session, engine, project.name, "r").judged == 10 - before
    verdicts = _verdicts(session, judge)
    assert sorted(v.item_id for v in verdicts) == sorted({v.item_id for v in verdicts}) and len(verdicts) == 10
    # only the items in flight at the crash were asked again
    requests = [r["messages"][-1]["content"] for r in stub.requests]
    assert len(requests) - len(set(requests)) <= judge.concurrency + 1


def test_expired_leases_of_a_stopped_runner_are_taken_and_live_ones_are_not(session, engine, stub, project):
    items = quality_items(session, project, QUALITIES[:5])
    judge = _judge(session, stub, "x", "consistent")
    version = current_version(session, project)
    past = utcnow() - timedelta(hours=1)
    for item, expires in ((items[0], past + timedelta(minutes=10)), (items[1], utcnow() + timedelta(hours=1))):
        session.add(Lease(project_id=project.id, item_id=item.id, rater_id=judge.user_id, rubric_version_id=version.id,
                          purpose=LeasePurpose.JUDGE, display_order=[0, 1], issued_at=past, expires_at=expires))  # fmt: skip
    session.commit()
    assert run(session, engine, project.name, "x").judged == 4
    judged = {v.item_id for v in _verdicts(session, judge)}
    assert items[0].id in judged and items[1].id not in judged


def test_gold_items_and_incomplete_pairs_are_not_judged(session, engine, stub, project):
    items = quality_items(session, project, QUALITIES[:3])
    items[0].is_gold = True
    items[1].responses.pop()
    session.commit()
    _judge(session, stub, "g", "consistent")
    summary = run(session, engine, project.name, "g")
    assert (summary.judged, summary.skipped) == (1, 1)


def test_cost_is_recorded_per_run(session, engine, stub, project):
    quality_items(session, project, QUALITIES[:3])
    _judge(session, stub, "c", "consistent")
    summary = run(session, engine, project.name, "c", RunOptions(price_in=2.5, price_out=10.0))
    judge_run = session.get(JudgeRun, summary.run_id)
    assert judge_run.cost == pytest.approx((summary.prompt_tokens * 2.5 + summary.completion_tokens * 10.0) / 1e6)
    assert (judge_run.price_in, judge_run.price_out) == (2.5, 10.0) and judge_run.prompt_tokens > 0
