"""User administration: accounts, roles, one-time links and API tokens, for admins.

``users`` holds the admin pages under ``/admin/users``; ``links`` the public page behind a
one-time invitation or password-reset link. Views parse the form, call the service the
``workbench users``/``tokens`` commands call, and redirect.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("users_admin", __name__)

from . import links, users  # noqa: E402, F401 - registers the routes on bp
