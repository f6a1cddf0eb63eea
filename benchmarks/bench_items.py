"""The item browser at 100k items: what staff wait for when they search and filter.

    python benchmarks/bench_items.py [--items 100000] [--overlap 3] [--database-url URL]

Fills a fresh database (not timed) as ``bench_pages.py`` does: ``--items`` pairwise items
(six models, 1% gold) with ``--overlap`` judgments each from 30 raters, plus 1,000 skips
and reports. Then requests the item browser through the Flask test client, logged in as a
researcher, with each filter: the first (cold) load and the median of three warm loads.
The "in disagreement" filter reads the disagreement queue's cached figures, so its cold
load is the queue's computation. Target: < 1 s warm. Default database: a fresh SQLite file;
pass a PostgreSQL URL (its schema is dropped and recreated) for the server.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_io import _fresh  # noqa: E402
from bench_pages import _login, _time, build  # noqa: E402
from machine import reference_ms  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from workbench.db import make_engine  # noqa: E402
from workbench.models import Item, ItemFlag, User  # noqa: E402

FLAGS = 1000


def add_flags(url: str, project_id: int) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        rater = session.scalar(select(User.id).where(User.email == "rater@bench.example"))
        ids = session.scalars(select(Item.id).where(Item.project_id == project_id).order_by(Item.id)).all()
        rows = [
            {
                "project_id": project_id,
                "item_id": ids[k * (len(ids) // FLAGS)],
                "rater_id": rater,
                "kind": "broken" if k % 3 == 0 else "skip",
                "reason": "Broken or empty response" if k % 3 == 0 else "Outside my expertise",
            }
            for k in range(FLAGS)
        ]
        session.execute(insert(ItemFlag), rows)
        session.commit()
        middle = ids[len(ids) // 2]
    engine.dispose()
    return middle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    from workbench.app import create_app

    before = reference_ms()
    with tempfile.TemporaryDirectory() as folder:
        url = _fresh(args.database_url, Path(folder), "items.db")
        started = time.perf_counter()
        project_id = build(url, args.items, args.overlap)
        item_id = add_flags(url, project_id)
        print(
            f"database: {url.split('@')[-1]}; {args.items} items x {args.overlap} judgments, {FLAGS} flags, "
            f"built in {time.perf_counter() - started:.0f} s"
        )
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(Path(folder) / "instance"), "SECRET_KEY": "bench"})
        base = f"/projects/{project_id}"
        last = -(-args.items // 50)
        pages = [
            ("first page, no filter", f"{base}/items"),
            (f"page {last} of {last}", f"{base}/items?page={last}"),
            ("search an id", f"{base}/items?q=item-0099999"),
            ("search the text", f"{base}/items?q=xyzzy+nowhere"),
            ("model filter", f"{base}/items?model=model-c"),
            ("status: open", f"{base}/items?status=open"),
            ("status: complete", f"{base}/items?status=complete"),
            ("status: gold", f"{base}/items?status=gold"),
            ("status: skipped or reported", f"{base}/items?status=flagged"),
            ("status: in disagreement", f"{base}/items?status=disagreement"),
            ("one item", f"{base}/items/{item_id}"),
            ("reports queue", f"{base}/flags"),
        ]
        client = app.test_client()
        _login(client, "lead@bench.example")
        print(f"{'page':32} {'cold s':>8} {'warm s (median of 3)':>22} {'target':>8}  status")
        for name, path in pages:
            cold, warm, status = _time(client, path)
            median = statistics.median(warm)
            verdict = "ok" if median < 1.0 and status == 200 else "MISSED"
            print(f"{name:32} {cold:8.3f} {median:22.3f} {1.0:8.1f}  {status} {verdict}")
        app.extensions["workbench"].engine.dispose()
    print(f"machine reference: {before:.1f} ms before, {reference_ms():.1f} ms after (lower is faster)")


if __name__ == "__main__":
    main()
