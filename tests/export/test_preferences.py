"""Preference export: orientation, majority, margins, shapes, determinism, manifest.

Judgments are made through the services (``next_assignment`` then ``record_judgment``)
with answers in *screen* orientation: a rater "clicks" the slot showing the text they
prefer, so the leases' display orders really are exercised.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy import select

from tests.factories import PAIRWISE_RUBRIC, load_shipped_rubric, make_item, make_project, make_rater
from workbench.errors import InvalidInput
from workbench.export import CARD_FILE, MANIFEST_FILE, PREFERENCES_FILE, ExportOptions, export_preferences
from workbench.export import writers as writers_module
from workbench.models import Item, Judgment, Lease, Project
from workbench.paths import resource_dir
from workbench.rubric import load_rubric_file, parse_rubric
from workbench.services.assignment import RatingTask, next_assignment
from workbench.services.imports import import_items
from workbench.services.judging import record_judgment
from workbench.services.projects import create_project
from workbench.services.rubrics import load_rubric

LLMBAR = Path(__file__).resolve().parents[1] / "data" / "preferences" / "llmbar" / "LLMBar_Natural.dataset.json"
_keys = itertools.count(1)


# -- helpers -------------------------------------------------------------------------------


def slot_showing(task: RatingTask, text: str) -> str:
    """The screen slot (A = left) on which the rater sees ``text``."""
    slots = [r.slot for r in task.responses if r.text == text]
    assert len(slots) == 1, "test items need two distinct response texts"
    return slots[0]


def screen_answers(
    task: RatingTask, item: Item, canonical: str, strength: int | None, question: str = "helpful"
) -> dict:
    """What a rater clicks to prefer the item's response ``canonical`` (A = position 0)."""
    if canonical == "tie":
        pick: dict = {"choice": "tie"}
    else:
        pick = {"choice": slot_showing(task, item.responses["AB".index(canonical)].text)}
        if strength is not None:
            pick["strength"] = strength
    if question == "helpful":
        return {"helpful": pick, "harmless": {"choice": "tie"}}
    return {question: pick}


def rate(session, project: Project, rater, plan: dict[int, tuple], question: str = "helpful") -> dict[int, tuple]:
    """Let ``rater`` work through the queue, answering per ``plan[item_id] = (choice, strength)``.

    Stops at the first offered item not in the plan (its lease stays open). Returns
    ``{item_id: (display_order, screen_answers)}``.
    """
    seen = {}
    items = {item_id: session.get(Item, item_id) for item_id in plan}
    while (task := next_assignment(session, project, rater)) is not None and task.item_id in plan:
        choice, strength = plan[task.item_id]
        answers = screen_answers(task, items[task.item_id], choice, strength, question)
        record_judgment(session, rater, task.lease_id, answers, idempotency_key=f"key-{next(_keys)}")
        seen[task.item_id] = (session.get(Lease, task.lease_id).display_order, answers)
    return seen


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def export(session, project, out: Path, **kwargs):
    summary = export_preferences(session, project, out, ExportOptions(**kwargs))
    return summary, read_lines(summary.preferences_path)


# -- orientation ---------------------------------------------------------------------------


def test_swapped_rater_clicking_left_exports_the_second_response(session, tmp_path):
    project = make_project(session, overlap_k=2)
    item = make_item(session, project)
    straight_rater, swapped_rater = make_rater(session), make_rater(session)
    tasks = {r.id: next_assignment(session, project, r) for r in (straight_rater, swapped_rater)}
    orders = {rid: session.get(Lease, t.lease_id).display_order for rid, t in tasks.items()}
    assert sorted(orders.values()) == [[0, 1], [1, 0]], "counterbalancing gives the second rater the other side"
    if orders[straight_rater.id] == [1, 0]:
        straight_rater, swapped_rater = swapped_rater, straight_rater
    task = tasks[swapped_rater.id]
    assert task.responses[0].text == item.responses[1].text  # the left side shows the second response

    record_judgment(
        session,
        swapped_rater,
        task.lease_id,
        {"helpful": {"choice": "A", "strength": 3}, "harmless": {"choice": "tie"}},
        "left-click",
    )
    stored = session.scalars(select(Judgment)).one()
    assert stored.answers["helpful"]["choice"] == "B"

    summary, lines = export(session, project, tmp_path)
    assert summary.exported == 1
    [line] = lines
    assert line["chosen"] == item.responses[1].text
    assert line["rejected"] == item.responses[0].text
    assert line["chosen_model"] == item.responses[1].model
    assert line["margin"] == 3.0 and line["agreement"] == 1.0 and line["n_ratings"] == 1


