"""The OpenAPI 3.1 document of the researcher API (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..export import AGGREGATES, LABELS, PAIRINGS, SHAPES, TIE_POLICIES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PROJECT_ID = {"name": "project_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
BOOTSTRAP = {
    "name": "bootstrap",
    "in": "query",
    "description": "Bootstrap resamples for the 95% CI.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
}
QUESTION = {"name": "question", "in": "query", "schema": {"type": "string", "maxLength": 200}}
ERRORS = {
    "400": {"$ref": "#/components/responses/Problem"},  # e.g. text containing U+0000
    "401": {"$ref": "#/components/responses/Problem"},
    "403": {"$ref": "#/components/responses/Problem"},
    "404": {"$ref": "#/components/responses/Problem"},
    "422": {"$ref": "#/components/responses/Problem"},
}
NUMBER_OR_NULL = {"type": ["number", "null"]}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "workbench researcher API",
            "version": __version__,
            "description": "Bearer tokens from `workbench tokens create EMAIL` (researcher or admin).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {
                        "200": _json({"type": "object"}, "The OpenAPI document"),
                        "400": ERRORS["400"],
                        "401": ERRORS["401"],
                    },
                }
            },
            "/api/v1/projects/{project_id}/items": {
                "post": {
                    "summary": "Bulk item import (JSON Lines or CSV body, the item schema per row)",
                    "operationId": "importItems",
                    "parameters": [
                        PROJECT_ID,
                        {"name": "skip_invalid", "in": "query", "schema": {"type": "boolean", "default": False}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-ndjson": {"schema": {"type": "string"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": _json(_ref("ImportReport"), "What was imported"),
                        **ERRORS,
                    },
                }
            },
            "/api/v1/projects/{project_id}/judgments": {
                "get": {
                    "summary": "Live judgments, canonical orientation, pseudonymous raters, keyset paging",
                    "operationId": "listJudgments",
                    "parameters": [
                        PROJECT_ID,
                        {
                            "name": "after",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                        },
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                    ],
                    "responses": {"200": _json(_ref("JudgmentPage"), "One page"), **ERRORS},
                }
            },
            "/api/v1/projects/{project_id}/agreement": {
                "get": {
                    "summary": "Krippendorff's alpha with a bootstrap CI per question and rubric version",
                    "operationId": "agreement",
                    "parameters": [PROJECT_ID, BOOTSTRAP],
                    "responses": {"200": _json(_ref("Agreement"), "Alpha per question"), **ERRORS},
                }
            },
            "/api/v1/projects/{project_id}/raters": {
                "get": {
                    "summary": "Rater calibration with flags, worst first",
                    "operationId": "raters",
                    "parameters": [PROJECT_ID, QUESTION],
                    "responses": {"200": _json(_ref("Raters"), "Calibration per rater"), **ERRORS},
                }
            },
            "/api/v1/projects/{project_id}/leaderboard": {
                "get": {
                    "summary": "Bradley-Terry leaderboard, humans and machine raters apart",
                    "operationId": "leaderboard",
                    "parameters": [PROJECT_ID, QUESTION, BOOTSTRAP],
                    "responses": {
                        "200": _json({"type": "object", "required": ["question_id"]}, "Leaderboards"),
                        **ERRORS,
                    },
                }
            },
            "/api/v1/projects/{project_id}/export": {
                "get": {
                    "summary": "Preference (pairwise) or rating (single-response) export as a download stream "
                    "(sha256 of file and manifest in headers)",
                    "operationId": "exportPreferences",
                    "parameters": [
                        PROJECT_ID,
                        QUESTION,
                        {"name": "format", "in": "query", "schema": {"enum": ["jsonl", "parquet"]}},
                        {"name": "shape", "in": "query", "schema": {"enum": list(SHAPES)}},
                        {"name": "aggregate", "in": "query", "schema": {"enum": list(AGGREGATES)}},
                        {"name": "ties", "in": "query", "schema": {"enum": list(TIE_POLICIES)}},
                        {
                            "name": "min_raters",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 10000},
                        },
                        {
                            "name": "bootstrap",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0, "maximum": 10000},
                        },
                        {"name": "labels", "in": "query", "schema": {"enum": list(LABELS)}},
                        {"name": "judge", "in": "query", "schema": {"type": "string", "maxLength": 100}},
                        {"name": "pairs", "in": "query", "schema": {"enum": list(PAIRINGS)}},
                        {"name": "min_gap", "in": "query", "schema": {"type": "number", "exclusiveMinimum": 0}},
                        {"name": "seed", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                        {"name": "threshold", "in": "query", "schema": {"type": "number"}},
                        {"name": "normalize", "in": "query", "schema": {"type": "boolean"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "The data file",
                            "headers": {
                                "X-Content-SHA256": {"schema": {"type": "string"}},
                                "X-Manifest-SHA256": {"schema": {"type": "string"}},
                                "X-Exported-Rows": {"schema": {"type": "string"}},
                            },
                            "content": {
                                "application/x-ndjson": {"schema": {"type": "string"}},
                                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
                            },
                        },
                        **ERRORS,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Problem": _json(_ref("Problem"), "An error with the problems found"),
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["error", "errors"],
                    "properties": {
                        "error": {"type": "string"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["location", "message"],
                                "properties": {"location": {"type": "string"}, "message": {"type": "string"}},
                            },
                        },
                    },
                },
                "ImportReport": {
                    "type": "object",
                    "required": ["imported", "duplicates", "duplicate_ids", "rejected"],
                    "properties": {
                        "imported": {"type": "integer", "minimum": 0},
                        "duplicates": {"type": "integer", "minimum": 0},
                        "duplicate_ids": {"type": "array", "items": {"type": "string"}},
                        "rejected": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["field", "message"],
                                "properties": {
                                    "line": {"type": "integer"},
                                    "field": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "JudgmentPage": {
                    "type": "object",
                    "required": ["judgments", "next"],
                    "properties": {
                        "next": {"type": ["integer", "null"]},
                        "judgments": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "item_id", "rater", "answers", "rubric_version"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "item_id": {"type": "string"},
                                    "rater": {"type": "string"},
                                    "machine": {"type": "boolean"},
                                    "answers": {"type": "object"},
                                    "display_order": {"type": "array", "items": {"type": "integer"}},
                                    "issued_at": {"type": ["string", "null"]},
                                    "submitted_at": {"type": ["string", "null"]},
                                    "duration_ms": {"type": ["integer", "null"]},
                                    "rubric_version": {"type": "integer"},
                                    "rubric_version_sha256": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "Agreement": {
                    "type": "object",
                    "required": ["questions"],
                    "properties": {
                        "questions": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["question", "rubric_version", "alpha", "level", "n_units"],
                                "properties": {
                                    "question": {"type": "string"},
                                    "label": {"type": "string"},
                                    "rubric_version": {"type": "integer"},
                                    "alpha": NUMBER_OR_NULL,
                                    "ci_low": NUMBER_OR_NULL,
                                    "ci_high": NUMBER_OR_NULL,
                                    "level": {"enum": ["nominal", "ordinal", "interval", "ratio"]},
                                    "n_units": {"type": "integer"},
                                },
                            },
                        }
                    },
                },
                "Raters": {
                    "type": "object",
                    "required": ["question", "raters"],
                    "properties": {
                        "question": {"type": "string"},
                        "raters": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["user_id", "rater", "machine"],
                                "properties": {
                                    "user_id": {"type": "integer"},
                                    "rater": {"type": "string"},
                                    "machine": {"type": "boolean"},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
