"""Refuse input that cannot be stored or parsed safely, before any view runs.

Every request's query string, form fields, path segments and JSON body are checked with
``workbench.textsafety``: NUL characters and lone surrogates are a 400 naming the field,
and a JSON body nested deeper than ``MAX_JSON_DEPTH`` is a 400 before it reaches the parser.
Ids in ``<int:...>`` routes beyond the database's integer range are a 404, not an
overflow in the driver.
"""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

from ..textsafety import MAX_JSON_DEPTH, json_depth_exceeds, text_problem, unsafe_value

# Bodies Werkzeug parses into ``request.form`` (any other body leaves it empty).
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# The largest id any backend stores in an INTEGER primary key (PostgreSQL's int4).
MAX_ID = 2**31 - 1


class BoundedInt(IntegerConverter):
    """``<int:...>`` that only matches ids a table can hold (others are a plain 404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _refuse(field: str, problem: str) -> None:
    abort(400, description=f"{field}: {problem}.")


def _check_request() -> None:
    req = request._get_current_object()  # one proxy lookup: this runs on every request
    for name, value in req.view_args.items() if req.view_args else ():
        if isinstance(value, str) and (problem := text_problem(value)):
            _refuse(f"path segment {name}", problem)
    if problem := text_problem(req.path):
        _refuse("path", problem)
    for name, value in req.args.items(multi=True):
        if problem := text_problem(name) or text_problem(value):
            _refuse(name, problem)
    if req.method in ("GET", "HEAD", "OPTIONS"):
        return
    if req.mimetype in _FORM_TYPES:
        for name, value in req.form.items(multi=True):
            if problem := text_problem(name) or text_problem(value):
                _refuse(name, problem)
    elif req.is_json:
        body = req.get_data(cache=True)
        if json_depth_exceeds(body):
            abort(400, description=f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
        if b"\\u" not in body and b"\x00" not in body:
            return  # NUL and lone surrogates only reach a parsed value through an escape (or a raw NUL)
        data = req.get_json(silent=True)
        if data is not None and (found := unsafe_value(data)):
            _refuse(*found)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt
    app.before_request(_check_request)
