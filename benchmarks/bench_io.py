"""Import and export speed: 100k items in, 1M preferences out to Parquet.

    python benchmarks/bench_io.py [--items 100000] [--preferences 1000000] [--database-url URL]

Import: writes a JSON Lines file of pairwise items shaped like the workload in ``docs/benchmarks.md``
(a 200-character prompt and two 500-character responses), then times
``import_rows`` over it (read, check every row, insert) plus the commit, on a fresh
database.

Export: fills a second database (not timed) with ``--preferences`` pairwise items (a
100-character prompt, two 200-character responses) and one judgment each from 100
raters, then runs ``export_preferences`` to Parquet (majority vote, manifest with alpha
and a 1000-resample CI, dataset card) in a child process, and reports its wall time, its
CPU time (less sensitive than the wall time to other work on the machine), the child's
peak RSS and the machine's 1-minute load average before and after the export (other
work on the machine slows it).
Default databases: fresh SQLite files in a temporary folder. Last, the machine's speed
before and after (``machine.reference_ms``: the figures scale with it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from machine import TreeMemory, reference_ms
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from workbench.db import Base, make_engine
from workbench.models import Item, Judgment, Response, User
from workbench.paths import resource_dir
from workbench.rubric import load_rubric_file
from workbench.services.projects import create_project
from workbench.services.rubrics import current_version, load_rubric

BATCH = 50_000
WORDS = [
    "the",
    "model",
    "answers",
    "a",
    "question",
    "about",
    "rivers",
    "cats",
    "lamps",
    "history",
    "code",
    "tests",
    "and",
    "more",
]


def _text(rng: random.Random, n: int) -> str:
    out = []
    size = 0
    while size < n:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:n]


def _fresh(url: str | None, folder: Path, name: str) -> str:
    if url is None:
        return f"sqlite:///{folder / name}"
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
    engine.dispose()
    return url


def _project(session: Session, name: str):
    load_rubric(session, load_rubric_file(resource_dir("rubrics") / "pairwise-helpful-harmless.yaml"))
    return create_project(session, name, "pairwise-helpful-harmless", overlap_k=1)


def bench_import(url: str, folder: Path, n_items: int) -> dict:
    from workbench.services.import_formats import open_source
    from workbench.services.imports import import_rows

    rng = random.Random(0)
    path = folder / "items.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for n in range(n_items):
            row = {
                "id": f"item-{n:06d}",
                "prompt": _text(rng, 200),
                "responses": [
                    {"id": "a", "model": "model-a", "text": _text(rng, 500)},
                    {"id": "b", "model": "model-b", "text": _text(rng, 500)},
                ],
            }
            fh.write(json.dumps(row) + "\n")
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        project = _project(session, "import")
        session.commit()
        start = time.perf_counter()
        source = open_source(path)
        report = import_rows(session, project, source.rows, unit=source.unit)
        session.commit()
        seconds = time.perf_counter() - start
    engine.dispose()
    return {"items": report.imported, "file_mb": round(path.stat().st_size / 1e6, 1), "seconds": round(seconds, 2)}


def build_preferences(url: str, n: int) -> None:
    rng = random.Random(1)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        project = _project(session, "export")
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
                    for i in range(100)
                ],
            )
            .scalars()
            .all()
        )
        prompts = [_text(rng, 100) for _ in range(1000)]
        texts = [_text(rng, 200) for _ in range(2000)]
        for start in range(0, n, BATCH):
            count = min(n, start + BATCH) - start
            rows = [
                {
                    "project_id": project.id,
                    "external_id": f"item-{k:07d}",
                    "prompt": prompts[k % 1000] + str(k),
                    "meta": {},
                    "is_gold": False,
                }
                for k in range(start, start + count)
            ]
            ids = session.execute(insert(Item).returning(Item.id, sort_by_parameter_order=True), rows).scalars().all()
            session.execute(
                insert(Response),
                [
                    {
                        "item_id": i,
                        "position": p,
                        "external_id": "ab"[p],
                        "model": f"model-{'ab'[p]}",
                        "text": texts[(k * 2 + p) % 2000],
                        "meta": {},
                    }
                    for k, i in enumerate(ids)
                    for p in (0, 1)
                ],
            )
            session.execute(
                insert(Judgment),
                [
                    {
                        "project_id": project.id,
                        "item_id": i,
                        "rater_id": raters[(start + k) % 100],
                        "rubric_version_id": version.id,
                        "answers": {
                            "helpful": {"choice": rng.choice("AB"), "strength": rng.randint(1, 3)},
                            "harmless": {"choice": "tie"},
                        },
                        "display_order": [0, 1],
                        "issued_at": now,
                        "submitted_at": now,
                        "duration_ms": 10_000,
                        "idempotency_key": f"k{start + k}",
                    }
                    for k, i in enumerate(ids)
                ],
            )
            session.commit()
    engine.dispose()


def export_child(url: str, out: str) -> None:
    """Runs in a child process so its peak RSS is the export's alone."""
    from workbench.export import ExportOptions, export_preferences
    from workbench.models import Project

    engine = make_engine(url)
    with Session(engine) as session:
        project = session.query(Project).filter_by(name="export").one()
        load_before = os.getloadavg()[0]
        sampler = TreeMemory(os.getpid())
        start = time.perf_counter()
        cpu_start = time.process_time()
        summary = export_preferences(session, project, out, ExportOptions(formats=("parquet",)))
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        load_after = os.getloadavg()[0]
    sampler.stop()
    # This process's own peak, or the largest resident memory of its process tree seen
    # while it ran (the same measure as before the export read in a single process).
    peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, sampler.peak_mib)
    print(
        json.dumps(
            {
                "rows": summary.rows,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu, 2),
                "peak_rss_mb": round(peak_mb),
                "parquet_mb": round(Path(out, "preferences.parquet").stat().st_size / 1e6, 1),
                "load": [round(load_before, 2), round(load_after, 2)],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--preferences", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="Use this (emptied!) database instead of SQLite files.")
    parser.add_argument("--export-child", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        export_child(*args.export_child)
        return
    reference = reference_ms()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.items:
            result = bench_import(_fresh(args.database_url, folder, "import.db"), folder, args.items)
            print(
                f"import {result['items']:,} items ({result['file_mb']} MB JSONL): {result['seconds']} s (target < 10 s)"
            )
        if args.preferences:
            url = _fresh(args.database_url, folder, "export.db")
            start = time.perf_counter()
            build_preferences(url, args.preferences)
            print(f"built {args.preferences:,} judged items in {time.perf_counter() - start:.1f} s (not timed)")
            child = subprocess.run(
                [sys.executable, __file__, "--export-child", url, str(folder / "out")],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
            print(
                f"export {result['rows']:,} preferences to Parquet ({result['parquet_mb']} MB): {result['seconds']} s "
                f"({result['cpu_seconds']} s CPU), "
                f"peak RSS {result['peak_rss_mb']} MB (targets < 10 s, < 300 MB); "
                f"1-minute load average {result['load'][0]:.2f} before, {result['load'][1]:.2f} after"
            )
    print(f"machine reference: {reference:.0f} ms before, {reference_ms():.0f} ms after (lower is faster)")


if __name__ == "__main__":
    main()
