"""``workbench judges add|list`` and ``workbench judge run``, end to end through the CLI."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session

from workbench.cli import main
from workbench.db import make_engine
from workbench.models import Judge, JudgeRun, User

SECRET = "sk-test-4f1c2a9d-never-stored"


@pytest.fixture
def cli_db(database_url, monkeypatch, tmp_path, runner):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    _ok(runner, "db", "upgrade")
    _ok(runner, "rubrics", "load", "rubrics/pairwise-helpful-harmless.yaml")
    _ok(runner, "projects", "create", "p", "--rubric", "pairwise-helpful-harmless")
    rows = [
        {
            "id": f"i{n}",
            "prompt": f"Question {n}?",
            "responses": [
                {"model": "m1", "text": f"one [quality {n % 3}]"},
                {"model": "m2", "text": f"two [quality {(n + 1) % 3}]"},
            ],
        }
        for n in range(6)
    ]
    items = tmp_path / "items.jsonl"
    items.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    _ok(runner, "import", "p", str(items), "--no-progress")
    return database_url


def _ok(runner, *args, env=None):
    result = runner.invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_add_and_list(runner, cli_db, stub, tmp_path):
    template = tmp_path / "prompt.j2"
    template.write_text(
        "[system]\n{{ guidelines }}\n[user]\n{{ prompt }}\n{% for r in responses %}# Response {{ r.slot }}\n{{ r.text }}\n{% endfor %}"
    )
    out = _ok(runner, "judges", "add", "gpt", "--base-url", stub.url, "--model", "consistent", "--api-key-env", "JUDGE_KEY",
              "--temperature", "0.3", "--max-tokens", "300", "--concurrency", "8", "--prompt", str(template))  # fmt: skip
    assert "added judge gpt" in out
    _ok(runner, "judges", "add", "local", "--base-url", stub.url, "--model", "first")
    again = runner.invoke(main, ["judges", "add", "gpt", "--base-url", stub.url, "--model", "x"])
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(
        main, ["judges", "add", "bad name", "--base-url", "ftp://x", "--model", "m", "--concurrency", "0"]
    )
    assert bad.exit_code == 1 and "name" in bad.output and "base_url" in bad.output and "concurrency" in bad.output
    listing = json.loads(_ok(runner, "judges", "list", "--json"))
    assert [j["name"] for j in listing] == ["gpt", "local"]
    gpt = listing[0]
    assert gpt["model"] == "consistent" and gpt["api_key_env"] == "JUDGE_KEY" and gpt["concurrency"] == 8
    assert gpt["temperature"] == 0.3 and gpt["max_tokens"] == 300 and gpt["custom_prompt"] is True
    assert "gpt\tconsistent" in _ok(runner, "judges", "list")
    engine = make_engine(cli_db)
    with Session(engine) as session:
        user = session.scalar(select(User).join(Judge, Judge.user_id == User.id).where(Judge.name == "gpt"))
        assert user.is_machine and user.password_hash is None
    engine.dispose()


def test_run_reads_the_key_from_the_environment_and_never_stores_it(runner, cli_db, stub):
    _ok(runner, "judges", "add", "gpt", "--base-url", stub.url, "--model", "consistent", "--api-key-env", "JUDGE_KEY")
    missing = runner.invoke(main, ["judge", "run", "p", "--judge", "gpt"], env={"JUDGE_KEY": ""})
    assert missing.exit_code == 1 and "$JUDGE_KEY" in missing.output
    out = _ok(
        runner,
        "judge",
        "run",
        "p",
        "--judge",
        "gpt",
        "--both-orders",
        "--price-in",
        "1",
        "--price-out",
        "4",
        "--json",
        env={"JUDGE_KEY": SECRET},
    )
    summary = json.loads(out)
    assert set(summary) == {"judged", "failed", "skipped", "prompt_tokens", "completion_tokens", "seconds"}
    assert (summary["judged"], summary["failed"], summary["skipped"]) == (6, 0, 0)
    assert summary["prompt_tokens"] > 0 and summary["completion_tokens"] > 0
    assert {h.get("Authorization") for h in stub.state.headers} == {f"Bearer {SECRET}"}
    shown = {(h["X-Workbench-Item"], h["X-Workbench-Display-Order"]) for h in stub.state.headers}
    assert {item for item, _ in shown} == {f"i{n}" for n in range(6)}
    assert all({(i, "0,1"), (i, "1,0")} <= shown for i, _ in shown)  # both orders of every item
    assert "judged 0, failed 0, skipped 0" in _ok(
        runner, "judge", "run", "p", "--judge", "gpt", env={"JUDGE_KEY": SECRET}
    )
    # the key is in no row of any table
    engine = make_engine(cli_db)
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(table.select()):
                assert SECRET not in repr(tuple(row)), table.name
    with Session(engine) as session:
        run = session.scalars(select(JudgeRun).order_by(JudgeRun.id)).first()
        assert run.both_orders and run.cost == pytest.approx(
            (summary["prompt_tokens"] * 1 + summary["completion_tokens"] * 4) / 1e6
        )
    engine.dispose()


def test_run_names_a_missing_judge(runner, cli_db):
    result = runner.invoke(main, ["judge", "run", "p", "--judge", "nobody"])
    assert result.exit_code == 1 and "no judge 'nobody'" in result.output
