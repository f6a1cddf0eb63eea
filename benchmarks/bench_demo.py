"""Time from `workbench demo` start to HTTP 200 on the login page, in a fresh folder.

python benchmarks/bench_demo.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run() -> float:
    folder = tempfile.mkdtemp(prefix="wb-demo-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [shutil.which("workbench") or "workbench", "demo", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = start + 60
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the demo did not answer within 60 s")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = [one_run() for _ in range(args.runs)]
    print(
        f"workbench demo → HTTP 200 on /login: best {min(times):.2f} s, worst {max(times):.2f} s over {args.runs} runs (fresh SQLite each)"
    )


if __name__ == "__main__":
    main()
