"""Two versions of the code under one rating load at the same time: server CPU per judgment.

    git worktree add --detach /tmp/before <commit>
    python benchmarks/bench_rating_ab.py /tmp/before .

On a shared 2-core machine the speed drifts between runs by more than the difference
between two versions, so ``bench_rating.py`` run in turn cannot tell 5% apart. Here each
checkout builds its own SQLite database (its own migrations, the ``bench_rating.py``
workload) and starts its own ``workbench serve``; then every phase drives both servers at
once with the same number of raters, and prints each server's CPU time per judgment. Both
sides see the same machine at the same moment, so the ratio is what the code costs.

Phases: 1 rater (2,000 rounds), 8 raters (300 rounds each), 32 raters twice (150 each).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_rating import Tally, pct, rater_loop, wait_healthy
from machine import cpu_seconds, process_tree, reference_ms

PHASES = (("1 rater", 1, 2000), ("8 raters", 8, 300), ("32 raters", 32, 150), ("32 raters again", 32, 150))


def start(name: str, checkout: Path, folder: Path, items: int, port: int) -> tuple[subprocess.Popen, int, list[str]]:
    """Build ``checkout``'s database with its own code, then start its server on ``port``."""
    url = f"sqlite:///{folder / name}.db"
    env = {**os.environ, "PYTHONPATH": f"{checkout}{os.pathsep}{checkout / 'benchmarks'}"}
    raters = sum(n for _, n, _ in PHASES)
    built = subprocess.run(
        [sys.executable, "-c", f"import json, bench_rating as b; print(json.dumps(b.build({url!r}, {raters}, {items})))"],
        env=env, cwd=checkout, capture_output=True, text=True, check=True,
    )  # fmt: skip
    project_id, tokens, _ = json.loads(built.stdout.strip().splitlines()[-1])
    (folder / name).mkdir()
    server_env = {
        **env,
        "WORKBENCH_DATABASE_URL": url,
        "WORKBENCH_INSTANCE_PATH": str(folder / name),
        "WORKBENCH_SECRET_KEY": "bench",
    }
    command = [sys.executable, "-m", "workbench.cli", "serve", "--port", str(port), "--threads", "4", "--no-access-log"]
    server = subprocess.Popen(
        command, env=server_env, cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_healthy(port, server)
    return server, project_id, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="checkout of the earlier code")
    parser.add_argument("after", type=Path, help="checkout of the later code")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--port", type=int, default=5081, help="the earlier code's port; the later one's is the next")
    args = parser.parse_args()
    print(f"machine reference: {reference_ms():.0f} ms (lower is faster)")
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    servers: dict[str, tuple[subprocess.Popen, int, list[str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for offset, (name, checkout) in enumerate(sides.items()):
                servers[name] = start(name, checkout, Path(tmp), args.items, args.port + offset)
            first = 0
            for label, raters, rounds in PHASES:
                tallies = {name: [Tally() for _ in range(raters)] for name in sides}
                threads = []
                for n in range(raters):  # interleaved: both sides start their raters together
                    for offset, name in enumerate(sides):
                        _, project_id, tokens = servers[name]
                        loop = (args.port + offset, project_id, tokens[first + n], rounds, 300, tallies[name][n])
                        threads.append(threading.Thread(target=rater_loop, args=loop))
                cpu_at_start = {name: cpu_seconds(process_tree(servers[name][0].pid)) for name in sides}
                started = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                parts = [f"{label} ({time.perf_counter() - started:.1f} s)"]
                for name in sides:
                    total = Tally()
                    for tally in tallies[name]:
                        total.add(tally)
                    used = cpu_seconds(process_tree(servers[name][0].pid)) - cpu_at_start[name]
                    parts.append(
                        f"{name}: {total.judgments} judgments, server CPU "
                        f"{1000 * used / max(1, total.judgments):.2f} ms/judgment, next p50/p99 "
                        f"{pct(total.next_ms, 50):.1f}/{pct(total.next_ms, 99):.1f} ms, errors {len(total.errors)}"
                    )
                print(" | ".join(parts), flush=True)
                first += raters
        finally:
            for server, _, _ in servers.values():
                server.send_signal(signal.SIGTERM)
            for server, _, _ in servers.values():
                server.wait(timeout=40)


if __name__ == "__main__":
    main()