def test_raters_on_opposite_sides_agree_in_canonical_orientation(session, tmp_path):
    project = make_project(session, overlap_k=2)
    item = make_item(session, project)
    seen = {}
    for rater in (make_rater(session), make_rater(session)):
        seen.update({rater.id: rate(session, project, rater, {item.id: ("B", 2)})[item.id]})
    orders_and_clicks = sorted((order, answers["helpful"]["choice"]) for order, answers in seen.values())
    # The straight rater clicked right, the swapped one left: screen answers disagree ...
    assert orders_and_clicks == [([0, 1], "B"), ([1, 0], "A")]
    _, [line] = export(session, project, tmp_path)
    # ... yet both preferred the same response, so there is a unanimous majority.
    assert line["chosen"] == item.responses[1].text
    assert (line["n_ratings"], line["agreement"], line["margin"]) == (2, 1.0, 2.0)


def test_model_names_never_decide_orientation(session, tmp_path):
    project = make_project(session, overlap_k=3)
    named = make_item(session, project, external_id="named")
    named.responses[0].model, named.responses[1].model = "zeta", "alpha"  # sorting by name would swap them
    same = make_item(session, project, external_id="same")
    same.responses[0].model = same.responses[1].model = "one-model"
    session.flush()
    for rater in (make_rater(session), make_rater(session), make_rater(session)):
        rate(session, project, rater, {named.id: ("A", 1), same.id: ("B", 1)})
    _, lines = export(session, project, tmp_path)
    by_id = {line["item_id"]: line for line in lines}
    assert by_id["named"]["chosen"] == named.responses[0].text
    assert (by_id["named"]["chosen_model"], by_id["named"]["rejected_model"]) == ("zeta", "alpha")
    assert by_id["same"]["chosen"] == same.responses[1].text
    assert by_id["same"]["rejected"] == same.responses[0].text
    assert by_id["same"]["chosen_model"] == by_id["same"]["rejected_model"] == "one-model"


# -- majority, ties, margin, agreement -----------------------------------------------------


def test_majority_margin_and_agreement_by_hand(session, tmp_path):
    project = make_project(session, overlap_k=3)
    items = {name: make_item(session, project, external_id=name) for name in ("q1", "q2", "q3", "q4", "q5")}
    votes = {  # canonical (choice, strength) of raters 1, 2, 3
        "q1": [("A", 3), ("A", 1), ("B", 2)],  # A; margin (3 + 1 - 2) / 3; agreement 2/3
        "q2": [("B", 2), ("B", 2), ("tie", None)],  # B; margin (2 + 2 + 0) / 3; agreement 2/3
        "q3": [("A", 1), ("B", 1), ("tie", None)],  # one vote each: no majority
        "q4": [("tie", None), ("tie", None), ("A", 3)],  # majority tie
        "q5": [("B", 3), ("B", 3), ("B", 3)],  # unanimous B; margin 3
    }
    for index in range(3):
        rater = make_rater(session)
        rate(session, project, rater, {items[name].id: votes[name][index] for name in votes})

    summary, lines = export(session, project, tmp_path)
    by_id = {line["item_id"]: line for line in lines}
    assert list(by_id) == ["q1", "q2", "q5"]
    assert by_id["q1"]["chosen"] == items["q1"].responses[0].text
    assert by_id["q1"]["margin"] == pytest.approx(2 / 3) and by_id["q1"]["agreement"] == pytest.approx(2 / 3)
    assert by_id["q2"]["chosen"] == items["q2"].responses[1].text
    assert by_id["q2"]["margin"] == pytest.approx(4 / 3) and by_id["q2"]["agreement"] == pytest.approx(2 / 3)
    assert (by_id["q5"]["margin"], by_id["q5"]["agreement"], by_id["q5"]["n_ratings"]) == (3.0, 1.0, 3)
    assert (summary.items_considered, summary.exported) == (5, 3)
    assert (summary.dropped_no_majority, summary.dropped_tie, summary.dropped_too_few_raters) == (1, 1, 0)
    assert summary.ratings == 15

    kept, kept_lines = export(session, project, tmp_path / "keep-ties", ties="keep")
    assert [(line["item_id"], line["tie"], line["weight"]) for line in kept_lines] == [
        ("q1", False, 1.0), ("q2", False, 1.0), ("q4", True, 1.0), ("q5", False, 1.0),
    ]  # fmt: skip
    tie_line = kept_lines[2]
    assert (tie_line["chosen"], tie_line["rejected"]) == (items["q4"].responses[0].text, items["q4"].responses[1].text)
    assert (tie_line["margin"], tie_line["agreement"]) == (0.0, pytest.approx(2 / 3))
    assert (kept.dropped_tie, kept.exported, kept.rows) == (0, 4, 4)
    assert json.loads(kept.manifest_path.read_text())["filters"]["drop_ties"] is False

    split, split_lines = export(session, project, tmp_path / "split-ties", ties="split")
    q4 = [line for line in split_lines if line["item_id"] == "q4"]
    assert [(line["chosen"], line["weight"]) for line in q4] == [
        (items["q4"].responses[0].text, 0.5), (items["q4"].responses[1].text, 0.5),
    ]  # fmt: skip
    assert (split.exported, split.rows) == (4, 5)


