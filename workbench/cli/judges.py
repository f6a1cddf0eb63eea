"""LLM judges: ``workbench judges`` (register, list) and ``workbench judge`` (run, measure, escalate)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..config import load_settings
from ..errors import WorkbenchError
from . import main, open_session, report_failure


@main.group("judges")
def judges():
    """Register and list LLM judges (OpenAI-compatible chat-completions endpoints)."""


@main.group("judge")
def judge():
    """Run a judge on a project, measure it against humans, and escalate what it can't be trusted with."""


@judges.command("add")
@click.argument("name")
@click.option(
    "--base-url",
    required=True,
    help="The endpoint's base URL, e.g. http://127.0.0.1:8000/v1 (POSTs go to BASE/chat/completions).",
)
@click.option("--model", required=True, help="The model name sent with each request.")
@click.option(
    "--api-key-env",
    default=None,
    help="Environment variable holding the API key, read at run time (the key is never stored).",
)
@click.option("--temperature", default=0.0, show_default=True, type=float)
@click.option("--max-tokens", default=1024, show_default=True, type=int)
@click.option("--concurrency", default=4, show_default=True, type=int, help="Requests in flight at once.")
@click.option(
    "--prompt",
    "prompt_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A Jinja prompt template replacing the built-in one (see docs/judges.md).",
)
def judges_add(name, base_url, model, api_key_env, temperature, max_tokens, concurrency, prompt_file):
    """Register judge NAME, rating as a machine user."""
    from ..services.judges import add_judge

    template = Path(prompt_file).read_text(encoding="utf-8") if prompt_file else None
    try:
        with open_session() as session:
            added = add_judge(
                session, name, base_url, model, api_key_env=api_key_env, temperature=temperature,
                max_tokens=max_tokens, concurrency=concurrency, prompt_template=template,
            )  # fmt: skip
            click.echo(f"added judge {added.name}: {added.model} at {added.base_url}")
    except WorkbenchError as exc:
        report_failure(exc)


@judges.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def judges_list(as_json: bool):
    """The judges, with their verdicts, failed attempts and runs."""
    from ..services.judges import list_judges

    with open_session() as session:
        listing = list_judges(session)
    if as_json:
        click.echo(json.dumps([entry.as_json() for entry in listing], indent=2))
        return
    if not listing:
        click.echo("no judges yet: add one with `workbench judges add`")
        return
    for entry in listing:
        j = entry.judge
        key = f"${j.api_key_env}" if j.api_key_env else "no key"
        click.echo(
            f"{j.name}\t{j.model}\t{j.base_url}\t{key}\tconcurrency {j.concurrency}\t"
            f"{entry.verdicts} verdicts\t{entry.failed_attempts} failed\t{entry.runs} runs"
        )


@judge.command("run")
@click.argument("project")
@click.option("--judge", "judge_name", required=True, help="The judge's name (see `workbench judges list`).")
@click.option("--both-orders", is_flag=True, help="Also ask with the sides swapped; stored as the swapped verdict.")
@click.option("--limit", type=int, default=None, help="Judge at most N items in this run.")
@click.option(
    "--samples",
    default=1,
    show_default=True,
    type=int,
    help="Asks per order; without log-probabilities, confidence is their agreement.",
)
@click.option("--price-in", type=float, default=None, help="Price per million prompt tokens, for the run's cost.")
@click.option("--price-out", type=float, default=None, help="Price per million completion tokens.")
@click.option(
    "--lease-minutes",
    default=10.0,
    show_default=True,
    type=float,
    help="How long a claimed item stays with this runner before another may take it.",
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal)."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object: judged, failed, skipped, prompt_tokens, completion_tokens, seconds.",
)
def judge_run(project, judge_name, both_orders, limit, samples, price_in, price_out, lease_minutes, progress, as_json):
    """Ask judge NAME about every item of PROJECT it has not judged yet.

    Several runners (on several machines, against PostgreSQL) may run at once: they share
    the items through leases and never judge one twice. A stopped run continues where it
    stopped when started again.
    """
    from ..db import make_engine
    from ..judges.runner import RunOptions, run_judge

    options = RunOptions(
        both_orders=both_orders, limit=limit, samples=samples, price_in=price_in, price_out=price_out,
        lease_minutes=lease_minutes,
    )  # fmt: skip
    show = sys.stderr.isatty() if progress is None else progress
    bar = None

    def on_start(total: int) -> None:
        nonlocal bar
        if show:
            bar = click.progressbar(length=total, label="judging", file=sys.stderr)
            bar.__enter__()

    engine = make_engine(load_settings()["DATABASE_URL"])
    try:
        summary = run_judge(
            engine, project, judge_name, options, progress=lambda n: bar and bar.update(n), on_start=on_start
        )
    except WorkbenchError as exc:
        report_failure(exc)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        engine.dispose()
    if as_json:
        click.echo(json.dumps(summary.as_json()))
        return
    cost = f", cost {summary.cost:.4f}" if summary.cost is not None else ""
    click.echo(
        f"judged {summary.judged}, failed {summary.failed}, skipped {summary.skipped} in {summary.seconds:.1f} s; "
        f"{summary.prompt_tokens} prompt and {summary.completion_tokens} completion tokens{cost} (run {summary.run_id})"
    )


__all__ = ["click", "judge", "judges"]
