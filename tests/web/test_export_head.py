"""HEAD on an export runs nothing and leaves nothing; a streamed export's temporary folder
goes when the response is closed, read to the end or not."""

from __future__ import annotations

import tempfile

import pytest

from tests.web.test_exports_page import project_id  # noqa: F401 - fixture
from tests.web.test_research_api import auth as bearer
from tests.web.test_research_api import world  # noqa: F401 - fixture


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Every temporary file or folder the code makes lands here, to be counted."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def no_export(monkeypatch):
    """Makes any call of the export fail the test."""
    from workbench.web import exports, research_api

    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("HEAD ran the export")

    monkeypatch.setattr(exports, "export_dataset", refuse)
    monkeypatch.setattr(research_api, "export_dataset", refuse)
    return calls


def test_head_on_the_api_export_runs_nothing_and_leaves_nothing(client, world, scratch, no_export):  # noqa: F811
    url = f"/api/v1/projects/{world['project']}/export"
    for fmt in ("jsonl", "parquet"):
        head = client.head(url, query_string={"format": fmt}, headers=bearer(world))
        assert (
            head.status_code == 200
            and head.data == b""
            and f'preferences.{fmt}"' in head.headers["Content-Disposition"]
        )
    assert no_export == [] and list(scratch.iterdir()) == []
    # Still checked like a GET: roles, unknown projects, bad arguments.
    assert client.head(url, headers=bearer(world, "rater")).status_code == 403
    assert client.head("/api/v1/projects/999/export", headers=bearer(world)).status_code == 404
    assert client.head(url, query_string={"format": "xls"}, headers=bearer(world)).status_code == 422


def test_head_on_the_download_runs_nothing_and_leaves_nothing(client, auth, project_id, scratch, no_export):  # noqa: F811
    auth.login_as("researcher")
    head = client.head(f"/projects/{project_id}/export/download", query_string={"format": "jsonl"})
    assert head.status_code == 200 and head.data == b"" and head.mimetype == "application/zip"
    assert no_export == [] and list(scratch.iterdir()) == []


def test_a_get_of_the_api_export_leaves_nothing_read_or_not(client, world, scratch):  # noqa: F811
    url = f"/api/v1/projects/{world['project']}/export"
    whole = client.get(url, query_string={"bootstrap": 0}, headers=bearer(world))
    assert whole.status_code == 200 and whole.data.count(b"\n") == 3
    whole.close()
    assert list(scratch.iterdir()) == []
    # A client that hangs up before the first byte, and one that hangs up after it.
    untouched = client.get(url, query_string={"bootstrap": 0}, headers=bearer(world), buffered=False)
    assert len(list(scratch.iterdir())) == 1  # the file waits for its reader...
    untouched.close()
    assert list(scratch.iterdir()) == []  # ...and goes with the response
    started = client.get(url, query_string={"bootstrap": 0}, headers=bearer(world), buffered=False)
    assert next(iter(started.response))
    started.close()
    assert list(scratch.iterdir()) == []


def test_a_get_of_the_download_leaves_nothing(client, auth, project_id, scratch):  # noqa: F811
    auth.login_as("researcher")
    download = client.get(f"/projects/{project_id}/export/download", query_string={"format": "jsonl"})
    assert download.status_code == 200 and download.data[:2] == b"PK"
    download.close()
    assert list(scratch.iterdir()) == []
