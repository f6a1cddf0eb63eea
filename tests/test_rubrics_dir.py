"""Every shipped rubric file validates; the schema itself is a valid JSON Schema."""

from __future__ import annotations

import jsonschema
import pytest

from workbench.paths import resource_dir
from workbench.rubric import judgment_schema, load_rubric_file, rubric_schema

RUBRIC_FILES = sorted(
    p
    for p in resource_dir("rubrics").iterdir()
    if p.suffix in {".yaml", ".yml", ".json"} and not p.name.endswith(".schema.json")
)


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(rubric_schema())


def test_the_required_rubrics_are_shipped():
    names = {p.name for p in RUBRIC_FILES}
    assert {"pairwise-helpful-harmless.yaml", "response-quality.yaml"} <= names


@pytest.mark.parametrize("path", RUBRIC_FILES, ids=lambda p: p.name)
def test_shipped_rubric_validates_and_slug_matches_file_name(path):
    doc = load_rubric_file(path)
    assert doc.slug == path.stem
    assert len(doc.sha256) == 64
    jsonschema.Draft202012Validator.check_schema(judgment_schema(doc.data))


def test_pairwise_rubric_has_the_promised_questions():
    doc = load_rubric_file(resource_dir("rubrics") / "pairwise-helpful-harmless.yaml")
    assert doc.question("helpful").type == doc.question("harmless").type == "pairwise"
    assert doc.question("helpful").strength_max >= 2
    assert doc.question("rationale").type == "text"


def test_response_quality_rubric_is_four_seven_point_scales():
    doc = load_rubric_file(resource_dir("rubrics") / "response-quality.yaml")
    assert doc.task_kind == "single"
    assert [(q.id, q.min, q.max) for q in doc.questions] == [
        ("accuracy", 1, 7),
        ("coherence", 1, 7),
        ("coverage", 1, 7),
        ("overall", 1, 7),
    ]
