"""Users, password hashing and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ..db import execute_core
from ..domain import MAX_TOKEN_DAYS, Role
from ..errors import Conflict, FieldError, InvalidInput, NotFound
from ..models import AccountLink, ApiToken, User, utcnow

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# A fixed hash to compare against when the e-mail is unknown, so both paths take as long.
DUMMY_HASH = generate_password_hash("not-a-real-password-0000")


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


def set_password(session: Session, user: User, password: str) -> None:
    """Change a password: every browser session, API token and one-time link of the user ends with it."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "cannot change the password",
            [FieldError("password", f"password must have at least {MIN_PASSWORD_LENGTH} characters")],
        )
    user.password_hash = hash_password(password)
    end_sessions(session, user, revoke_tokens=True)
    spend_links(session, user)


def end_sessions(session: Session, user: User, *, revoke_tokens: bool = False) -> None:
    """End every browser session of ``user`` (and, if asked, revoke their API tokens)."""
    user.session_epoch += 1
    if revoke_tokens:
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def spend_links(session: Session, user: User) -> None:
    """Spend every unused one-time link of ``user`` (``services.account_links``)."""
    session.execute(
        update(AccountLink)
        .where(AccountLink.user_id == user.id, AccountLink.spent_at.is_(None))
        .values(spent_at=utcnow())
    )


def set_active(session: Session, user: User, active: bool, by: User | None = None) -> None:
    """Activate or deactivate a user. Deactivating ends every session of theirs, revokes their
    API tokens and spends their one-time links, all at once: reactivating brings none back.

    ``by`` is the admin doing it, if any: nobody deactivates themselves (the last admin
    could lock everyone out).
    """
    if not active and by is not None and by.id == user.id:
        raise Conflict("you cannot deactivate yourself; another admin can")
    user.active = active
    if not active:
        end_sessions(session, user, revoke_tokens=True)
        spend_links(session, user)


def change_role(session: Session, user: User, role: Role | str, by: User | None = None) -> None:
    """Give ``user`` another role; it applies from their next request. Nobody changes their own."""
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(
            "cannot change the role", [FieldError("role", f"role must be one of {', '.join(r.value for r in Role)}")]
        ) from None
    if by is not None and by.id == user.id and role != user.role:
        raise Conflict("you cannot change your own role; another admin can")
    user.role = role


def set_machine(session: Session, user: User, is_machine: bool) -> None:
    """Mark ``user`` as a machine rater (LLM judge or script) or as a human."""
    user.is_machine = is_machine


def list_users(session: Session) -> list[User]:
    """Every user, by e-mail."""
    return list(session.scalars(select(User).order_by(User.email)))


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


def token_lifetime(days: str) -> timedelta | None:
    """A token's lifetime from a form's "days" field: empty for none, else 1 to ``MAX_TOKEN_DAYS``."""
    days = days.strip()
    if not days:
        return None
    if not days.isdigit() or not 1 <= int(days) <= MAX_TOKEN_DAYS:
        raise InvalidInput(
            "cannot create the token",
            [FieldError("days", f"Expiry is a whole number of days from 1 to {MAX_TOKEN_DAYS}, or empty for none.")],
        )
    return timedelta(days=int(days))


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(session: Session, user: User, name: str = "", expires_in: timedelta | None = None) -> str:
    """Create a bearer token; only its sha256 is stored, the token itself is returned once."""
    token = "wb_" + secrets.token_urlsafe(32)
    expires_at = utcnow() + expires_in if expires_in is not None else None
    session.add(ApiToken(user_id=user.id, token_sha256=_token_digest(token), name=name[:200], expires_at=expires_at))
    session.flush()
    return token


def list_api_tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    """Tokens (never their secrets), newest first; all users' when ``user`` is None."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))


def revoke_api_token(session: Session, token_id: int, owner: User | None = None) -> ApiToken:
    """Revoke a token by id (only among ``owner``'s tokens when given). Revoking twice is harmless."""
    token = session.get(ApiToken, token_id)
    if token is None or (owner is not None and token.user_id != owner.id):
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
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
    .where(
        _tokens.c.token_sha256 == bindparam("digest", type_=_tokens.c.token_sha256.type),
        _tokens.c.revoked_at.is_(None),
        or_(_tokens.c.expires_at.is_(None), _tokens.c.expires_at > bindparam("now", type_=_tokens.c.expires_at.type)),
        _users.c.active.is_(True),
    )
)
_TOKEN_USED = (
    update(_tokens)
    .where(_tokens.c.id == bindparam("token_id", type_=_tokens.c.id.type))
    .values(last_used_at=bindparam("used_at", type_=_tokens.c.last_used_at.type))
)


def token_user(session: Session, token: str) -> TokenUser | None:
    """The active user behind a bearer token, or None. Notes the token's use (at most one
    write per token per minute)."""
    now = utcnow()
    row = execute_core(session, _TOKEN_LOOKUP, {"digest": _token_digest(token), "now": now}).first()
    if row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_RESOLUTION:
        execute_core(session, _TOKEN_USED, {"token_id": row.id, "used_at": now})
    return TokenUser(row.user_id, Role(row.role))
