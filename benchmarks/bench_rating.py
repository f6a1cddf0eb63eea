"""Rating throughput over the rater JSON API, on the workload described in docs/benchmarks.md.

    python benchmarks/bench_rating.py [--database-url URL] [--workers N] [--threads T]

Builds 10,000 pairwise items (fixed seed; 200-character prompts, two 500-character
responses) in a fresh database (default: a temporary SQLite file; for PostgreSQL pass a
URL of a database it may wipe), starts ``workbench serve`` (gunicorn) on it, and drives it
over HTTP on loopback with API tokens:

- sequential: one rater, 500 rounds of next + submit;
- concurrent: 8 raters, then 32, one thread each, each bounded by 60 s and 300 rounds.

With ``--escalated S --accepted A`` an LLM judge's decisions are planted first: a seeded
share S of the items escalated to humans and a share A accepted as judge-labelled, so the
next-item walk serves escalated items first and accepted ones last (compare with a run
without them for the cost of that ordering).

Prints p50/p95/p99 ms per call, judgments per second, errors and the CPU time per
judgment of the server, a local PostgreSQL and this client per phase; afterwards counts
items above their overlap and duplicate (item, rater) judgments; and reports the server's
peak RSS (all its processes), the load average, and the machine's speed before and after
(``machine.reference_ms``: the figures scale with it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from machine import cpu_seconds, named, process_tree, reference_ms, rss_mib
from sqlalchemy import func, insert, select, text

from workbench.db import make_engine, make_sessionmaker
from workbench.migrate import upgrade
from workbench.models import Escalation, Item, Judge, Judgment
from workbench.paths import resource_dir
from workbench.rubric import load_rubric_file
from workbench.services.imports import import_items
from workbench.services.projects import create_project
from workbench.services.rubrics import load_rubric
from workbench.services.users import create_api_token, create_user

N_ITEMS = 10_000
OVERLAP = 3
ANSWERS = {"helpful": {"choice": "A", "strength": 1}, "harmless": {"choice": "tie"}}
WORDS = [
    "the", "a", "model", "answer", "because", "which", "clearly", "shows",
    "more", "detail", "than", "needed", "about", "this", "topic", "and",
]  # fmt: skip


def sentence(rng: random.Random, length: int) -> str:
    out = []
    while sum(len(w) + 1 for w in out) < length:
        out.append(rng.choice(WORDS))
    return " ".join(out)[:length]


def reset(url: str) -> None:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def plant_escalations(session, project, escalated: float, accepted: float) -> tuple[int, int]:
    """A judge's decisions on a seeded random share of the project's items."""
    if escalated <= 0 and accepted <= 0:
        return 0, 0
    user = create_user(session, "judge@bench.example", "rater", None, name="bench judge")
    judge = Judge(name="bench-judge", user_id=user.id, base_url="http://127.0.0.1:9/v1", model="stub")
    session.add(judge)
    session.flush()
    ids = list(session.scalars(select(Item.id).where(Item.project_id == project.id).order_by(Item.id)))
    random.Random(20261204).shuffle(ids)
    n_escalated, n_accepted = round(escalated * len(ids)), round(accepted * len(ids))
    decisions = [(item_id, False) for item_id in ids[:n_escalated]]
    decisions += [(item_id, True) for item_id in ids[n_escalated : n_escalated + n_accepted]]
    session.execute(
        insert(Escalation),
        [
            {"project_id": project.id, "item_id": item_id, "judge_id": judge.id, "accepted": ok, "confidence": 0.5,
             "threshold": 0.8, "target_agreement": 0.85, "delta": 0.1, "question_id": "helpful"}
            for item_id, ok in decisions
        ],
    )  # fmt: skip
    return n_escalated, n_accepted


def build(
    url: str, n_raters: int, n_items: int, escalated: float = 0.0, accepted: float = 0.0
) -> tuple[int, list[str], float]:
    reset(url)
    upgrade(url)
    engine = make_engine(url)
    rng = random.Random(20261123)
    lines = (
        json.dumps(
            {
                "id": f"item-{n}",
                "prompt": sentence(rng, 200),
                "responses": [
                    {"id": "a", "model": "model-a", "text": sentence(rng, 500)},
                    {"id": "b", "model": "model-b", "text": sentence(rng, 500)},
                ],
            }
        )
        + "\n"
        for n in range(n_items)
    )
    with make_sessionmaker(engine)() as session:
        load_rubric(session, load_rubric_file(resource_dir("rubrics") / "pairwise-helpful-harmless.yaml"))
        project = create_project(session, "bench", "pairwise-helpful-harmless", overlap_k=OVERLAP)
        started = time.perf_counter()
        import_items(session, project, lines)
        import_seconds = time.perf_counter() - started
        n_escalated, n_accepted = plant_escalations(session, project, escalated, accepted)
        if n_escalated or n_accepted:
            print(f"escalations: {n_escalated} items escalated, {n_accepted} accepted")
        tokens = []
        for n in range(n_raters):
            user = create_user(session, f"rater{n}@bench.example", "rater", None, name=f"rater {n}")
            tokens.append(create_api_token(session, user, "bench"))
        session.commit()
        project_id = project.id
    engine.dispose()
    return project_id, tokens, import_seconds


@dataclass
class Tally:
    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    judgments: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.next_ms += other.next_ms
        self.submit_ms += other.submit_ms
        self.judgments += other.judgments
        self.errors += other.errors


def rater_loop(port: int, project_id: int, token: str, rounds: int, seconds: float, tally: Tally) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deadline = time.perf_counter() + seconds
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        try:
            t0 = time.perf_counter()
            conn.request("GET", f"/api/v1/projects/{project_id}/next", headers=headers)
            response = conn.getresponse()
            body = response.read()
            tally.next_ms.append((time.perf_counter() - t0) * 1000)
            if response.status == 204:
                break
            if response.status != 200:
                tally.errors.append(f"next {response.status}: {body[:200]!r}")
                continue
            lease_id = json.loads(body)["lease_id"]
            payload = json.dumps({"answers": ANSWERS, "idempotency_key": f"{token[-12:]}-{lease_id}"})
            t0 = time.perf_counter()
            conn.request("POST", f"/api/v1/leases/{lease_id}/judgment", body=payload, headers=headers)
            response = conn.getresponse()
            body = response.read()
            tally.submit_ms.append((time.perf_counter() - t0) * 1000)
            if response.status in (200, 201):
                tally.judgments += 1
            else:
                tally.errors.append(f"submit {response.status}: {body[:200]!r}")
        except (OSError, http.client.HTTPException) as exc:
            tally.errors.append(f"{type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def phase(name: str, port: int, project_id: int, tokens: list[str], rounds: int, seconds: float, usage: Usage) -> Tally:
    tallies = [Tally() for _ in tokens]
    threads = [
        threading.Thread(target=rater_loop, args=(port, project_id, token, rounds, seconds, tally))
        for token, tally in zip(tokens, tallies, strict=True)
    ]
    before = usage.sample()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    spent = {part: used - before[part] for part, used in usage.sample().items()}
    total = Tally()
    for tally in tallies:
        total.add(tally)
    print(
        f"{name}: {total.judgments} judgments in {elapsed:.1f} s = {total.judgments / elapsed:.1f}/s; "
        f"next p50/p95/p99 {pct(total.next_ms, 50):.1f}/{pct(total.next_ms, 95):.1f}/{pct(total.next_ms, 99):.1f} ms; "
        f"submit p50/p95/p99 {pct(total.submit_ms, 50):.1f}/{pct(total.submit_ms, 95):.1f}/{pct(total.submit_ms, 99):.1f} ms; "
        f"errors {len(total.errors)}"
    )
    if total.judgments:
        parts = ", ".join(f"{part} {1000 * used / total.judgments:.1f} ms" for part, used in spent.items())
        busy = sum(spent.values()) / (elapsed * (os.cpu_count() or 1))
        print(f"    CPU per judgment: {parts}; cores busy {100 * busy:.0f}%")
    for error in total.errors[:5]:
        print("   ", error)
    return total


@dataclass
class Usage:
    """CPU seconds used so far by the server's processes, the local PostgreSQL and this client."""

    server_pid: int
    postgres: bool

    def sample(self) -> dict[str, float]:
        times = os.times()
        out = {"server": cpu_seconds(process_tree(self.server_pid))}
        if self.postgres:
            out["PostgreSQL"] = cpu_seconds(named("postgres"))
        out["client"] = times.user + times.system
        return out


