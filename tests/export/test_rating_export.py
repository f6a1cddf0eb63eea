"""Rating export for single-response projects: binarized pairs, KTO, reward and SFT rows.

The expected pairs and labels are worked out here in plain Python from the raw ratings
(``RATINGS``), never from the export's own helpers.
"""

from __future__ import annotations

import json
from fractions import Fraction
from itertools import combinations

import pyarrow.parquet as pq
import pytest

from tests.factories import SINGLE_RUBRIC, make_item, make_project
from workbench.errors import InvalidInput
from workbench.export import MANIFEST_FILE, ExportOptions, count_ratings, export_judgments, export_ratings
from workbench.services.import_formats import text_lines_as_rows
from workbench.services.judgment_import import import_judgments

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why is the sky blue?"}]
# item id -> (prompt, metadata, [overall ratings]); raters r0, r1, ... in list order.
RATINGS = {
    "p1-a": ("Explain tides.", {}, [5, 6, 7]),  # 6
    "p1-b": ("Explain tides.", {}, [4, 4]),  # 4
    "p1-c": ("Explain tides.", {}, [6, 6, 6]),  # 6: ties p1-a at the top
    "p1-d": ("Explain tides.", {}, [3, 5]),  # 4: ties p1-b
    "p1-e": ("Explain tides.", {}, [5]),  # 5
    "p2-a": (CHAT, {}, [2, 3]),  # 2.5
    "p2-b": (CHAT, {}, [3, 4]),  # 3.5: exactly 1 above p2-a
    "p2-c": (CHAT, {}, [2, 3, 3]),  # 8/3
    "g-a": ("Write a haiku.", {"group": "poems"}, [7]),  # other prompt text, same group
    "g-b": ("Write a limerick.", {"group": "poems"}, [1, 2]),  # 1.5
    "g-c": ("Explain tides.", {"group": "poems"}, [4]),  # tides prompt, but its group says poems
    "solo": ("Alone?", {}, [4, 4]),
}


def mean(ratings):
    return Fraction(sum(ratings), len(ratings))


def group_of(item_id):
    prompt, meta, _ = RATINGS[item_id]
    return ("group", meta["group"]) if "group" in meta else ("prompt", json.dumps(prompt))


def expected_groups():
    groups = {}
    for item_id in sorted(RATINGS):
        groups.setdefault(group_of(item_id), []).append(item_id)
    return groups


def expected_all_pairs(min_gap=None):
    out = set()
    for members in expected_groups().values():
        for a, b in combinations(members, 2):
            ma, mb = mean(RATINGS[a][2]), mean(RATINGS[b][2])
            hi, lo = (a, b) if ma > mb else (b, a)
            gap = abs(ma - mb)
            if gap > 0 and (min_gap is None or gap >= Fraction(str(min_gap))):
                out.add((hi, lo))
    return out


@pytest.fixture
def study(session):
    project = make_project(session, SINGLE_RUBRIC, name="ratings")
    for item_id, (prompt, meta, _) in RATINGS.items():
        make_item(session, project, external_id=item_id, prompt=prompt, meta=meta)
    records = [
        {
            "item_id": item_id,
            "rater": f"r{n}",
            "answers": {"accuracy": 4, "coherence": 4, "coverage": 4, "overall": value},
            "submitted_at": f"2024-05-01T12:{n:02d}:00Z",
        }
        for item_id, (_, _, values) in RATINGS.items()
        for n, value in enumerate(values)
    ]
    import_judgments(session, project, text_lines_as_rows([json.dumps(r) for r in records]))
    session.commit()
    return project


def rows(folder, shape):
    return [json.loads(line) for line in (folder / f"{shape}.jsonl").read_text("utf-8").splitlines()]


