"""Project administration in the browser: create projects, change their settings, archive
them, generate honeypots, choose who rates them, and start new rubrics.

Each view calls the service the CLI uses (``services.projects``, ``services.membership``,
``services.honeypots``, ``services.new_rubric``).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("projects_admin", __name__, url_prefix="/admin")

from . import projects, rubrics  # noqa: E402, F401 - registers the routes
