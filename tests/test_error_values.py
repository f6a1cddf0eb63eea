"""Values in error messages are written as JSON (``true``, ``null``, ``"text"``), never as Python."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.factories import make_item, make_project
from workbench.errors import ImportInvalid, InvalidInput, json_text, schema_message
from workbench.export import ExportOptions
from workbench.services.import_formats import text_lines_as_rows
from workbench.services.judgment_import import import_judgments


def _message(schema, instance):
    (error,) = jsonschema.Draft202012Validator(schema).iter_errors(instance)
    return schema_message(error)


@pytest.mark.parametrize(
    ("schema", "instance", "expected"),
    [
        ({"enum": ["a", "b"]}, True, 'true is not one of ["a", "b"]'),
        ({"type": "integer"}, None, 'null is not of type "integer"'),
        ({"type": "integer"}, "x", '"x" is not of type "integer"'),
        ({"const": False}, True, "false was expected"),
        ({"type": "object", "required": ["x"]}, {}, '"x" is a required property'),
        (
            {"properties": {}, "additionalProperties": False},
            {"b": 1},
            'Additional properties are not allowed ("b" was unexpected)',
        ),
        ({"type": "string"}, {"k": [True, None]}, '{"k": [true, null]} is not of type "string"'),
        ({"maximum": 7}, 9, "9 is greater than the maximum of 7"),
        ({"type": "integer"}, "it's", '"it\'s" is not of type "integer"'),
    ],
)
def test_schema_messages_write_values_as_json(schema, instance, expected):
    assert _message(schema, instance) == expected


def test_json_text():
    assert [json_text(v) for v in (True, None, "a", 1.5, ["x", False])] == [
        "true",
        "null",
        '"a"',
        "1.5",
        '["x", false]',
    ]
    assert json_text({1, 2}) == "{1, 2}"  # not JSON: shown as Python shows it


def test_option_and_import_messages(session):
    with pytest.raises(InvalidInput) as caught:
        ExportOptions(shape=True)
    assert caught.value.errors[0].message.startswith("true is not one of")

    project = make_project(session)
    make_item(session, project, external_id="i1")
    row = {"item_id": "i1", "rater": "x", "answers": {"helpful": {"choice": True}, "harmless": {"choice": None}}}
    with pytest.raises(ImportInvalid) as caught:
        import_judgments(session, project, text_lines_as_rows([json.dumps(row)]))
    text = " ".join(e.message for e in caught.value.errors)
    assert "true" in text and "null" in text and "True" not in text and "None" not in text
