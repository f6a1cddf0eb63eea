"""``judge run``: ask a judge about every item of a project, sharing the work with any other
runner of the same judge through leases (see ``store``).

One asyncio loop keeps up to the judge's ``concurrency`` requests in flight. Items are
claimed a batch at a time and results written a batch at a time, each in its own short
transaction, so other runners see the claims at once and a stopped run loses at most the
batch in flight: its leases are released on the way out (or expire, if the process was
killed) and the next run takes those items again.

Per item: one ask in the judge's order (seeded per item, so sides are balanced), and with
``both_orders`` a second with the sides swapped, stored as the swapped verdict; each ask
``samples`` times. An answer that does not fit the rubric is asked again, with the
problem, up to ``INVALID_RETRIES`` times, then recorded as a ``JudgeAttempt``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..errors import InvalidInput, WorkbenchError
from ..models import JudgeRun, utcnow
from ..services.judges import get_judge
from ..services.projects import resolve_project
from ..services.rubrics import current_version
from .answers import AnswerInvalid, canonical, consistency_confidences, logprob_confidences, screen_answers
from .client import ChatClient, EndpointError, EndpointUnusable
from .prompt import compile_template, prompt_context, render_messages, request_body, schema_name, strict_schema
from .store import Claim, Claimer, remaining, write_results

INVALID_RETRIES = 2
FLUSH_EVERY = 64  # items per write transaction
FLUSH_SECONDS = 1.0


class RunStopped(WorkbenchError):
    """The endpoint refused the judge itself; the run stopped with its leases released."""


@dataclass(frozen=True)
class RunOptions:
    both_orders: bool = False
    limit: int | None = None
    samples: int = 1
    price_in: float | None = None
    price_out: float | None = None
    lease_minutes: float = 10.0
    batch: int | None = None  # items claimed at a time (default: twice the concurrency)


@dataclass
class RunSummary:
    run_id: int
    judged: int = 0
    failed: int = 0
    skipped: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "judged": self.judged,
            "failed": self.failed,
            "skipped": self.skipped,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Ask:
    """One orientation, one sample: the valid screen answers, or what went wrong."""

    swapped: bool
    order: list[int]
    answers: dict[str, Any] | None = None
    content: str = ""
    logprobs: list | None = None
    raw: str = ""
    error: str = ""
    endpoint_failed: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Outcome:
    claim: Claim
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    release: bool = False  # endpoint trouble: give the item back for a later run
    skipped: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Setup:
    """What every ask of a run shares."""

    document: dict[str, Any]
    sha256: str
    version_id: int
    project_id: int
    judge_id: int
    template: Any
    schema: dict[str, Any]
    name: str
    model: str
    temperature: float
    max_tokens: int
    task_kind: str


def api_key(env_name: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The judge's key, read from its environment variable now (never stored)."""
    if not env_name:
        return None
    value = (os.environ if environ is None else environ).get(env_name)
    if not value:
        raise InvalidInput(f"the judge reads its API key from ${env_name}, which is not set")
    return value


async def _ask(client: ChatClient, gate: asyncio.Semaphore, setup: Setup, claim: Claim, swapped: bool) -> Ask:
    order = list(reversed(claim.display_order)) if swapped else list(claim.display_order)
    ask = Ask(swapped, order)
    context = prompt_context(setup.document, claim.prompt, claim.responses, order)
    messages = render_messages(setup.template, context)
    # For logs and for servers that replay recorded verdicts; endpoints ignore them.
    headers = {
        "X-Workbench-Item": claim.external_id,
        "X-Workbench-Display-Order": ",".join(map(str, order)),
    }
    for _ in range(INVALID_RETRIES + 1):
        body = request_body(setup.model, messages, setup.schema, setup.name, setup.temperature, setup.max_tokens)
        try:
            async with gate:
                completion = await client.complete(body, headers)
        except EndpointUnusable:
            raise
        except EndpointError as exc:
            ask.error, ask.endpoint_failed = str(exc), True
            return ask
        ask.prompt_tokens += completion.prompt_tokens
        ask.completion_tokens += completion.completion_tokens
        try:
            ask.answers = screen_answers(setup.document, completion.content, setup.sha256)
        except AnswerInvalid as exc:
            ask.raw, ask.error = completion.content, str(exc)
            messages = [
                *messages,
                {"role": "assistant", "content": completion.content},
                {
                    "role": "user",
                    "content": f"That answer does not fit the rubric ({exc}). Reply again with one JSON object only.",
                },
            ]
            continue
        ask.content, ask.logprobs, ask.error = completion.content, completion.logprobs, ""
        return ask
    return ask


