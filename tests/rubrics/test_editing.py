"""The editor form (pure): document ↔ form fields, errors placed next to their field."""

from __future__ import annotations

from workbench.errors import FieldError
from workbench.paths import resource_dir
from workbench.rubric import content_sha256, load_rubric_file
from workbench.rubric.editing import document_from_form, field_key, form_from_document


def test_round_trip_keeps_the_content_hash():
    for path in sorted(resource_dir("rubrics").glob("*.yaml")):
        doc = load_rubric_file(path).data
        form = form_from_document(doc)
        # Browsers send textarea line ends as CRLF.
        fields = {k: v.replace("\n", "\r\n") for k, v in form.fields.items()}
        rebuilt, kept, errors = document_from_form(doc, fields, [*form.questions, "   "])
        assert errors == [] and len(kept) == len(doc["questions"])
        assert content_sha256(rebuilt) == content_sha256(doc), path.name


def test_field_keys():
    assert field_key("/guidelines") == "guidelines"
    assert field_key("/questions/3/strength/max") == "q3"
    assert field_key("/questions") == "form"
    assert field_key("/") == "form"
    assert field_key("changelog") == "changelog"


def test_errors_are_grouped_by_field():
    form = form_from_document(
        {"title": "t", "guidelines": "g", "task_kind": "single", "questions": []},
        [
            FieldError("/questions/0/max", "too small"),
            FieldError("/questions/0/min", "too big"),
            FieldError("/title", "empty"),
        ],
    )
    assert [e.message for e in form.errors_for("q0")] == ["too small", "too big"]
    assert form.error_count == 3 and form.errors_for("guidelines") == ()


def test_unparsable_question_box_is_reported_at_its_index():
    base = {"slug": "s"}
    _, kept, errors = document_from_form(
        base, {"title": "t", "task_kind": "single", "guidelines": "g"}, ["", "id: a\ntype: [x", "- just\n- a list"]
    )
    assert len(kept) == 2
    assert [e.location for e in errors] == ["/questions/0", "/questions/1"]
    assert "not valid YAML" in errors[0].message and "mapping" in errors[1].message
