"""What raters and adjudicators see instead of an item's external id.

External ids often name models (``vicuna80-q16-gpt35-vs-gpt4``) and their order tells when
items were imported (gold and honeypots after live ones). Rater-facing pages, the rater API
and the adjudication page show ``item_ref`` instead: an opaque keyed hash of project and item.
Staff pages other than adjudication keep the external ids.
"""

from __future__ import annotations

from flask import Flask, current_app

from ..services.pseudonyms import item_token


def item_ref(project_id: int, item_id: int) -> str:
    return item_token(current_app.secret_key, project_id, item_id)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["item_ref"] = item_ref
