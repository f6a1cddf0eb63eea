"""Page times at 300k judgments: what a rater and a team lead wait for.

    python benchmarks/bench_pages.py [--items 100000] [--overlap 3] [--database-url URL]

Fills a fresh database (not timed) with ``--items`` pairwise items (six models, 1% gold)
and ``--overlap`` judgments each from 30 raters, then requests every page through the
Flask test client, logged in as a rater and as a researcher: the first (cold) load, then
the median of three warm loads. Cold is what every request cost before statistics were
cached (``services.stat_cache``); warm is what visitors wait for while the cached figures
are good. Targets: rater pages < 0.3 s, staff pages < 1 s warm. Default database: a fresh
SQLite file; pass a PostgreSQL URL (its schema is dropped and recreated) for the server.

``--before FOLDER`` first runs the same benchmark against an older checkout of the code
(FOLDER holds its ``workbench`` package, e.g. a detached worktree), so one run prints the
figures before and after a change on the same machine within minutes of each other.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_io import _fresh, _project, _text  # noqa: E402
from machine import reference_ms  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from workbench.db import Base, make_engine  # noqa: E402
from workbench.models import Item, Judgment, Response, User  # noqa: E402
from workbench.services.judging import recount_judgments  # noqa: E402
from workbench.services.rubrics import current_version  # noqa: E402
from workbench.services.users import create_user  # noqa: E402

BATCH = 20_000
MODELS = [f"model-{c}" for c in "abcdef"]
PASSWORD = "bench password 1"


def build(url: str, n_items: int, overlap: int) -> int:
    rng = random.Random(3)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        project = _project(session, "pages")
        project.overlap_k = overlap
        version = current_version(session, project)
        raters = (
            session.execute(
                insert(User).returning(User.id),
                [
                    {
                        "email": f"r{i}@bench.example",
                        "name": f"r{i}",
                        "role": "rater",
                        "active": True,
                        "is_machine": False,
                    }
                    for i in range(30)
                ],
            )
            .scalars()
            .all()
        )
        create_user(session, "rater@bench.example", "rater", PASSWORD)
        create_user(session, "lead@bench.example", "researcher", PASSWORD)
        texts = [_text(rng, 300) for _ in range(500)]
        key = 0
        for start in range(0, n_items, BATCH):
            count = min(n_items, start + BATCH) - start
            rows = []
            for k in range(start, start + count):
                gold = k % 100 == 0
                rows.append(
                    {
                        "project_id": project.id,
                        "external_id": f"item-{k:07d}",
                        "prompt": texts[k % 500][:150] + str(k),
                        "meta": {},
                        "is_gold": gold,
                        "gold_answer": {"helpful": {"choice": "A", "strength": 2}} if gold else None,
                    }
                )
            ids = session.execute(insert(Item).returning(Item.id, sort_by_parameter_order=True), rows).scalars().all()
            responses, judgments = [], []
            for k, item_id in enumerate(ids):
                pair = rng.sample(MODELS, 2)
                for p in (0, 1):
                    responses.append(
                        {
                            "item_id": item_id,
                            "position": p,
                            "external_id": "ab"[p],
                            "model": pair[p],
                            "text": texts[(k + p) % 500],
                            "meta": {},
                        }
                    )
                better = "A" if MODELS.index(pair[0]) < MODELS.index(pair[1]) else "B"
                for r in rng.sample(raters, overlap):
                    choice = better if rng.random() < 0.7 else rng.choice(["A", "B", "tie"])
                    helpful = (
                        {"choice": choice} if choice == "tie" else {"choice": choice, "strength": rng.randint(1, 3)}
                    )
                    order = [0, 1] if rng.random() < 0.5 else [1, 0]
                    judgments.append(
                        {
                            "project_id": project.id,
                            "item_id": item_id,
                            "rater_id": r,
                            "rubric_version_id": version.id,
                            "answers": {"helpful": helpful, "harmless": {"choice": rng.choice(["A", "B", "tie"])}},
                            "display_order": order,
                            "issued_at": now,
                            "submitted_at": now,
                            "duration_ms": rng.randint(3_000, 60_000),
                            "idempotency_key": f"k{key}",
                        }
                    )
                    key += 1
            session.execute(insert(Response), responses)
            session.execute(insert(Judgment), judgments)
            session.commit()
        recount_judgments(session, project)
        session.commit()
        project_id = project.id
    engine.dispose()
    return project_id


def _login(client, email: str) -> None:
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf}).status_code == 302


def _time(client, path: str) -> tuple[float, list[float], int]:
    timings = []
    status = 0
    for _ in range(4):
        start = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - start)
        status = response.status_code
    return timings[0], timings[1:], status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--before", default=None, help="an older checkout to run the same benchmark against first")
    args = parser.parse_args()
    if args.before:
        child = [a for i, a in enumerate(sys.argv) if a != "--before" and sys.argv[i - 1] != "--before"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([args.before, os.environ.get("PYTHONPATH", "")])}
        subprocess.run([sys.executable, *child], env=env, check=True)
        print()
    import workbench
    from workbench.app import create_app

    print(f"code: {Path(workbench.__file__).parent.parent} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")

    before = reference_ms()
    with tempfile.TemporaryDirectory() as folder:
        url = _fresh(args.database_url, Path(folder), "pages.db")
        started = time.perf_counter()
        project_id = build(url, args.items, args.overlap)
        print(
            f"database: {url.split('@')[-1]}; {args.items} items x {args.overlap} judgments, built in {time.perf_counter() - started:.0f} s"
        )
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(Path(folder) / "instance"), "SECRET_KEY": "bench"})
        pages = [
            ("rater", "rate page", f"/projects/{project_id}/rate", 0.3),
            ("rater", "My figures", f"/projects/{project_id}/me", 0.3),
            ("lead", "dashboard (with rater table)", f"/projects/{project_id}", 1.0),
            ("lead", "leaderboard", f"/projects/{project_id}/leaderboard", 1.0),
            ("lead", "report", f"/projects/{project_id}/report", 1.0),
            ("lead", "disagreements", f"/projects/{project_id}/disagreements", 1.0),
        ]
        clients = {"rater": app.test_client(), "lead": app.test_client()}
        _login(clients["rater"], "rater@bench.example")
        _login(clients["lead"], "lead@bench.example")
        print(f"{'page':32} {'cold s':>8} {'warm s (median of 3)':>22} {'target':>8}  status")
        for who, name, path, target in pages:
            cold, warm, status = _time(clients[who], path)
            median = statistics.median(warm)
            verdict = "ok" if median < target else "MISSED"
            print(f"{name:32} {cold:8.3f} {median:22.3f} {target:8.1f}  {status} {verdict}")
        app.extensions["workbench"].engine.dispose()
    print(f"machine reference: {before:.1f} ms before, {reference_ms():.1f} ms after (lower is faster)")


if __name__ == "__main__":
    main()