def test_two_raters_disagreeing_or_half_tie_have_no_majority(session, tmp_path):
    project = make_project(session, overlap_k=2)
    split = make_item(session, project, external_id="split")
    half_tie = make_item(session, project, external_id="half-tie")
    rate(session, project, make_rater(session), {split.id: ("A", 1), half_tie.id: ("A", 2)})
    rate(session, project, make_rater(session), {split.id: ("B", 1), half_tie.id: ("tie", None)})
    summary, lines = export(session, project, tmp_path)
    assert lines == []
    assert (summary.items_considered, summary.dropped_no_majority, summary.exported) == (2, 2, 0)


def test_missing_strength_counts_as_one(session, tmp_path):
    doc = parse_rubric(
        {
            "slug": "pairwise-plain",
            "title": "Plain pairwise",
            "task_kind": "pairwise",
            "guidelines": "Pick the better response.",
            "questions": [{"id": "better", "type": "pairwise", "label": "Better", "prompt": "Which is better?"}],
        }
    )
    load_rubric(session, doc)
    project = create_project(session, "plain", "pairwise-plain", overlap_k=3)
    item = make_item(session, project)
    for choice in ("B", "B", "A"):
        rate(session, project, make_rater(session), {item.id: (choice, None)}, question="better")
    summary, [line] = export(session, project, tmp_path)
    assert summary.question_id == "better"
    assert line["chosen"] == item.responses[1].text
    assert line["margin"] == pytest.approx((1 + 1 - 1) / 3)
    assert line["agreement"] == pytest.approx(2 / 3)


def test_min_raters_drops_thin_items(session, tmp_path):
    project = make_project(session, overlap_k=3)
    full = make_item(session, project, external_id="full")  # first: offered before "thin" on equal counts
    thin = make_item(session, project, external_id="thin")
    for n in range(3):
        plan = {full.id: ("A", 2)} if n == 2 else {thin.id: ("A", 2), full.id: ("A", 2)}
        rate(session, project, make_rater(session), plan)
    summary, lines = export(session, project, tmp_path, min_raters=3)
    assert [line["item_id"] for line in lines] == ["full"]
    assert (summary.items_considered, summary.dropped_too_few_raters) == (2, 1)
    _, lines = export(session, project, tmp_path, min_raters=2)
    assert [line["item_id"] for line in lines] == ["full", "thin"]


def test_superseded_judgments_do_not_count(session, tmp_path):
    project = make_project(session, overlap_k=3)
    item = make_item(session, project)
    for choice in ("A", "B", "B"):
        rate(session, project, make_rater(session), {item.id: (choice, 1)})
    judgments = session.scalars(select(Judgment).order_by(Judgment.id)).all()
    judgments[1].superseded_by_id = judgments[0].id  # as if the second B had been replaced
    session.flush()
    summary, lines = export(session, project, tmp_path)
    assert lines == [] and summary.dropped_no_majority == 1 and summary.ratings == 2


def test_harmless_question_can_be_exported(session, tmp_path):
    project = make_project(session, overlap_k=1)
    item = make_item(session, project)
    rater = make_rater(session)
    task = next_assignment(session, project, rater)
    harmless = {"choice": slot_showing(task, item.responses[1].text), "strength": 2}
    record_judgment(session, rater, task.lease_id, {"helpful": {"choice": "tie"}, "harmless": harmless}, "harmless-1")
    helpful, helpful_lines = export(session, project, tmp_path / "helpful")
    assert helpful_lines == [] and helpful.dropped_tie == 1
    summary, [line] = export(session, project, tmp_path / "harmless", question_id="harmless")
    assert line["chosen"] == item.responses[1].text and line["margin"] == 2.0
    assert json.loads(summary.manifest_path.read_text())["question_id"] == "harmless"