@pytest.mark.parametrize("min_gap", [None, 1, 1.5, 2])
def test_all_pairs_are_exactly_those_far_enough_apart(session, study, tmp_path, min_gap):
    options = ExportOptions(shape="binarized", pairs="all", min_gap=min_gap)
    export_ratings(session, study, tmp_path, options)
    got = rows(tmp_path, "binarized")
    assert {(r["chosen_item_id"], r["rejected_item_id"]) for r in got} == expected_all_pairs(min_gap)
    for r in got:
        chosen, rejected = RATINGS[r["chosen_item_id"]][2], RATINGS[r["rejected_item_id"]][2]
        assert r["score_chosen"] == pytest.approx(float(mean(chosen)))
        assert r["margin"] == pytest.approx(float(mean(chosen) - mean(rejected)))
        assert r["chosen_n_ratings"] == len(chosen)
        assert r["rubric"] == "response-quality" and len(r["rubric_version_sha256"]) == 64
    # the boundary: p2-b is exactly 1 above p2-a, so min-gap 1 keeps the pair and 1.5 does not
    pairs = {(r["chosen_item_id"], r["rejected_item_id"]) for r in got}
    assert (("p2-b", "p2-a") in pairs) == (min_gap in (None, 1))


def test_best_worst_and_ties_never_pair(session, study, tmp_path):
    export_ratings(session, study, tmp_path, ExportOptions(shape="binarized", pairs="best-worst"))
    got = {(r["chosen_item_id"], r["rejected_item_id"]) for r in rows(tmp_path, "binarized")}
    # tides: p1-a and p1-c share the top (first by id wins), p1-b and p1-d the bottom
    assert got == {("p1-a", "p1-b"), ("p2-b", "p2-a"), ("g-a", "g-b")}  # solo has no pair


def test_best_random_is_seeded_and_the_same_bytes_twice(session, study, tmp_path):
    draws = set()
    for seed in range(8):
        a, b = tmp_path / f"a{seed}", tmp_path / f"b{seed}"
        for out in (a, b):
            export_ratings(
                session, study, out, ExportOptions(shape="binarized", seed=seed, formats=("jsonl", "parquet"))
            )
        for name in ("binarized.jsonl", "binarized.parquet", MANIFEST_FILE, "README.md"):
            assert (a / name).read_bytes() == (b / name).read_bytes()
        got = rows(a, "binarized")
        tides = [r for r in got if r["chosen_item_id"] == "p1-a"]
        assert len(tides) == 1 and tides[0]["rejected_item_id"] in {"p1-b", "p1-d", "p1-e"}
        draws.add(tides[0]["rejected_item_id"])
        assert {r["chosen_item_id"] for r in got} == {"p1-a", "p2-b", "g-a"}
    assert len(draws) > 1  # the seed matters


def test_chat_prompts_are_messages(session, study, tmp_path):
    export_ratings(session, study, tmp_path, ExportOptions(shape="binarized", pairs="best-worst"))
    by_chosen = {r["chosen_item_id"]: r for r in rows(tmp_path, "binarized")}
    assert by_chosen["p2-b"]["prompt"] == CHAT
    assert by_chosen["p1-a"]["prompt"] == [{"role": "user", "content": "Explain tides."}]
    assert by_chosen["p1-a"]["chosen"][0]["role"] == "assistant"


@pytest.mark.parametrize("threshold", [4, 4.5, 6])
def test_kto_labels_every_rated_response(session, study, tmp_path, threshold):
    export_ratings(session, study, tmp_path, ExportOptions(shape="kto", threshold=threshold))
    got = {r["item_id"]: r for r in rows(tmp_path, "kto")}
    assert set(got) == set(RATINGS)
    for item_id, (_, _, values) in RATINGS.items():
        row = got[item_id]
        assert row["label"] is (mean(values) >= Fraction(str(threshold)))
        assert row["n_ratings"] == len(values)
        assert row["rating_min"] == min(values) and row["rating_max"] == max(values)
        m = sum(values) / len(values)
        assert row["rating_std"] == pytest.approx((sum((v - m) ** 2 for v in values) / len(values)) ** 0.5)
        assert row["group_id"] == ("poems" if item_id.startswith("g-") else row["group_id"])


def test_reward_scores_and_normalize(session, study, tmp_path):
    export_ratings(session, study, tmp_path / "raw", ExportOptions(shape="reward"))
    export_ratings(session, study, tmp_path / "norm", ExportOptions(shape="reward", normalize=True))
    raw = {r["item_id"]: r["score"] for r in rows(tmp_path / "raw", "reward")}
    norm = {r["item_id"]: r["score"] for r in rows(tmp_path / "norm", "reward")}
    for item_id, (_, _, values) in RATINGS.items():
        assert raw[item_id] == pytest.approx(float(mean(values)))
        assert norm[item_id] == pytest.approx((float(mean(values)) - 1) / 6)  # the scale is 1..7


