"""``workbench serve``: gunicorn answers, logs each request as JSON, and stops gracefully."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from workbench.serving import ACCESS_LOG_FORMAT, gunicorn_options


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_options_are_production_defaults():
    options = gunicorn_options("0.0.0.0", 8000, workers=3, threads=4, access_log=True)
    assert options["bind"] == "0.0.0.0:8000" and options["worker_class"] == "gthread"
    assert options["preload_app"] is True and options["graceful_timeout"] >= 10
    assert options["accesslog"] == "-" and gunicorn_options("h", 1, 1, 1, access_log=False)["accesslog"] is None
    json.loads(ACCESS_LOG_FORMAT % {k: "1" for k in "tmUqsMBha"})  # the format is a JSON object


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn runs on POSIX only")
def test_serve_answers_logs_json_and_stops_on_sigterm(tmp_path: Path):
    port = _free_port()
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    env = {**os.environ, "WORKBENCH_DATABASE_URL": url, "WORKBENCH_INSTANCE_PATH": str(tmp_path)}
    subprocess.run([sys.executable, "-m", "workbench.cli", "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "serve", "--port", str(port), "--workers", "2", "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200 and json.load(response) == {"status": "ok", "database": "ok"}
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.time() < deadline, "the server did not start"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
            assert response.status == 200
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=40)
    assert server.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert {(line["method"], line["path"], line["status"]) for line in lines} >= {
        ("GET", "/healthz", 200),
        ("GET", "/login", 200),
    }
    assert all(isinstance(line["ms"], int) for line in lines)
    assert "Shutting down" in err or "Handling signal: term" in err