# -- shapes, versions, ordering ------------------------------------------------------------


def test_conversational_prompt_uses_message_lists(session, tmp_path):
    project = make_project(session, overlap_k=1)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
    chat = make_item(session, project, external_id="chat", prompt=messages)
    plain = make_item(session, project, external_id="plain", prompt="Capital of Spain?")
    rate(session, project, make_rater(session), {chat.id: ("B", 1), plain.id: ("A", 1)})
    _, lines = export(session, project, tmp_path)
    by_id = {line["item_id"]: line for line in lines}
    assert by_id["chat"]["prompt"] == messages
    assert by_id["chat"]["chosen"] == [{"role": "assistant", "content": chat.responses[1].text}]
    assert by_id["chat"]["rejected"] == [{"role": "assistant", "content": chat.responses[0].text}]
    # One shape per file (datasets cannot load mixed column types): the text prompt
    # becomes a single user message.
    assert by_id["plain"]["prompt"] == [{"role": "user", "content": "Capital of Spain?"}]
    assert by_id["plain"]["chosen"] == [{"role": "assistant", "content": plain.responses[0].text}]


def test_line_fields_and_order_by_external_id(session, tmp_path):
    project = make_project(session, overlap_k=1)
    ids = ["b-2", "a-10", "Z", "a-9", "é-1", "a_1"]
    items = [make_item(session, project, external_id=i) for i in ids]
    rate(session, project, make_rater(session), {item.id: ("A", 1) for item in items})
    version = load_shipped_rubric(session)
    summary, lines = export(session, project, tmp_path)
    assert [line["item_id"] for line in lines] == sorted(ids)  # code point order on every backend
    assert set(lines[0]) == {
        "prompt", "chosen", "rejected", "margin", "n_ratings", "agreement", "item_id",
        "chosen_model", "rejected_model", "rubric", "rubric_version", "rubric_version_sha256",
    }  # fmt: skip
    assert {(line["rubric"], line["rubric_version"], line["rubric_version_sha256"]) for line in lines} == {
        (PAIRWISE_RUBRIC, version.number, version.content_sha256)
    }
    raw = summary.preferences_path.read_bytes()
    assert "é-1".encode() in raw  # ensure_ascii=False
    assert b"\r" not in raw and raw.endswith(b"\n") and raw.count(b"\n") == len(ids)


def test_rubric_versions_are_never_pooled(session, tmp_path):
    project = make_project(session, overlap_k=3)  # follows the latest published version
    item = make_item(session, project, external_id="one")
    rate(session, project, make_rater(session), {item.id: ("A", 2)})

    v1_doc = load_rubric_file(Path(resource_dir("rubrics")) / f"{PAIRWISE_RUBRIC}.yaml").data
    v2_doc = copy.deepcopy(v1_doc)
    v2_doc["questions"][0]["id"] = "useful"  # v2 renames the helpful question
    v2 = load_rubric(session, parse_rubric(v2_doc)).version
    assert v2.number == 2
    rater = make_rater(session)
    task = next_assignment(session, project, rater)
    assert task.rubric_number == 2
    useful = {"choice": slot_showing(task, item.responses[1].text), "strength": 1}
    record_judgment(session, rater, task.lease_id, {"useful": useful, "harmless": {"choice": "tie"}}, "v2-judgment")

    summary, lines = export(session, project, tmp_path)  # default: each version's first pairwise question
    assert [(line["rubric_version"], line["chosen"], line["n_ratings"]) for line in lines] == [
        (1, item.responses[0].text, 1),
        (2, item.responses[1].text, 1),
    ]
    assert lines[1]["rubric_version_sha256"] == v2.content_sha256
    assert [(v.number, v.question_id, v.exported) for v in summary.versions] == [(1, "helpful", 1), (2, "useful", 1)]

    summary, lines = export(session, project, tmp_path, question_id="helpful")
    assert [line["rubric_version"] for line in lines] == [1]
    assert [(v.number, v.question_id) for v in summary.versions] == [(1, "helpful"), (2, None)]
    manifest = json.loads(summary.manifest_path.read_text())
    assert [v["question_id"] for v in manifest["rubric"]["versions"]] == ["helpful", None]