def test_sft_keeps_good_responses_as_messages(session, study, tmp_path):
    export_ratings(session, study, tmp_path, ExportOptions(shape="sft", threshold=5, formats=("jsonl", "parquet")))
    got = rows(tmp_path, "sft")
    assert {r["item_id"] for r in got} == {i for i, (_, _, v) in RATINGS.items() if mean(v) >= 5}
    g_a = next(r for r in got if r["item_id"] == "g-a")
    assert g_a["messages"] == [
        {"role": "user", "content": "Write a haiku."},
        {"role": "assistant", "content": g_a["messages"][1]["content"]},
    ]
    assert pq.read_table(tmp_path / "sft.parquet").num_rows == len(got)


def test_manifest_counts_and_count_agree(session, study, tmp_path):
    options = ExportOptions(shape="binarized", pairs="all", min_raters=2)
    summary = export_ratings(session, study, tmp_path, options)
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    kept = {i for i, (_, _, v) in RATINGS.items() if len(v) >= 2}
    assert manifest["counts"]["dropped_too_few_raters"] == len(RATINGS) - len(kept)
    assert manifest["counts"]["ratings"] == sum(len(v) for _, _, v in RATINGS.values())
    assert manifest["counts"] == summary.counts == count_ratings(session, study, options)
    assert manifest["files"]["binarized.jsonl"]["rows"] == manifest["counts"]["rows"]
    pairs = {(r["chosen_item_id"], r["rejected_item_id"]) for r in rows(tmp_path, "binarized")}
    assert pairs == {(a, b) for a, b in expected_all_pairs() if a in kept and b in kept}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (ExportOptions(shape="kto"), "threshold"),
        (ExportOptions(shape="sft"), "threshold"),
        (ExportOptions(shape="standard"), "shape"),
        (ExportOptions(shape="kto", threshold=4, min_gap=1), "min_gap"),
        (ExportOptions(shape="binarized", normalize=True), "normalize"),
        (ExportOptions(question_id="accuracyy"), "question_id"),
    ],
)
def test_bad_options_are_refused_and_write_nothing(session, study, tmp_path, options, field):
    with pytest.raises(InvalidInput) as caught:
        export_ratings(session, study, tmp_path / "out", options)
    assert caught.value.errors[0].location == field
    assert not (tmp_path / "out").exists()


def test_option_values_are_checked_when_made():
    with pytest.raises(InvalidInput):
        ExportOptions(pairs="best")
    with pytest.raises(InvalidInput):
        ExportOptions(min_gap=0)
    for bad in (float("inf"), float("nan"), True, "4"):
        with pytest.raises(InvalidInput, match="finite number"):
            ExportOptions(threshold=bad)


def test_pairwise_projects_refuse_rating_shapes(session, tmp_path):
    from workbench.export import export_preferences

    project = make_project(session)
    for options in (ExportOptions(shape="binarized"), ExportOptions(threshold=4), ExportOptions(normalize=True)):
        with pytest.raises(InvalidInput, match="single-response"):
            export_preferences(session, project, tmp_path, options)


def test_raw_judgments_of_a_single_project(session, study, tmp_path):
    summary = export_judgments(session, study, tmp_path)
    assert summary.rows == sum(len(v) for _, _, v in RATINGS.values())


def test_cli_exports_a_single_project(session, study, database_url, monkeypatch, tmp_path, runner):
    from sqlalchemy import text

    from workbench.cli import main

    session.execute(
        text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    )  # tables made by the fixture
    session.commit()
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    out = tmp_path / "out"
    args = ["export", "ratings", "--out", str(out), "--shape", "kto", "--threshold", "4", "--format", "jsonl"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert {r["item_id"]: r["label"] for r in rows(out, "kto")} == {i: mean(v) >= 4 for i, (_, _, v) in RATINGS.items()}
    refused = runner.invoke(main, ["export", "ratings", "--out", str(out), "--shape", "sft"])
    assert refused.exit_code != 0 and "threshold" in refused.output
