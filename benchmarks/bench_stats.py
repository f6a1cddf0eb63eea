"""Agreement on 1M judgments in a real database: SQL aggregation, alpha + 1000-resample CI.

    python benchmarks/bench_stats.py [--judgments 1000000] [--database-url URL]

Builds a single-response project (rubric ``response-quality``, 7-point scales) with
``judgments / 3`` items, each judged by 3 of 100 raters, with answers that agree up to
±1. Then times, for the ``overall`` question: the one GROUP BY that produces per-item
value counts, alpha with a 1000-resample bootstrap CI on those counts, and the bare
``krippendorff.alpha`` call on the same counts. Default database: a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime

import krippendorff
import numpy as np
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from workbench.db import Base, make_engine
from workbench.models import Item, Judgment, Response, User
from workbench.paths import resource_dir
from workbench.rubric import load_rubric_file
from workbench.services.agreement import _counts_matrix, value_count_rows
from workbench.services.projects import create_project
from workbench.services.questions import find_question
from workbench.services.rubrics import current_version, load_rubric
from workbench.stats.alpha import alpha_with_ci

N_RATERS = 100
BATCH = 50_000


def build(session: Session, n_judgments: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    load_rubric(session, load_rubric_file(resource_dir("rubrics") / "response-quality.yaml"))
    project = create_project(session, "bench", "response-quality", overlap_k=3)
    version = current_version(session, project)
    raters = (
        session.execute(
            insert(User).returning(User.id),
            [
                {"email": f"r{i}@bench.example", "name": f"r{i}", "role": "rater", "active": True, "is_machine": False}
                for i in range(N_RATERS)
            ],
        )
        .scalars()
        .all()
    )
    n_items = n_judgments // 3
    now = datetime.now(UTC)
    item_ids: list[int] = []
    for start in range(0, n_items, BATCH):
        rows = [
            {"project_id": project.id, "external_id": f"i{n}", "prompt": "p", "meta": {}, "is_gold": False}
            for n in range(start, min(n_items, start + BATCH))
        ]
        ids = session.execute(insert(Item).returning(Item.id, sort_by_parameter_order=True), rows).scalars().all()
        session.execute(
            insert(Response),
            [{"item_id": i, "position": 0, "external_id": "r", "model": "m", "text": "t", "meta": {}} for i in ids],
        )
        item_ids.extend(ids)
    truth = rng.integers(1, 8, size=n_items)
    key = 0
    pending = []
    for idx, item_id in enumerate(item_ids):
        for rater in rng.choice(raters, size=3, replace=False):
            value = int(np.clip(truth[idx] + rng.integers(-1, 2), 1, 7))
            answers = {"accuracy": value, "coherence": value, "coverage": value, "overall": value}
            pending.append(
                {
                    "project_id": project.id,
                    "item_id": item_id,
                    "rater_id": int(rater),
                    "rubric_version_id": version.id,
                    "answers": answers,
                    "display_order": [0],
                    "submitted_at": now,
                    "idempotency_key": f"k{key}",
                }
            )
            key += 1
        if len(pending) >= BATCH:
            session.execute(insert(Judgment), pending)
            pending = []
    if pending:
        session.execute(insert(Judgment), pending)
    session.commit()
    return project, version


def best_of(fn, runs: int):
    best, value = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judgments", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", default=None, help="default: a fresh SQLite file; a PostgreSQL database is reset"
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{folder.name}/bench.db"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        start = time.perf_counter()
        project, version = build(session, args.judgments)
        built = time.perf_counter() - start
        n = session.scalar(select(text("count(*)")).select_from(Judgment))
        question = find_question(version.document, "overall")
        t_sql, counts = best_of(
            lambda: _counts_matrix(value_count_rows(session, project, version, question), len(question.domain)),
            args.runs,
        )
        t_ci, result = best_of(
            lambda: alpha_with_ci(counts, question.value_domain, question.level, n_resamples=1000), args.runs
        )
        t_bare, bare = best_of(
            lambda: krippendorff.alpha(
                value_counts=counts, value_domain=question.value_domain, level_of_measurement="ordinal"
            ),
            args.runs,
        )
    engine.dispose()
    folder.cleanup()
    print(f"{engine.dialect.name}: {n:,} judgments on {counts.shape[0]:,} items (built in {built:.1f} s)")
    print(f"  SQL value counts (one GROUP BY):          {t_sql * 1000:8.0f} ms")
    print(f"  alpha + 1000-resample bootstrap CI:       {t_ci * 1000:8.0f} ms")
    print(
        f"  bare krippendorff.alpha on the same counts: {t_bare * 1000:6.0f} ms  (CI step = {t_ci / t_bare:.2f}x the bare call)"
    )
    print(f"  total agreement with CI:                  {(t_sql + t_ci) * 1000:8.0f} ms  (target < 2000 ms)")
    print(f"  alpha = {result.alpha:.4f} [{result.ci_low:.4f}, {result.ci_high:.4f}] (bare call: {bare:.4f})")


if __name__ == "__main__":
    main()
