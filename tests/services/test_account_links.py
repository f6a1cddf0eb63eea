"""One-time account links: stored hashed, used once, expiring, replaced, dead with the account."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from tests.factories import make_user
from workbench.db import Base, make_engine
from workbench.domain import LinkPurpose
from workbench.errors import InvalidInput, NotFound
from workbench.models import AccountLink, User, utcnow
from workbench.services.account_links import DEAD_LINK, LINK_PATH, live_link, make_link, use_link
from workbench.services.users import create_api_token, create_user, set_active, set_password, token_user

DAY = timedelta(days=1)
NEW = "a brand new password"


def _secret(path: str) -> str:
    assert path.startswith(LINK_PATH)
    return path.removeprefix(LINK_PATH)


def test_only_the_sha256_of_the_secret_is_stored(session):
    user = create_user(session, "invited@example.org", "rater", None)
    secret = _secret(make_link(session, user, "invite", DAY))
    row = session.scalar(select(AccountLink))
    assert len(secret) >= 40
    assert row.token_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(v) for v in session.execute(select(AccountLink.__table__)).one()]
    assert not any(secret in value for value in stored)
    assert row.purpose is LinkPurpose.INVITE and row.user_id == user.id


def test_a_link_sets_the_password_once(session):
    user = create_user(session, "invited@example.org", "rater", None)
    secret = _secret(make_link(session, user, "invite", DAY))
    assert use_link(session, secret, NEW, NEW) is user
    session.commit()
    assert check_password_hash(user.password_hash, NEW)
    with pytest.raises(NotFound, match="not valid any more"):
        live_link(session, secret)
    with pytest.raises(NotFound):
        use_link(session, secret, "another password 2", "another password 2")
    assert check_password_hash(user.password_hash, NEW)


def test_a_link_expires(session):
    user = make_user(session)
    secret = _secret(make_link(session, user, "reset", timedelta(hours=2)))
    assert live_link(session, secret, now=utcnow() + timedelta(hours=1, minutes=59)).user is user
    with pytest.raises(NotFound):
        use_link(session, secret, NEW, NEW, now=utcnow() + timedelta(hours=2, seconds=1))


def test_an_unknown_secret_answers_like_a_spent_one(session):
    with pytest.raises(NotFound) as caught:
        live_link(session, "no-such-secret")
    assert str(caught.value) == DEAD_LINK


def test_a_newer_link_replaces_the_older(session):
    user = make_user(session)
    old = _secret(make_link(session, user, "reset", DAY))
    new = _secret(make_link(session, user, "reset", DAY))
    with pytest.raises(NotFound):
        live_link(session, old)
    assert live_link(session, new).user is user


def test_a_refused_password_leaves_the_link_live(session):
    user = create_user(session, "invited@example.org", "rater", None)
    secret = _secret(make_link(session, user, "invite", DAY))
    session.commit()
    with pytest.raises(InvalidInput, match="differ"):
        use_link(session, secret, NEW, NEW + "!")
    session.rollback()
    with pytest.raises(InvalidInput) as caught:
        use_link(session, secret, "short", "short")
    assert "at least 10 characters" in str(caught.value)
    session.rollback()
    assert live_link(session, secret).spent_at is None
    assert user.password_hash is None


def test_using_a_reset_link_ends_sessions_and_tokens(session):
    user = make_user(session)
    token = create_api_token(session, user, "t")
    epoch = user.session_epoch
    use_link(session, _secret(make_link(session, user, "reset", DAY)), NEW, NEW)
    assert user.session_epoch == epoch + 1
    assert token_user(session, token) is None


def test_deactivation_and_a_password_change_spend_open_links(session):
    user = make_user(session)
    first = _secret(make_link(session, user, "reset", DAY))
    set_password(session, user, "changed elsewhere 1")
    with pytest.raises(NotFound):
        live_link(session, first)
    second = _secret(make_link(session, user, "reset", DAY))
    set_active(session, user, False)
    with pytest.raises(NotFound):
        live_link(session, second)
    with pytest.raises(InvalidInput, match="deactivated"):
        make_link(session, user, "reset", DAY)


def test_a_link_of_a_deactivated_user_is_dead_even_if_unspent(session):
    user = make_user(session)
    secret = _secret(make_link(session, user, "reset", DAY))
    user.active = False  # as a direct edit of the row would leave it
    with pytest.raises(NotFound):
        live_link(session, secret)


def test_two_uses_at_once_let_exactly_one_through(postgres_url):
    """The second transaction's claim waits for the first, then finds the link spent."""
    engine = make_engine(postgres_url)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as setup:
            user = create_user(setup, "race@example.org", "rater", None)
            secret = _secret(make_link(setup, user, "invite", DAY))
            setup.commit()
        outcome: dict[str, object] = {}
        with Session(engine) as first:
            use_link(first, secret, "first password", "first password")  # claimed, not committed

            def second_use():
                with Session(engine) as second:
                    try:
                        use_link(second, secret, "second password", "second password")
                        second.commit()
                        outcome["second"] = "used"
                    except NotFound:
                        outcome["second"] = "refused"

            thread = threading.Thread(target=second_use)
            thread.start()
            time.sleep(0.5)
            assert thread.is_alive(), "the second claim should wait for the first transaction"
            first.commit()
            thread.join(timeout=10)
        assert outcome == {"second": "refused"}
        with Session(engine) as check:
            stored = check.scalar(select(AccountLink.__table__.c.spent_at))
            hashed = check.scalar(select(User.password_hash).where(User.email == "race@example.org"))
        assert stored is not None and check_password_hash(hashed, "first password")
    finally:
        engine.dispose()