# -- files: determinism, manifest, atomicity -----------------------------------------------


@pytest.fixture
def rated_project(session):
    project = make_project(session, overlap_k=3, name="determinism")
    items = [make_item(session, project, external_id=f"item-{n:02d}") for n in range(7)]
    votes = ["AAB", "BBB", "ABT", "TTA", "BAB", "AAA", "TBB"]  # per item: raters 1, 2, 3 (T = tie)
    for r in range(3):
        plan = {}
        for n, item in enumerate(items):
            choice = {"T": "tie"}.get(votes[n][r], votes[n][r])
            plan[item.id] = (choice, None if choice == "tie" else 1 + (n + r) % 3)
        rate(session, project, make_rater(session), plan)
    return project


def test_two_exports_are_byte_identical(session, rated_project, tmp_path):
    first = export_preferences(session, rated_project, tmp_path / "one")
    assert (first.exported, first.dropped_tie, first.dropped_no_majority) == (5, 1, 1)
    second = export_preferences(session, rated_project, tmp_path / "two")
    small_batches = export_preferences(session, rated_project, tmp_path / "three", ExportOptions(batch_size=1))
    for name in (PREFERENCES_FILE, MANIFEST_FILE):
        data = (tmp_path / "one" / name).read_bytes()
        assert data == (tmp_path / "two" / name).read_bytes() == (tmp_path / "three" / name).read_bytes()
    assert first.preferences_sha256 == second.preferences_sha256 == small_batches.preferences_sha256
    assert first.exported > 0


def test_manifest_describes_the_file(session, rated_project, tmp_path):
    tmp_path = tmp_path / "out"
    summary = export_preferences(session, rated_project, tmp_path, ExportOptions(min_raters=2))
    data = summary.preferences_path.read_bytes()
    manifest = json.loads(summary.manifest_path.read_text(encoding="utf-8"))
    entry = manifest["files"][PREFERENCES_FILE]
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() == summary.preferences_sha256
    assert entry["bytes"] == len(data) == summary.preferences_bytes
    assert entry["lines"] == data.count(b"\n") == summary.exported
    version = load_shipped_rubric(session)
    assert manifest["workbench_version"]
    assert manifest["project"] == "determinism"
    assert manifest["question_id"] == "helpful"
    assert manifest["rubric"]["slug"] == PAIRWISE_RUBRIC
    assert manifest["rubric"]["versions"][0]["number"] == version.number
    assert manifest["rubric"]["versions"][0]["sha256"] == version.content_sha256
    assert manifest["filters"] == {
        "question_id": None, "drop_ties": True, "ties": "drop", "min_raters": 2, "min_agreement": 0.0,
        "rubric_version": None, "exclude_flagged_raters": False, "raters_excluded": 0, "include_gold": False,
    }  # fmt: skip
    counts = manifest["counts"]
    assert counts["items_considered"] == 7 == summary.items_considered
    assert counts["items_considered"] == (
        counts["exported"] + counts["dropped_tie"] + counts["dropped_no_majority"] + counts["dropped_too_few_raters"]
    )
    assert "created_at" not in manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == [CARD_FILE, MANIFEST_FILE, PREFERENCES_FILE]  # no temp file

    stamp = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    stamped = export_preferences(
        session, rated_project, tmp_path / "stamped", ExportOptions(min_raters=2, created_at=stamp)
    )
    assert json.loads(stamped.manifest_path.read_text())["created_at"] == "2025-01-02T03:04:05+00:00"
    assert stamped.preferences_path.read_bytes() == data


