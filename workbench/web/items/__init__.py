"""Items of a project for staff, one module per page: uploads of item and judgment files
(``uploads``), the item browser and one item in full (``browse``), and the queue of skipped
or reported items (``flags``). They share the ``items`` blueprint, so endpoint names stay
``items.<view>``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("items", __name__)

from . import browse, flags, uploads  # noqa: E402, F401 - registers the views
