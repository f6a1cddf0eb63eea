"""``workbench projects members`` and ``workbench projects archive``."""

from __future__ import annotations

import pytest

from workbench.cli import main


@pytest.fixture
def cli_db(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    return database_url


def _ok(runner, *args):
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_members_and_archive(runner, cli_db):
    _ok(runner, "db", "upgrade")
    for email in ("a@example.org", "b@example.org"):
        _ok(runner, "users", "create", email, "--password", "long enough pw")
    _ok(runner, "rubrics", "load", "rubrics/pairwise-helpful-harmless.yaml")
    _ok(runner, "projects", "create", "p1", "--rubric", "pairwise-helpful-harmless")

    assert _ok(runner, "projects", "members", "p1") == "p1: open to every rater; 0 members\n"
    out = _ok(runner, "projects", "members", "p1", "--add", "a@example.org", "--add", "b@example.org", "--members-only")
    assert out == "p1: members only; 2 members\n  a@example.org\n  b@example.org\n"
    out = _ok(runner, "projects", "members", "p1", "--remove", "b@example.org", "--open")
    assert out == "p1: open to every rater; 1 member\n  a@example.org\n"

    refused = runner.invoke(main, ["projects", "members", "p1", "--add", "nobody@example.org"])
    assert refused.exit_code == 1
    assert "member_email: no user has the e-mail nobody@example.org" in refused.output

    _ok(runner, "projects", "members", "p1", "--members-only")
    assert _ok(runner, "projects", "list").rstrip().endswith("judgments=0/0  (members only)")
    assert "archived project 1 'p1'" in _ok(runner, "projects", "archive", "p1")
    assert _ok(runner, "projects", "list").rstrip().endswith("judgments=0/0  (archived)")
    again = runner.invoke(main, ["projects", "archive", "p1"])
    assert again.exit_code == 1 and "already archived" in again.output