def test_failed_export_leaves_previous_files_and_no_temp(session, rated_project, tmp_path, monkeypatch):
    tmp_path = tmp_path / "out"
    export_preferences(session, rated_project, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def boom(self, record):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writers_module.JsonlWriter, "write", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        export_preferences(session, rated_project, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_project_without_judgments_exports_an_empty_file(session, tmp_path):
    project = make_project(session)
    make_item(session, project)
    summary = export_preferences(session, project, tmp_path / "new" / "dir")
    assert summary.preferences_path.read_bytes() == b""
    assert summary.preferences_sha256 == hashlib.sha256(b"").hexdigest()
    assert (summary.items_considered, summary.exported, summary.versions) == (0, 0, ())


# -- refusals ------------------------------------------------------------------------------


def test_single_response_project_is_refused(session, tmp_path):
    project = make_project(session, rubric="response-quality")
    with pytest.raises(InvalidInput, match="not pairwise|cannot export"):
        export_preferences(session, project, tmp_path)


@pytest.mark.parametrize(
    ("question_id", "message"),
    [("nope", "not a question of this rubric"), ("rationale", "not a pairwise question")],
)
def test_unknown_or_non_pairwise_question_is_refused(session, tmp_path, question_id, message):
    project = make_project(session)
    with pytest.raises(InvalidInput) as info:
        export_preferences(session, project, tmp_path, ExportOptions(question_id=question_id))
    assert message in str(info.value)
    assert not (tmp_path / PREFERENCES_FILE).exists()


def test_min_raters_below_one_is_refused(session, tmp_path):
    with pytest.raises(InvalidInput, match="min_raters"):
        export_preferences(session, make_project(session), tmp_path, ExportOptions(min_raters=0))


def test_the_majority_rule_without_database():
    """Counts (A, B, tie) per item, decided by hand: a strict plurality wins, a shared top is none."""
    from workbench.export.votes import majority

    n_a, n_b, n_tie = np.array([[2, 1, 0], [1, 0, 2], [1, 1, 0], [0, 0, 0], [2, 0, 2], [1, 0, 0]]).T
    assert majority(n_a, n_b, n_tie).tolist() == [0, 2, -1, -1, -1, 0]  # A, tie, none, none, none, A


def test_majority_margin_is_the_mean_signed_strength_toward_the_winner():
    from workbench.export.votes import decide

    # A(3), A(1), B(2): A wins, margin (3 + 1 - 2) / 3; B(2), B(2), tie: B wins, (2 + 2) / 3.
    cols = {"n_a": np.array([2, 0]), "n_b": np.array([1, 2]), "n_tie": np.array([0, 1])}
    cols |= {"strength_a": np.array([4, 0]), "strength_b": np.array([2, 4])}
    plan = SimpleNamespace(options=ExportOptions(aggregate="majority"))
    winner, margin, _ = decide(cols, plan, None)
    assert winner.tolist() == [0, 1]
    assert margin.tolist() == pytest.approx([2 / 3, 4 / 3])


# -- real pairs ----------------------------------------------------------------------------


def test_llmbar_labelled_winners_are_exported_as_chosen(session, tmp_path):
    if not LLMBAR.is_file():
        pytest.fail(f"reference data {LLMBAR} is missing")
    pairs = [p for p in json.loads(LLMBAR.read_text(encoding="utf-8")) if p["output_1"] != p["output_2"]][:20]
    assert len(pairs) == 20
    project = make_project(session, overlap_k=3)
    rows = [
        json.dumps(
            {
                "id": f"llmbar-{n:03d}",
                "prompt": pair["input"],
                "responses": [
                    {"text": pair["output_1"], "model": "output_1"},
                    {"text": pair["output_2"], "model": "output_2"},
                ],
            }
        )
        for n, pair in enumerate(pairs)
    ]
    assert import_items(session, project, rows).imported == 20
    winners = {f"llmbar-{n:03d}": pair[f"output_{pair['label']}"] for n, pair in enumerate(pairs)}

    left_clicks = 0
    for _ in range(3):
        rater = make_rater(session)
        while (task := next_assignment(session, project, rater)) is not None:
            external_id = session.get(Item, task.item_id).external_id
            slot = slot_showing(task, winners[external_id])  # the rater sees only slots and texts
            left_clicks += slot == "A"
            answers = {"helpful": {"choice": slot, "strength": 2}, "harmless": {"choice": "tie"}}
            record_judgment(session, rater, task.lease_id, answers, idempotency_key=f"llmbar-{next(_keys)}")
    assert 0 < left_clicks < 60  # both sides were clicked, so orientation really mattered

    summary, lines = export(session, project, tmp_path)
    assert summary.exported == 20 and len(lines) == 20
    for line in lines:
        pair = pairs[int(line["item_id"].removeprefix("llmbar-"))]
        assert line["chosen"] == winners[line["item_id"]]
        assert line["rejected"] == pair[f"output_{3 - pair['label']}"]
        assert line["chosen_model"] == f"output_{pair['label']}"
        assert (line["n_ratings"], line["agreement"], line["margin"]) == (3, 1.0, 2.0)
