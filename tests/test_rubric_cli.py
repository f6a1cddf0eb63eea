"""`workbench rubrics load / versions / dump`: the same file twice is one version; dump round-trips."""

from __future__ import annotations

import pytest
import yaml

from workbench.cli import main
from workbench.paths import resource_dir


@pytest.fixture
def env(monkeypatch, tmp_path, runner):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    return tmp_path


def ok(runner, *args):
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_load_twice_then_changed_then_dump_round_trip(runner, env):
    assert "safety v1 (new)" in ok(runner, "rubrics", "load", "rubrics/")
    assert "safety v1 (unchanged)" in ok(runner, "rubrics", "load", "rubrics/")
    data = yaml.safe_load((resource_dir("rubrics") / "safety.yaml").read_text(encoding="utf-8"))
    data["guidelines"] += "\nWhen unsure, flag it.\n"
    changed = env / "safety.yaml"
    changed.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert "safety v2 (new)" in ok(runner, "rubrics", "load", str(changed), "-m", "Say what to do when unsure")
    listing = ok(runner, "rubrics", "versions", "safety")
    assert "v1   published" in listing and "initial version" in listing
    assert "v2   published" in listing and "Say what to do when unsure" in listing

    out = env / "dumped.yaml"
    ok(runner, "rubrics", "dump", "safety", "--version", "1", "-o", str(out))
    dumped = out.read_text(encoding="utf-8")
    assert "guidelines: |" in dumped and "version: 1" in dumped
    assert "safety v1 (unchanged)" in ok(runner, "rubrics", "load", str(out))
    assert "version: 2" in ok(runner, "rubrics", "dump", "safety")
    as_json = env / "dumped.json"
    ok(runner, "rubrics", "dump", "safety", "--json", "-o", str(as_json))
    assert "safety v2 (unchanged)" in ok(runner, "rubrics", "load", str(as_json))


def test_dump_unknown_version_fails_cleanly(runner, env):
    ok(runner, "rubrics", "load", "rubrics/safety.yaml")
    result = runner.invoke(main, ["rubrics", "dump", "safety", "--version", "9"])
    assert result.exit_code == 1 and "no version 9" in result.output


def test_retire(runner, env):
    ok(runner, "rubrics", "load", "rubrics/safety.yaml")
    data = yaml.safe_load((resource_dir("rubrics") / "safety.yaml").read_text(encoding="utf-8"))
    data["title"] = "Safety review, second edition"
    changed = env / "safety.yaml"
    changed.write_text(yaml.safe_dump(data), encoding="utf-8")
    ok(runner, "rubrics", "load", str(changed))
    assert "safety v1 retired" in ok(runner, "rubrics", "retire", "safety", "1")
    assert "v1   retired" in ok(runner, "rubrics", "versions", "safety")
    again = runner.invoke(main, ["rubrics", "retire", "safety", "1"])
    assert again.exit_code == 1 and "only a published version can be retired" in again.output
