"""Logging in without a lockout weapon.

Failed attempts are counted per (e-mail, client address) pair and per client address,
for known and unknown e-mails alike. Past a free allowance, each further attempt on a key
must wait a delay that doubles with every failure (capped at ``MAX_DELAY``); an attempt
made sooner is refused without looking at the password. Nobody can lock an owner out
from another address, unknown accounts answer exactly like known ones (same message,
same password-hash work, same writes), and counts are forgotten after ``FORGET_AFTER``
without failures. A success clears its pair's count, never the address's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from ..errors import WorkbenchError
from ..models import LoginThrottle, User, utcnow
from ..words import counted
from .users import DUMMY_HASH

FREE_FAILURES_PER_PAIR = 5
FREE_FAILURES_PER_ADDRESS = 30
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)


class LoginThrottled(WorkbenchError):
    """Too many failed attempts from here: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed attempts. Try again in {counted(retry_after, 'second')}.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Key:
    key: str
    free: int


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def _keys(email: str, address: str) -> tuple[_Key, _Key]:
    """The pair's and the address's keys, hashed: any e-mail fits, and none is kept in clear."""
    return (
        _Key(_digest(f"pair:{email}|{address}"), FREE_FAILURES_PER_PAIR),
        _Key(_digest(f"addr:{address}"), FREE_FAILURES_PER_ADDRESS),
    )


def delay_after(failures: int, free: int) -> timedelta:
    """How long a key with ``failures`` in a row must wait before its next attempt."""
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free, 20)), MAX_DELAY)


def _wait(session: Session, keys: tuple[_Key, ...], now: datetime) -> int:
    rows = {
        r.key: r for r in session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_([k.key for k in keys])))
    }
    wait = timedelta(0)
    for k in keys:
        row = rows.get(k.key)
        if row is None or now - row.last_failure_at > FORGET_AFTER:
            continue
        wait = max(wait, row.last_failure_at + delay_after(row.failures, k.free) - now)
    return int(wait.total_seconds() + 0.999) if wait > timedelta(0) else 0


def _count_failure(session: Session, keys: tuple[_Key, ...], now: datetime) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = LoginThrottle.__table__
    for k in keys:
        statement = insert(table).values(key=k.key, failures=1, last_failure_at=now)
        forgotten = table.c.last_failure_at < now - FORGET_AFTER
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"failures": case((forgotten, 1), else_=table.c.failures + 1), "last_failure_at": now},
        )
        session.execute(statement)


def authenticate(session: Session, email: str, password: str, address: str, now: datetime | None = None) -> User | None:
    """The active user with this e-mail and password, or None; ``LoginThrottled`` when too soon.

    The caller commits, so failures are counted even though the login fails.
    """
    now = now or utcnow()
    email = email.strip().lower()
    keys = _keys(email, address or "unknown")
    retry_after = _wait(session, keys, now)
    if retry_after:
        raise LoginThrottled(retry_after)
    user = session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user is not None and user.password_hash else DUMMY_HASH
    ok = check_password_hash(stored, password)
    if user is None or not user.active or not user.password_hash or not ok:
        _count_failure(session, keys, now)
        return None
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys[0].key))
    return user
