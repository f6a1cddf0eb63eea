"""Judge runner speed: items judged per second against a local endpoint answering after 50 ms.

    python benchmarks/bench_judges.py [--items 10000] [--delay 0.05] [--concurrency 16]
        [--database-url URL] [--pg-url postgresql+psycopg://...]

The endpoint is the test suite's stub (``tests/judges/stub_server.py``) in a process of its
own, so the figure is the runner's own cost: with 16 requests in flight and 50 ms per
answer the endpoint allows at most 320 items/s.

1. One runner, in this process, on ``--database-url`` (default: a fresh SQLite file; a
   PostgreSQL database given here is emptied first, like ``--pg-url``):
   ``--items`` pairwise items, one ask each; items/s and the runner's CPU seconds.
2. With ``--pg-url`` (its public schema is dropped and rebuilt: give a scratch database):
   two ``workbench judge run`` processes at once on one project; the items each judged,
   the combined throughput, and a check that no item was judged twice.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from machine import reference_ms
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.factories import load_shipped_rubric
from workbench.db import Base, make_engine
from workbench.judges.runner import RunOptions, run_judge
from workbench.models import Item, JudgeVerdict, Response
from workbench.services.judges import add_judge
from workbench.services.projects import create_project

PROMPT = "Explain how rivers shape the land around them, with two examples. " * 3


def start_stub() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.judges.stub_server"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    return proc, proc.stdout.readline().strip()


def fresh_database(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    engine.dispose()


def seed(url: str, n_items: int, stub_url: str, model: str, concurrency: int) -> None:
    """A pairwise project with ``n_items`` items (200-character prompt, two ~300-character
    responses, one marked better) and a judge on the stub."""
    engine = make_engine(url)
    with Session(engine) as session:
        load_shipped_rubric(session)
        project = create_project(session, "bench", "pairwise-helpful-harmless")
        session.execute(
            insert(Item),
            [
                {"id": i, "project_id": project.id, "external_id": f"i{i}", "prompt": f"{PROMPT} ({i})", "meta": {}}
                for i in range(1, n_items + 1)
            ],
        )
        session.execute(
            insert(Response),
            [
                {
                    "item_id": i,
                    "position": p,
                    "external_id": f"r{p}",
                    "model": f"m{p}",
                    "text": f"{PROMPT[:280]} [quality {(i + p) % 3}]",
                    "meta": {},
                }
                for i in range(1, n_items + 1)
                for p in (0, 1)
            ],
        )
        add_judge(session, "stub", stub_url, model, concurrency=concurrency)
        session.commit()
    engine.dispose()


def check_once(url: str) -> tuple[int, int]:
    """(verdicts, distinct items judged)."""
    engine = make_engine(url)
    with Session(engine) as session:
        verdicts = session.scalar(select(func.count()).select_from(JudgeVerdict))
        items = session.scalar(select(func.count(func.distinct(JudgeVerdict.item_id))))
    engine.dispose()
    return verdicts, items


def one_runner(url: str, args, stub_url: str) -> dict:
    fresh_database(url)
    seed(url, args.items, stub_url, f"consistent+delay={args.delay}", args.concurrency)
    engine = make_engine(url)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    summary = run_judge(engine, "bench", "stub", RunOptions())
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    engine.dispose()
    verdicts, items = check_once(url)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "database": url.split(":")[0],
        "judged": summary.judged,
        "seconds": round(summary.seconds, 2),
        "items_per_second": round(summary.judged / summary.seconds, 1),
        "runner_cpu_seconds": round(cpu, 2),
        "runner_cpu_ms_per_item": round(1000 * cpu / max(1, summary.judged), 2),
        "verdicts": verdicts,
        "distinct_items": items,
    }


def two_runners(url: str, args, stub_url: str) -> dict:
    fresh_database(url)
    seed(url, args.items, stub_url, f"consistent+delay={args.delay}", args.concurrency)
    env = {**os.environ, "WORKBENCH_DATABASE_URL": url}
    command = [
        sys.executable,
        "-m",
        "workbench.cli",
        "judge",
        "run",
        "bench",
        "--judge",
        "stub",
        "--json",
        "--no-progress",
    ]
    began = time.monotonic()
    procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [json.loads(p.communicate()[0]) for p in procs]
    seconds = time.monotonic() - began
    verdicts, items = check_once(url)
    judged = [o["judged"] for o in outs]
    return {
        "database": "postgresql",
        "runners": 2,
        "judged_by_each": judged,
        "seconds": round(seconds, 2),
        "items_per_second": round(sum(judged) / seconds, 1),
        "verdicts": verdicts,
        "distinct_items": items,
        "judged_twice": verdicts - items,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "items": args.items, "delay": args.delay,
              "concurrency": args.concurrency, "cpus": os.cpu_count(), "reference_ms_before": round(reference_ms(), 1)}  # fmt: skip
    stub, stub_url = start_stub()
    try:
        with tempfile.TemporaryDirectory() as folder:
            url = args.database_url or f"sqlite:///{folder}/bench.db"
            report["one_runner"] = one_runner(url, args, stub_url)
            print(json.dumps(report["one_runner"]), file=sys.stderr)
        if args.pg_url:
            report["two_runners"] = two_runners(args.pg_url, args, stub_url)
    finally:
        stub.terminate()
        stub.wait()
    report["reference_ms_after"] = round(reference_ms(), 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
