"""Production serving with gunicorn: ``workbench serve``.

The app is built once in the master process (``preload_app``), so settings, the secret key
and the migrations check happen once; each worker then drops the connections it inherited
(``engine.dispose(close=False)``, as SQLAlchemy recommends after a fork) and opens its own.
Workers are threaded (``gthread``): a worker waiting on the database serves other
requests meanwhile. SIGTERM stops gracefully: workers finish the requests in flight within
``graceful_timeout`` seconds.

Access logs are one JSON object per request on standard output.
"""

from __future__ import annotations

import os
from typing import Any

ACCESS_LOG_FORMAT = (
    '{"time": "%(t)s", "method": "%(m)s", "path": "%(U)s", "query": "%(q)s", "status": %(s)s, '
    '"ms": %(M)s, "bytes": "%(B)s", "remote": "%(h)s", "agent": "%(a)s"}'
)


def default_workers() -> int:
    return max(2, (os.cpu_count() or 1) * 2)


def gunicorn_options(host: str, port: int, workers: int, threads: int, access_log: bool) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "preload_app": True,
        "graceful_timeout": 30,
        "timeout": 60,
        "keepalive": 5,
        "accesslog": "-" if access_log else None,
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "info",
        "post_fork": _post_fork,
    }


def _post_fork(server, worker) -> None:  # pragma: no cover - runs in gunicorn's workers
    app = server.app.wsgi()
    app.extensions["workbench"].engine.dispose(close=False)


def run(host: str, port: int, workers: int, threads: int, access_log: bool = True) -> None:  # pragma: no cover
    from gunicorn.app.base import BaseApplication

    from .app import create_app

    options = gunicorn_options(host, port, workers, threads, access_log)

    class WorkbenchServer(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app()

    WorkbenchServer().run()
