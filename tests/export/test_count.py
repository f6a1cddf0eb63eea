"""The count the export page shows: the export's own counts, without writing anything."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from tests.export.test_shapes import judge, rated  # noqa: F401 - rated is a fixture
from tests.factories import make_item, make_project, make_user
from workbench.errors import InvalidInput
from workbench.export import AGGREGATES, TIE_POLICIES, ExportOptions, count_preferences, export_preferences
from workbench.models import Item
from workbench.services.adjudication import record_adjudication


def test_counts_by_hand(session, rated):  # noqa: F811
    project, _ = rated  # q1 A 2:1, q2 B 3:0, q3 tie 2:1, q4 A:B 1:1 (no majority)
    plain = count_preferences(session, project)
    assert (plain.items_considered, plain.exported, plain.rows, plain.ratings) == (4, 2, 2, 11)
    assert (plain.dropped_tie, plain.dropped_no_majority, plain.dropped_too_few_raters) == (1, 1, 0)
    split = count_preferences(session, project, ExportOptions(ties="split"))
    assert (split.exported, split.rows, split.dropped_tie) == (3, 4, 0)  # the tie gives two rows
    kto = count_preferences(session, project, ExportOptions(shape="kto"))
    assert (kto.exported, kto.rows) == (2, 4)  # a chosen and a rejected row per preference
    strict = count_preferences(session, project, ExportOptions(min_raters=3, min_agreement=0.9))
    assert (strict.dropped_too_few_raters, strict.dropped_low_agreement, strict.exported) == (1, 2, 1)
    per_rater = count_preferences(session, project, ExportOptions(aggregate="per_rater", ties="keep"))
    assert (per_rater.items_considered, per_rater.exported, per_rater.rows) == (11, 11, 11)


@pytest.fixture
def mixed(session):
    """Majorities, ties and splits; gold, a honeypot and an unjudged item; an adjudication."""
    project = make_project(session, overlap_k=3, name="mixed")
    votes = {}
    patterns = ["AAB", "BBB", "AB", "TTA", "ABT", "A", "BBT", "TT"]
    for n, pattern in enumerate(patterns * 2):
        name = f"i{n:02d}"
        make_item(session, project, external_id=name)
        votes[name] = [
            (rater, {"T": "tie"}.get(c, c), 1 + (n + k) % 3)
            for k, (rater, c) in enumerate(zip("abc", pattern, strict=False))
        ]
    make_item(session, project, external_id="gold", is_gold=True)
    make_item(session, project, external_id="honey", meta={"honeypot": True})
    make_item(session, project, external_id="unjudged")
    votes.update(gold=[("a", "A", 1), ("b", "A", 2)], honey=[("b", "B", 1)])
    judge(session, project, votes)
    split = session.query(Item).filter_by(project_id=project.id, external_id="i02").one()
    record_adjudication(
        session, project, split.id, "helpful", {"choice": "B", "strength": 2}, "B.", make_user(session, "admin")
    )
    return project


def _option_sets():
    for aggregate, ties in itertools.product(AGGREGATES, TIE_POLICIES):
        yield ExportOptions(aggregate=aggregate, ties=ties)
    yield ExportOptions(shape="kto")
    yield ExportOptions(aggregate="per_rater", shape="kto")
    yield ExportOptions(min_raters=2, min_agreement=0.6, ties="keep")
    yield ExportOptions(include_gold=True, ties="split")
    yield ExportOptions(prefer_adjudicated=False)
    yield ExportOptions(question_id="harmless", ties="keep")
    yield ExportOptions(rubric_version=1, batch_size=2)
    yield ExportOptions(exclude_flagged_raters=True, aggregate="per_rater")


@pytest.mark.parametrize("options", list(_option_sets()), ids=lambda o: f"{o.aggregate}-{o.ties}-{o.shape}")
def test_the_count_is_what_the_export_reports(session, mixed, tmp_path, options):
    counts = count_preferences(session, mixed, options)
    summary = export_preferences(session, mixed, tmp_path, dataclasses.replace(options, alpha_resamples=0))
    assert dataclasses.asdict(counts) == {key: getattr(summary, key) for key in dataclasses.asdict(counts)}
    assert counts.items_considered > 0


def test_the_count_refuses_what_the_export_refuses(session, mixed):
    with pytest.raises(InvalidInput, match="not a question of this rubric"):
        count_preferences(session, mixed, ExportOptions(question_id="nope"))
    with pytest.raises(InvalidInput, match="no judgments under version 7"):
        count_preferences(session, mixed, ExportOptions(rubric_version=7))
