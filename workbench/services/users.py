"""Users, password hashing and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import execute_core
from ..domain import Role
from ..errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from ..models import ApiToken, User, utcnow

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# A fixed hash to compare against when the e-mail is unknown, so both paths take as long.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0000")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def create_user(
    session: Session, email: str, role: Role | str, password: str | None, name: str = "", is_machine: bool = False
) -> User:
    email = email.strip().lower()
    errors = []
    if not _EMAIL.match(email):
        errors.append(FieldError("email", f"{email[:80]!r} is not an e-mail address"))
    elif len(email) > 320:
        errors.append(FieldError("email", "an e-mail address has at most 320 characters"))
    if len(name) > 200:
        errors.append(FieldError("name", "a name has at most 200 characters"))
    try:
        role = Role(role)
    except ValueError:
        errors.append(FieldError("role", f"role must be one of {', '.join(r.value for r in Role)}"))
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors.append(FieldError("password", f"password must have at least {MIN_PASSWORD_LENGTH} characters"))
    if errors:
        raise InvalidInput("cannot create user", errors)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user {email} already exists")
    user = User(
        email=email,
        name=name or email.split("@")[0],
        role=role,
        password_hash=hash_password(password) if password else None,
        active=True,
        is_machine=is_machine,
    )
    session.add(user)
    session.flush()
    return user


MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


class LoginThrottled(Forbidden):
    """Too many failed attempts on this account: logging in is refused for a while."""

    def __init__(self, until):
        minutes = max(1, int((until - utcnow()).total_seconds() // 60) + 1)
        super().__init__(f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}.")
        self.until = until


def authenticate(session: Session, email: str, password: str, now=None) -> User | None:
    """The active user with this e-mail and password, or None (same work either way).

    After ``MAX_FAILED_LOGINS`` wrong passwords in a row an account refuses every attempt,
    right or wrong, for ``LOCKOUT`` (``LoginThrottled``); a success resets the count. The
    caller commits, so failed attempts are counted even though the login fails.
    """
    now = now or utcnow()
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    ok = check_password_hash(stored, password)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise LoginThrottled(user.locked_until)
    if user is None or not user.active or not user.password_hash or not ok:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until, user.failed_logins = now + LOCKOUT, 0
        return None
    user.failed_logins, user.locked_until = 0, None
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {email}")
    return user


TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(session: Session, user: User, name: str = "") -> str:
    """Create a bearer token; only its sha256 is stored, the token itself is returned once."""
    token = "wb_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=_token_digest(token), name=name))
    session.flush()
    return token


@dataclass(frozen=True)
class TokenUser:
    """Who a bearer token belongs to: enough to authorize an API request."""

    id: int
    role: Role


_tokens, _users = ApiToken.__table__, User.__table__
_TOKEN_LOOKUP = (
    select(_tokens.c.id, _tokens.c.last_used_at, _users.c.id.label("user_id"), _users.c.role)
    .join(_users, _users.c.id == _tokens.c.user_id)
    .where(_tokens.c.token_sha256 == bindparam("digest", type_=_tokens.c.token_sha256.type), _users.c.active.is_(True))
)
_TOKEN_USED = (
    update(_tokens)
    .where(_tokens.c.id == bindparam("token_id", type_=_tokens.c.id.type))
    .values(last_used_at=bindparam("used_at", type_=_tokens.c.last_used_at.type))
)


def token_user(session: Session, token: str) -> TokenUser | None:
    """The active user behind a bearer token, or None. Notes the token's use (at most one
    write per token per minute)."""
    row = execute_core(session, _TOKEN_LOOKUP, {"digest": _token_digest(token)}).first()
    if row is None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_RESOLUTION:
        execute_core(session, _TOKEN_USED, {"token_id": row.id, "used_at": now})
    return TokenUser(row.user_id, Role(row.role))