def is_local_postgres(url: str) -> bool:
    engine = make_engine(url)
    try:
        return engine.dialect.name == "postgresql" and engine.url.host in (None, "", "localhost", "127.0.0.1", "::1")
    finally:
        engine.dispose()


def wait_healthy(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("the server did not become healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=None, help="database to wipe and use (default: a temporary SQLite file)"
    )
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: workbench serve's)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--items", type=int, default=N_ITEMS)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--escalated", type=float, default=0.0, help="share of items an LLM judge escalated")
    parser.add_argument("--accepted", type=float, default=0.0, help="share of items accepted as judge-labelled")
    args = parser.parse_args()
    reference = reference_ms()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    project_id, tokens, import_seconds = build(url, 1 + 8 + 32, args.items, args.escalated, args.accepted)
    print(f"database: {make_engine(url).dialect.name}; {args.items} items imported in {import_seconds:.2f} s")
    env = {
        **os.environ,
        "WORKBENCH_DATABASE_URL": url,
        "WORKBENCH_INSTANCE_PATH": tmp.name,
        "WORKBENCH_SECRET_KEY": "bench",
    }
    command = [
        sys.executable,
        "-m",
        "workbench.cli",
        "serve",
        "--port",
        str(args.port),
        "--threads",
        str(args.threads),
        "--no-access-log",
    ]
    if args.workers:
        command += ["--workers", str(args.workers)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.wait(0.5):
            peak = max(peak, rss_mib(process_tree(server.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        wait_healthy(args.port, server)
        sampler.start()
        usage = Usage(server.pid, postgres=is_local_postgres(url))
        phase("1 rater, 500 rounds", args.port, project_id, tokens[:1], 500, 600, usage)
        phase("8 raters", args.port, project_id, tokens[1:9], 300, args.seconds, usage)
        phase("32 raters", args.port, project_id, tokens[9:41], 300, args.seconds, usage)
        print(f"server peak RSS {peak:.0f} MiB (all processes); load average {os.getloadavg()[0]:.2f}")
        print(f"machine reference: {reference:.0f} ms before, {reference_ms():.0f} ms after (lower is faster)")
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        per_item = (
            select(Judgment.item_id, func.count().label("n"))
            .where(Judgment.superseded_by_id.is_(None))
            .group_by(Judgment.item_id)
            .subquery()
        )
        over = session.scalar(select(func.count()).select_from(per_item).where(per_item.c.n > OVERLAP))
        pairs = (
            select(Judgment.item_id, Judgment.rater_id, func.count().label("n"))
            .where(Judgment.superseded_by_id.is_(None))
            .group_by(Judgment.item_id, Judgment.rater_id)
            .subquery()
        )
        duplicates = session.scalar(select(func.count()).select_from(pairs).where(pairs.c.n > 1))
        total = session.scalar(select(func.count()).select_from(Judgment))
        items = session.scalar(select(func.count()).select_from(Item))
    engine.dispose()
    print(
        f"integrity: {total} judgments on {items} items; {over} items above overlap {OVERLAP}; {duplicates} duplicate (item, rater) judgments"
    )


if __name__ == "__main__":
    main()
