"""Judges: register an LLM judge (an endpoint, a model and a machine user) and list them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import Role
from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..models import Judge, JudgeAttempt, JudgeRun, JudgeVerdict, User
from .users import create_user

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MACHINE_DOMAIN = "judges.invalid"  # reserved (RFC 2606): these users never receive mail


def judge_email(name: str) -> str:
    return f"judge-{name.lower()}@{MACHINE_DOMAIN}"


def add_judge(
    session: Session,
    name: str,
    base_url: str,
    model: str,
    api_key_env: str | None = None,
    temperature: float = 0.0,
    max_tokens: int = 1024,
    concurrency: int = 4,
    prompt_template: str | None = None,
) -> Judge:
    """A judge and its machine rater. The API key itself is never given here: only the name
    of the environment variable the runner reads it from."""
    from ..judges.prompt import compile_template

    errors = []
    if not _NAME.match(name or ""):
        errors.append(FieldError("name", "a judge name has 1 to 100 letters, digits, '.', '_' or '-'"))
    parts = urlsplit(base_url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(FieldError("base_url", f"{base_url!r} is not an http(s) URL (e.g. http://127.0.0.1:8000/v1)"))
    if not model or len(model) > 200:
        errors.append(FieldError("model", "give the model name (at most 200 characters)"))
    if api_key_env is not None and not _ENV_NAME.match(api_key_env):
        errors.append(FieldError("api_key_env", f"{api_key_env!r} is not an environment variable name"))
    if not 0.0 <= temperature <= 2.0:
        errors.append(FieldError("temperature", "temperature is between 0 and 2"))
    if max_tokens < 1:
        errors.append(FieldError("max_tokens", "max tokens is at least 1"))
    if not 1 <= concurrency <= 1024:
        errors.append(FieldError("concurrency", "concurrency is between 1 and 1024"))
    if prompt_template is not None:
        try:
            compile_template(prompt_template)
        except InvalidInput as exc:
            errors += [FieldError("prompt", str(e)) for e in exc.errors]
    if errors:
        raise InvalidInput("cannot add judge", errors)
    if session.scalar(select(Judge.id).where(Judge.name == name)) is not None:
        raise Conflict(f"a judge named {name!r} already exists")
    user = create_user(session, judge_email(name), Role.RATER, None, name=f"judge {name}", is_machine=True)
    judge = Judge(
        name=name,
        user_id=user.id,
        base_url=base_url.rstrip("/"),
        model=model,
        api_key_env=api_key_env,
        temperature=temperature,
        max_tokens=max_tokens,
        concurrency=concurrency,
        prompt_template=prompt_template,
    )
    session.add(judge)
    session.flush()
    return judge


def get_judge(session: Session, name: str) -> Judge:
    judge = session.scalar(select(Judge).where(Judge.name == name))
    if judge is None:
        raise NotFound(f"no judge {name!r}; add it with `workbench judges add`")
    return judge


@dataclass(frozen=True)
class JudgeListing:
    judge: Judge
    user: User
    verdicts: int
    failed_attempts: int
    runs: int
    last_run_at: datetime | None
    cost: float | None  # summed over runs that were given prices

    def as_json(self) -> dict:
        j = self.judge
        return {
            "name": j.name,
            "model": j.model,
            "base_url": j.base_url,
            "api_key_env": j.api_key_env,
            "temperature": j.temperature,
            "max_tokens": j.max_tokens,
            "concurrency": j.concurrency,
            "custom_prompt": j.prompt_template is not None,
            "user": self.user.email,
            "verdicts": self.verdicts,
            "failed_attempts": self.failed_attempts,
            "runs": self.runs,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "cost": self.cost,
        }


def list_judges(session: Session) -> list[JudgeListing]:
    """Every judge by name, with its verdicts, failed attempts and runs so far."""
    verdicts = dict(session.execute(select(JudgeVerdict.judge_id, func.count()).group_by(JudgeVerdict.judge_id)).all())
    attempts = dict(session.execute(select(JudgeAttempt.judge_id, func.count()).group_by(JudgeAttempt.judge_id)).all())
    runs = {
        row.judge_id: row
        for row in session.execute(
            select(
                JudgeRun.judge_id,
                func.count().label("n"),
                func.max(JudgeRun.started_at).label("last"),
                func.sum(JudgeRun.cost).label("cost"),
            ).group_by(JudgeRun.judge_id)
        )
    }
    out = []
    for judge, user in session.execute(
        select(Judge, User).join(User, User.id == Judge.user_id).order_by(Judge.name)
    ).all():
        run = runs.get(judge.id)
        last = run.last if run else None
        if last is not None and last.tzinfo is None:  # max() on SQLite loses the type's conversion
            last = datetime.fromisoformat(str(last)).replace(tzinfo=UTC)
        out.append(
            JudgeListing(
                judge,
                user,
                verdicts.get(judge.id, 0),
                attempts.get(judge.id, 0),
                run.n if run else 0,
                last,
                run.cost if run else None,
            )
        )
    return out
