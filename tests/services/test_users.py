"""Users: password hashing, authentication, validation, API tokens."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, make_user
from workbench.domain import Role
from workbench.errors import Conflict, InvalidInput, NotFound
from workbench.models import ApiToken, User
from workbench.services.login import authenticate as _authenticate
from workbench.services.users import (
    MIN_PASSWORD_LENGTH,
    TokenUser,
    create_api_token,
    create_user,
    get_user,
    get_user_by_email,
    token_user,
)


def authenticate(session, email, password):
    return _authenticate(session, email, password, "192.0.2.1")


def _locations(exc: InvalidInput) -> set[str]:
    return {e.location for e in exc.errors}


def test_password_is_stored_hashed_not_in_clear(session):
    user = create_user(session, "Ada@Example.org ", Role.RATER, "s3cret-password-1")
    session.commit()
    stored = session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored and "s3cret-password-1" not in stored
    assert stored.startswith("scrypt:")
    assert user.email == "ada@example.org"  # normalised
    other = create_user(session, "bob@example.org", Role.RATER, "s3cret-password-1")
    assert other.password_hash != user.password_hash  # salted


def test_authenticate_right_wrong_inactive_unknown(session):
    user = make_user(session, email="carol@example.org")
    assert authenticate(session, "carol@example.org", PASSWORD) == user
    assert authenticate(session, "  CAROL@example.org", PASSWORD) == user
    assert authenticate(session, "carol@example.org", PASSWORD + "x") is None
    assert authenticate(session, "carol@example.org", "") is None
    assert authenticate(session, "nobody@example.org", PASSWORD) is None
    user.active = False
    session.flush()
    assert authenticate(session, "carol@example.org", PASSWORD) is None


def test_user_without_password_cannot_log_in(session):
    create_user(session, "sso@example.org", Role.RATER, None)
    assert authenticate(session, "sso@example.org", "") is None
    assert authenticate(session, "sso@example.org", "not-a-real-password-0000") is None


def test_duplicate_email_is_a_conflict(session):
    create_user(session, "dup@example.org", Role.RATER, PASSWORD)
    with pytest.raises(Conflict):
        create_user(session, "DUP@example.org", Role.ADMIN, PASSWORD)
    assert session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    ("email", "role", "password", "where"),
    [
        ("short@example.org", "rater", "x" * (MIN_PASSWORD_LENGTH - 1), {"password"}),
        ("role@example.org", "superuser", PASSWORD, {"role"}),
        ("not-an-email", "rater", PASSWORD, {"email"}),
        ("both", "king", "short", {"email", "role", "password"}),
    ],
)
def test_invalid_input_lists_each_field(session, email, role, password, where):
    with pytest.raises(InvalidInput) as info:
        create_user(session, email, role, password)
    assert _locations(info.value) == where
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_password_of_exactly_min_length_is_accepted(session):
    user = create_user(session, "min@example.org", "author", "x" * MIN_PASSWORD_LENGTH)
    assert user.role is Role.AUTHOR
    assert authenticate(session, "min@example.org", "x" * MIN_PASSWORD_LENGTH) == user


def test_api_token_stored_only_as_sha256_and_resolves(session):
    user = make_user(session)
    token = create_api_token(session, user, name="ci")
    session.commit()
    rows = session.scalars(select(ApiToken)).all()
    assert len(rows) == 1
    assert rows[0].token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in rows[0].token_sha256
    assert rows[0].last_used_at is None
    assert token_user(session, token) == TokenUser(user.id, user.role)
    session.refresh(rows[0])
    assert rows[0].last_used_at is not None
    assert token_user(session, token + "x") is None
    assert token_user(session, rows[0].token_sha256) is None  # the digest is not a token
    second = create_api_token(session, user)
    assert second != token


def test_token_of_inactive_user_does_not_resolve(session):
    user = make_user(session)
    token = create_api_token(session, user)
    user.active = False
    session.flush()
    assert token_user(session, token) is None


def test_get_user_and_by_email(session):
    user = make_user(session, email="dee@example.org")
    assert get_user(session, user.id) == user
    assert get_user_by_email(session, " DEE@example.org") == user
    with pytest.raises(NotFound):
        get_user(session, user.id + 1000)
    with pytest.raises(NotFound):
        get_user_by_email(session, "zed@example.org")


def test_overlong_email_is_invalid_input(session):
    with pytest.raises(InvalidInput) as info:
        create_user(session, "a" * 320 + "@example.org", Role.RATER, PASSWORD)
    assert _locations(info.value) == {"email"}
