"""The export page: filters, the htmx live count, the zip download."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.factories import make_item, make_project
from workbench.services.import_formats import text_lines_as_rows
from workbench.services.judgment_import import import_judgments


@pytest.fixture
def project_id(app):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, overlap_k=3, name="page")
        for name in ("i1", "i2", "i3"):
            make_item(session, project, external_id=name)
        picks = {"i1": "AAB", "i2": "BBB", "i3": ["tie", "tie", "A"]}
        rows = [
            json.dumps({"item_id": item, "rater": rater, "answers": {
                "helpful": {"choice": c} if c == "tie" else {"choice": c, "strength": 1}, "harmless": {"choice": "tie"}}})
            for item, choices in picks.items() for rater, c in zip("xyz", choices, strict=True)
        ]  # fmt: skip
        import_judgments(session, project, text_lines_as_rows(rows))
        session.commit()
        return project.id


def test_page_and_live_count(client, auth, project_id):
    auth.login_as("researcher")
    page = client.get(f"/projects/{project_id}/export")
    assert page.status_code == 200 and "<html" in page.text and 'id="export-form"' in page.text
    assert "<strong>2 rows</strong>" in page.text and "HX-Request" in page.headers["Vary"]
    count = client.get(
        f"/projects/{project_id}/export/count", query_string={"ties": "keep"}, headers={"HX-Request": "true"}
    )
    assert count.status_code == 200 and "<html" not in count.text and "<strong>3 rows</strong>" in count.text
    assert "HX-Request" in count.headers["Vary"]
    bad = client.get(
        f"/projects/{project_id}/export/count", query_string={"min_agreement": "2"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422 and "min_agreement" in bad.text


def test_the_live_count_writes_no_export(client, auth, project_id, monkeypatch):
    from workbench.web import exports

    def no_export(*args, **kwargs):
        raise AssertionError("the count ran an export")

    monkeypatch.setattr(exports, "export_dataset", no_export)
    auth.login_as("researcher")
    count = client.get(
        f"/projects/{project_id}/export/count", query_string={"ties": "split"}, headers={"HX-Request": "true"}
    )
    assert count.status_code == 200 and "<strong>4 rows</strong> from 3 of 3 rated units" in count.text


def test_download_is_a_deterministic_zip(client, auth, project_id):
    auth.login_as("researcher")
    url = f"/projects/{project_id}/export/download"
    first = client.get(url, query_string={"format": "jsonl"})
    assert first.status_code == 200 and first.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(first.data)) as archive:
        assert sorted(archive.namelist()) == ["README.md", "manifest.json", "preferences.jsonl"]
        lines = archive.read("preferences.jsonl").decode().splitlines()
    assert [json.loads(line)["item_id"] for line in lines] == ["i1", "i2"]
    assert client.get(url, query_string={"format": "jsonl"}).data == first.data


def test_raters_may_not_export(client, auth, project_id):
    auth.login_as("rater")
    assert client.get(f"/projects/{project_id}/export").status_code == 403


@pytest.fixture
def single_id(app):
    with app.extensions["workbench"].sessionmaker() as session:
        project = make_project(session, "response-quality", name="rated")
        scores = {"a": [6, 7], "b": [3, 4], "c": [5, 5]}  # one prompt: means 6.5, 3.5, 5
        for name in scores:
            make_item(session, project, external_id=name, prompt="Same prompt?")
        rows = [
            json.dumps({"item_id": item, "rater": f"r{n}", "answers": {
                "accuracy": v, "coherence": v, "coverage": v, "overall": v}})
            for item, values in scores.items() for n, v in enumerate(values)
        ]  # fmt: skip
        import_judgments(session, project, text_lines_as_rows(rows))
        session.commit()
        return project.id


def test_single_projects_offer_the_rating_shapes(client, auth, single_id):
    auth.login_as("researcher")
    page = client.get(f"/projects/{single_id}/export")
    assert page.status_code == 200 and 'name="pairs"' in page.text and 'name="threshold"' in page.text
    assert 'value="binarized"' in page.text and 'value="conversational"' not in page.text
    assert "<strong>1 row</strong> from 3 rated responses" in page.text
    for gap, rows in (("1.5", 3), ("1.6", 1)):  # gaps: a-b 3, a-c 1.5, c-b 1.5
        count = client.get(
            f"/projects/{single_id}/export/count",
            query_string={"pairs": "all", "min_gap": gap},
            headers={"HX-Request": "true"},
        )
        assert count.status_code == 200 and f"<strong>{rows} row{'' if rows == 1 else 's'}</strong>" in count.text
    needs = client.get(
        f"/projects/{single_id}/export/count", query_string={"shape": "kto"}, headers={"HX-Request": "true"}
    )
    assert needs.status_code == 422 and "threshold" in needs.text
    download = client.get(
        f"/projects/{single_id}/export/download", query_string={"format": "jsonl", "shape": "kto", "threshold": "5"}
    )
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        assert sorted(archive.namelist()) == ["README.md", "kto.jsonl", "manifest.json"]
        got = {
            json.loads(line)["item_id"]: json.loads(line)["label"] for line in archive.read("kto.jsonl").splitlines()
        }
    assert got == {"a": True, "b": False, "c": True}


def test_raw_judgments_download_for_every_project(client, auth, project_id, single_id):
    auth.login_as("researcher")
    for pid, expected in ((project_id, 9), (single_id, 6)):
        response = client.get(f"/projects/{pid}/export/judgments", query_string={"format": "jsonl"})
        assert response.status_code == 200 and response.mimetype == "application/zip"
        with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
            lines = archive.read("judgments.jsonl").splitlines()
        assert len(lines) == expected and all(json.loads(line)["rater"] for line in lines)
    auth.login_as("rater")
    assert client.get(f"/projects/{single_id}/export/judgments").status_code == 403
