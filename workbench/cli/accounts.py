"""Passwords, sessions and API tokens: ``users password|link|deactivate|activate``, ``tokens list|revoke``."""

from __future__ import annotations

import json

import click

from .. import jsonable
from ..config import load_settings
from . import open_session
from .admin import tokens, users


@users.command("password")
@click.argument("email")
@click.option(
    "--password", prompt="New password", hide_input=True, confirmation_prompt=True, help="At least 10 characters."
)
def users_password(email: str, password: str):
    """Set EMAIL's password; their browser sessions end and their API tokens are revoked."""
    from ..services.users import get_user_by_email, set_password

    with open_session() as session:
        user = get_user_by_email(session, email)
        set_password(session, user, password)
    click.echo(f"password changed for {user.email}; their sessions ended and their tokens were revoked")


@users.command("link")
@click.argument("email")
@click.option(
    "--purpose",
    type=click.Choice(["invite", "reset"]),
    default=None,
    help="Default: invite for a user without a password, reset otherwise.",
)
def users_link(email: str, purpose: str | None):
    """Make a one-time link for EMAIL to choose a password and print its path (/links/...).

    Prefix the path with the server's address and send it; it works once, for
    ACCOUNT_LINK_HOURS hours, and a newer link replaces it.
    """
    from datetime import timedelta

    from ..services.account_links import make_link
    from ..services.users import get_user_by_email

    hours = load_settings()["ACCOUNT_LINK_HOURS"]
    with open_session() as session:
        user = get_user_by_email(session, email)
        chosen = purpose or ("reset" if user.password_hash else "invite")
        path = make_link(session, user, chosen, timedelta(hours=hours))
    click.echo(path)


@users.command("deactivate")
@click.argument("email")
def users_deactivate(email: str):
    """Stop EMAIL from logging in; their sessions end and their API tokens are revoked at once."""
    from ..services.users import get_user_by_email, set_active

    with open_session() as session:
        set_active(session, get_user_by_email(session, email), False)
    click.echo(f"deactivated {email}")


@users.command("activate")
@click.argument("email")
def users_activate(email: str):
    """Let a deactivated EMAIL log in again."""
    from ..services.users import get_user_by_email, set_active

    with open_session() as session:
        set_active(session, get_user_by_email(session, email), True)
    click.echo(f"activated {email}")


@tokens.command("list")
@click.argument("email", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
def tokens_list(email: str | None, as_json: bool):
    """List API tokens (all users', or EMAIL's): id, owner, name, created, last used, expiry, revoked."""
    from ..services.users import get_user_by_email, list_api_tokens

    with open_session() as session:
        owner = get_user_by_email(session, email) if email else None
        rows = [
            {
                "id": t.id,
                "user": t.user.email,
                "name": t.name,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in list_api_tokens(session, owner)
        ]
    if as_json:
        click.echo(json.dumps(jsonable.jsonable(rows)))
        return
    for r in rows:
        state = (
            f"revoked {r['revoked_at'][:16]}"
            if r["revoked_at"]
            else f"expires {r['expires_at'][:10]}"
            if r["expires_at"]
            else "active"
        )
        click.echo(
            f"{r['id']:>5}  {r['user']}  {r['name'] or '-'}  created {r['created_at'][:10]}  used {(r['last_used_at'] or 'never')[:16]}  {state}"
        )


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int):
    """Revoke the API token TOKEN_ID (see ``tokens list``); it stops working at once."""
    from ..services.users import revoke_api_token

    with open_session() as session:
        revoke_api_token(session, token_id)
    click.echo(f"revoked token {token_id}")
