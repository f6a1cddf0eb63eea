"""Diffs between rubric versions (pure): guidelines line by line, questions by structure."""

from __future__ import annotations

import copy

import pytest

from workbench.paths import resource_dir
from workbench.rubric import load_rubric_file
from workbench.rubric.diff import answer_space, rubric_diff, text_diff


@pytest.fixture
def hhh():
    return load_rubric_file(resource_dir("rubrics") / "pairwise-hhh.yaml").data


def by_id(diff):
    return {q.id: q for q in diff.questions}


def test_identical_versions_have_no_changes(hhh):
    diff = rubric_diff(hhh, copy.deepcopy(hhh))
    assert diff.counts["unchanged"] == len(hhh["questions"]) and diff.counts["meaning"] == 0
    assert not diff.guidelines_changed and diff.header == ()


def test_text_diff_pairs_lines_and_marks_words():
    rows = text_diff("one\ntwo words here\nthree\n", "one\ntwo other words here\nfour\nfive\n")
    kinds = [r.kind for r in rows]
    assert kinds == ["equal", "replace", "replace", "insert"]
    changed_right = [s.text for s in rows[1].right if s.changed]
    assert changed_right == ["other "] or "".join(changed_right).strip() == "other"
    assert rows[3].left is None and rows[3].right_no == 4


@pytest.mark.parametrize(
    ("edit", "qid", "reason"),
    [
        (lambda q: q.update(allow_tie=False), "harmless", "choices A/B/tie → A/B"),
        (lambda q: q["strength"].update(max=5), "helpful", "strength 3 → 5"),
        (lambda q: q.update(both_bad=False), "helpful", "both bad yes → no"),
        (lambda q: q.update(max=7), "quality", "max 5 → 7"),
        (lambda q: q.update(per_response=False), "quality", "per response yes → no"),
    ],
)
def test_answer_space_changes_are_meaning_changes(hhh, edit, qid, reason):
    new = copy.deepcopy(hhh)
    edit(next(q for q in new["questions"] if q["id"] == qid))
    change = by_id(rubric_diff(hhh, new))[qid]
    assert change.kind == "changed" and change.meaning_change and reason in change.meaning_reasons


def test_wording_and_labels_are_not_meaning_changes(hhh):
    new = copy.deepcopy(hhh)
    helpful = new["questions"][0]
    helpful["prompt"] = "Which one helps more?"
    helpful["strength"]["labels"]["3"] = "far better"
    helpful["examples"].pop()
    change = by_id(rubric_diff(hhh, new))["helpful"]
    assert change.kind == "changed" and not change.meaning_change
    fields = {f.field: (f.before, f.after) for f in change.fields}
    assert fields["prompt"] == ("Which response is more helpful?", "Which one helps more?")
    assert fields["strength label 3"] == ("much better", "far better")
    assert fields["examples"][0].startswith("2 examples") and fields["examples"][1].startswith("1 example ")


def test_added_removed_and_renamed_questions(hhh):
    new = copy.deepcopy(hhh)
    new["questions"][1]["id"] = "truthful"  # same prompt: a rename
    del new["questions"][3]  # quality
    new["questions"].append({"id": "refused", "type": "binary", "prompt": "Did either response refuse?"})
    diff = rubric_diff(hhh, new)
    changes = by_id(diff)
    assert (changes["truthful"].kind, changes["truthful"].old_id) == ("renamed", "honest")
    assert changes["quality"].kind == "removed" and changes["refused"].kind == "added"
    assert [q.id for q in diff.questions][-1] == "quality"  # removed ones last
    assert diff.counts == {"added": 1, "removed": 1, "renamed": 1, "changed": 0, "unchanged": 3, "meaning": 0}


def test_categorical_option_changes():
    q = {
        "id": "topic",
        "type": "categorical",
        "prompt": "Topic?",
        "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
    }
    relabelled = {**q, "options": [{"value": "a", "label": "Alpha"}, {"value": "b", "label": "B"}]}
    extended = {**q, "options": q["options"] + [{"value": "c", "label": "C"}]}
    doc = {"slug": "s", "title": "t", "task_kind": "single", "guidelines": "g", "questions": [q]}
    assert not by_id(rubric_diff(doc, {**doc, "questions": [relabelled]}))["topic"].meaning_change
    change = by_id(rubric_diff(doc, {**doc, "questions": [extended]}))["topic"]
    assert change.meaning_change and change.meaning_reasons == ("options added c",)
    assert answer_space({**q, "multiple": True}) != answer_space(q)


def test_type_change_is_a_meaning_change():
    old = {
        "slug": "s",
        "title": "t",
        "task_kind": "single",
        "guidelines": "g",
        "questions": [{"id": "ok", "type": "binary", "prompt": "OK?"}],
    }
    new = {**old, "questions": [{"id": "ok", "type": "likert", "prompt": "OK?", "min": 1, "max": 3}]}
    change = by_id(rubric_diff(old, new))["ok"]
    assert change.meaning_change and change.meaning_reasons == ("type binary → likert",)
