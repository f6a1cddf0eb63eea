"""Rater JSON API: scripts and LLM judges take items and submit judgments like raters do.

``GET /api/v1/projects/<id>/next`` leases the next item (200) or answers 204 when nothing
is left; ``POST /api/v1/leases/<id>/judgment`` records ``{answers, idempotency_key}`` (201,
or 200 when the key was already recorded). Answers use the slots as sent: ``A`` is the
first response of the ``responses`` list. Model names and gold status are never sent.
"""

from __future__ import annotations

from flask import current_app, g, jsonify, request

from ..domain import RATERS
from ..errors import FieldError, InvalidInput
from ..rubric.judgment import schema_for_version
from ..services.assignment import next_task
from ..services.gold import qualification
from ..services.judging import record_judgment
from .api import make_blueprint, problem, token_requires
from .blind import item_ref
from .db import get_session

bp = make_blueprint("rater_api", __name__)


@bp.get("/projects/<int:project_id>/next")
@token_requires(*RATERS)
def next_item(project_id: int):
    session = get_session()
    project, task = next_task(session, project_id, g.user, prompt_gap=current_app.config["GOLD_PROMPT_GAP"])
    session.commit()
    if task is None:
        standing = qualification(session, project, g.user)
        if not standing.allows_live_work and standing.answered >= standing.needed:
            return problem(
                403, f"not qualified: {standing.correct} of {standing.needed} qualification items as expected"
            )
        return "", 204
    return jsonify(
        {
            "lease_id": task.lease_id,
            "item_id": item_ref(project.id, task.item_id),
            "prompt": task.prompt,
            "responses": [{"position": r.slot, "text": r.text} for r in task.responses],
            "rubric": {
                "slug": task.rubric_document["slug"],
                "version": task.rubric_number,
                "sha256": task.rubric_sha256,
            },
            "judgment_schema": schema_for_version(task.rubric_document, task.rubric_sha256),
            "expires_at": task.expires_at.isoformat(),
        }
    )


@bp.post("/leases/<int:lease_id>/judgment")
@token_requires(*RATERS)
def submit(lease_id: int):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(
            "send a JSON object {answers, idempotency_key}", [FieldError("", "the body is not a JSON object")]
        )
    answers, key = body.get("answers"), body.get("idempotency_key")
    if not isinstance(key, str):
        raise InvalidInput("cannot record judgment", [FieldError("/idempotency_key", "give a string key")])
    session = get_session()
    recorded = record_judgment(session, g.user, lease_id, answers if answers is not None else {}, key)
    session.commit()
    out = {"judgment_id": recorded.judgment.id, "created": recorded.created}
    if recorded.gold_misses and recorded.gold_feedback:
        out["feedback"] = {
            "misses": [
                {"question_id": m.question_id, "expected": m.expected, "given": m.given} for m in recorded.gold_misses
            ],
            "rationale": recorded.gold_rationale,
        }
    response = jsonify(out)
    response.status_code = 201 if recorded.created else 200
    return response