def _outcome(setup: Setup, claim: Claim, asks: list[Ask]) -> Outcome:
    out = Outcome(claim)
    out.prompt_tokens = sum(a.prompt_tokens for a in asks)
    out.completion_tokens = sum(a.completion_tokens for a in asks)
    valid = [a for a in asks if a.answers is not None]
    answers = {id(a): canonical(setup.document, a.answers, a.order) for a in valid}
    every = list(answers.values())
    for swapped in sorted({a.swapped for a in asks}):
        mine = [a for a in asks if a.swapped == swapped]
        first = next((a for a in mine if a.answers is not None), None)
        if first is None:
            failure = mine[-1]
            out.attempts.append(
                {"project_id": setup.project_id, "item_id": claim.item_id, "judge_id": setup.judge_id,
                 "swapped": swapped, "raw": failure.raw, "error": failure.error[:2000]}
            )  # fmt: skip
            out.release = out.release or failure.endpoint_failed
            continue
        confidences = logprob_confidences(setup.document, first.content, first.logprobs, first.answers)
        method = "logprobs" if confidences else None
        if not confidences:
            confidences = consistency_confidences(setup.document, answers[id(first)], every)
            method = "consistency" if confidences else None
        out.verdicts.append(
            {
                "project_id": setup.project_id,
                "item_id": claim.item_id,
                "judge_id": setup.judge_id,
                "lease_id": claim.lease_id,
                "rubric_version_id": setup.version_id,
                "answers": answers[id(first)],
                "display_order": first.order,
                "swapped": swapped,
                "confidences": confidences,
                "confidence_method": method,
                "prompt_tokens": sum(a.prompt_tokens for a in mine),
                "completion_tokens": sum(a.completion_tokens for a in mine),
                "created_at": utcnow(),
            }
        )
    if out.verdicts:
        out.release = False
    return out


async def _judge_item(client, gate, setup: Setup, options: RunOptions, claim: Claim) -> Outcome:
    if setup.task_kind == "pairwise" and len(claim.responses) != 2:
        return Outcome(claim, skipped=True)
    sides = (False, True) if options.both_orders else (False,)
    asks = await asyncio.gather(
        *(_ask(client, gate, setup, claim, swapped) for swapped in sides for _ in range(options.samples))
    )
    return _outcome(setup, claim, list(asks))


class _Writer:
    """Buffers outcomes and writes them in one transaction per flush."""

    def __init__(self, engine: Engine, run: JudgeRun, summary: RunSummary, options: RunOptions):
        self.engine, self.run, self.summary, self.options = engine, run, summary, options
        self.pending: list[Outcome] = []
        self.last = time.monotonic()

    def add(self, outcome: Outcome) -> None:
        self.pending.append(outcome)

    def due(self) -> bool:
        return len(self.pending) >= FLUSH_EVERY or (self.pending and time.monotonic() - self.last >= FLUSH_SECONDS)

    def flush(self, release: list[int] = (), finished: bool = False) -> None:
        outcomes, self.pending, self.last = self.pending, [], time.monotonic()
        verdicts = [v for o in outcomes for v in o.verdicts]
        attempts = [a for o in outcomes for a in o.attempts]
        completed = [o.claim.lease_id for o in outcomes if not o.release]
        released = [o.claim.lease_id for o in outcomes if o.release] + list(release)
        now = utcnow()
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            written = write_results(session, self.run, verdicts, attempts, completed, released, now)
            s = self.summary
            for o in outcomes:
                s.prompt_tokens += o.prompt_tokens
                s.completion_tokens += o.completion_tokens
                if any((v["item_id"], v["swapped"]) in written for v in o.verdicts):
                    s.judged += 1
                elif o.verdicts or o.skipped:
                    s.skipped += 1
                else:
                    s.failed += 1
            run = session.merge(self.run)
            run.judged, run.failed, run.skipped = s.judged, s.failed, s.skipped
            run.prompt_tokens, run.completion_tokens = s.prompt_tokens, s.completion_tokens
            if self.options.price_in is not None or self.options.price_out is not None:
                s.cost = (
                    s.prompt_tokens * (self.options.price_in or 0) + s.completion_tokens * (self.options.price_out or 0)
                ) / 1e6
                run.cost = s.cost
            if finished:
                run.finished_at = now


