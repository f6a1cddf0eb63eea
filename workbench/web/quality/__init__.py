"""The quality loop, one module per page: disagreement queue and adjudication
(``disagreements``), spot checks, two-rater comparison (``compare``), model error analysis
(``failures``), the printable project report (``report``) and a rater's feedback page
(``feedback``). They share the one ``quality`` blueprint, so endpoint names stay
``quality.<view>``."""

from __future__ import annotations

from flask import Blueprint, request

from ...errors import InvalidInput

bp = Blueprint("quality", __name__)


def int_value(name: str, default: int) -> int:
    """A whole number from the query string or form; ``default`` when the field is blank."""
    raw = request.values.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number") from None


from . import compare, disagreements, failures, feedback, report, spot_checks  # noqa: E402, F401 - registers the views
