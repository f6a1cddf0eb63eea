"""Serving: gunicorn in production, the demo on the development server."""

from __future__ import annotations

import click

from ..paths import DEMO_DIR, resource_dir
from . import main, open_session

# -- serving ----------------------------------------------------------------------------


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", type=int, default=None, help="gunicorn worker processes [default: 2 × CPU cores].")
@click.option("--threads", type=int, default=4, show_default=True, help="Threads per worker.")
@click.option("--no-access-log", is_flag=True, help="Do not write a JSON line per request.")
@click.option("--dev", is_flag=True, help="Flask's threaded development server instead of gunicorn.")
def serve(host: str, port: int, workers: int | None, threads: int, no_access_log: bool, dev: bool):
    """Serve the web app with gunicorn (graceful shutdown on SIGTERM)."""
    if dev:
        from ..app import create_app

        create_app().run(host=host, port=port, threaded=True)
        return
    from ..serving import default_workers, run

    run(host, port, workers or default_workers(), threads, access_log=not no_access_log)


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Seed the demo data and exit.")
def demo(host: str, port: int, no_serve: bool):
    """Create the database, load rubrics, demo items, users and judgments, then serve."""
    from ..services.demo import seed_demo

    with open_session(upgrade=True) as session:
        seed = seed_demo(session, resource_dir("rubrics"), DEMO_DIR)
    click.echo("demo data " + ("created" if seed.created else "already present"))
    click.echo(f"demo logins (password for all: {seed.logins[0][2]}):")
    for email, role, _ in seed.logins:
        click.echo(f"  {role:<10} {email}")
    if no_serve:
        return
    click.echo(f"serving on http://{host}:{port}/  (Ctrl+C to stop)")
    from ..app import create_app

    create_app().run(host=host, port=port, threaded=True)