async def _loop(
    engine, client, setup: Setup, claimer: Claimer, writer: _Writer, options: RunOptions, concurrency: int, progress
):
    gate = asyncio.Semaphore(concurrency)
    per_item = (2 if options.both_orders else 1) * options.samples
    in_flight_items = max(1, -(-concurrency // per_item)) + 1
    batch = options.batch or max(8, 2 * in_flight_items)
    queue: deque[Claim] = deque()
    running: dict[asyncio.Task, Claim] = {}
    claimed, exhausted = 0, False
    try:
        while True:
            while len(running) < in_flight_items and not (exhausted and not queue):
                if not queue:
                    want = batch if options.limit is None else min(batch, options.limit - claimed)
                    if want <= 0:
                        exhausted = True
                        break
                    with Session(engine, expire_on_commit=False) as session, session.begin():
                        got = claimer.claim(session, want, utcnow())
                    claimed += len(got)
                    queue.extend(got)
                    if not got:
                        exhausted = True
                        break
                claim = queue.popleft()
                running[asyncio.ensure_future(_judge_item(client, gate, setup, options, claim))] = claim
            if not running:
                break
            done, _ = await asyncio.wait(running, timeout=FLUSH_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                writer.add(task.result())  # before the pop: a failed item's lease is released below
                running.pop(task)
                if progress is not None:
                    progress(1)
            if writer.due():
                writer.flush()
    except BaseException:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        leftover = [c.lease_id for c in running.values()] + [c.lease_id for c in queue]
        writer.flush(release=leftover, finished=True)
        raise
    writer.flush(finished=True)


def start_run(session: Session, project_ref: str, judge_name: str, options: RunOptions, environ=None):
    """Check everything and record the run (the caller commits): (run, judge, project, key, setup)."""
    if options.samples < 1:
        raise InvalidInput("--samples is at least 1")
    if options.limit is not None and options.limit < 0:
        raise InvalidInput("--limit cannot be negative")
    judge = get_judge(session, judge_name)
    project = resolve_project(session, project_ref)
    key = api_key(judge.api_key_env, environ)
    version = current_version(session, project)
    document = version.document
    setup = Setup(
        document=document,
        sha256=version.content_sha256,
        version_id=version.id,
        project_id=project.id,
        judge_id=judge.id,
        template=compile_template(judge.prompt_template),
        schema=strict_schema(document),
        name=schema_name(document),
        model=judge.model,
        temperature=judge.temperature,
        max_tokens=judge.max_tokens,
        task_kind=project.task_kind.value,
    )
    run = JudgeRun(
        judge_id=judge.id, project_id=project.id, both_orders=options.both_orders,
        price_in=options.price_in, price_out=options.price_out, started_at=utcnow(),
    )  # fmt: skip
    session.add(run)
    session.flush()
    return run, judge, project, key, setup


def run_judge(
    engine: Engine,
    project_ref: str,
    judge_name: str,
    options: RunOptions = RunOptions(),
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> RunSummary:
    """Judge the project's items not yet judged by this judge; see the module docstring.

    ``on_start`` gets the number of items left before work begins (for a progress bar).
    Owns its transactions: one to start the run, one per claim and one per write.
    """
    began = time.monotonic()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        run, judge, project, key, setup = start_run(session, project_ref, judge_name, options, environ)
        left = remaining(session, project, judge.user_id)
    if on_start is not None:
        on_start(left if options.limit is None else min(left, options.limit))
    claimer = Claimer(project, judge.user_id, setup.version_id, run.started_at, options.lease_minutes)
    summary = RunSummary(run.id)
    writer = _Writer(engine, run, summary, options)

    async def main():
        async with ChatClient(judge.base_url, key, judge.concurrency) as client:
            await _loop(engine, client, setup, claimer, writer, options, judge.concurrency, progress)

    try:
        asyncio.run(main())
    except EndpointUnusable as exc:
        raise RunStopped(f"the endpoint refused judge {judge.name!r}: {exc}") from None
    finally:
        summary.seconds = time.monotonic() - began
    return summary
