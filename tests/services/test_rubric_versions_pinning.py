"""A project pins only a published rubric version."""

from __future__ import annotations

import pytest

from tests.factories import PAIRWISE_RUBRIC, load_shipped_rubric
from workbench.errors import Conflict
from workbench.services.projects import create_project
from workbench.services.rubric_versions import open_draft


def test_pinning_a_draft_is_refused(session):
    published = load_shipped_rubric(session, PAIRWISE_RUBRIC)
    draft = open_draft(session, published.rubric)
    with pytest.raises(Conflict, match="is draft; pin a published version"):
        create_project(session, "pinned draft", PAIRWISE_RUBRIC, pin_version=draft.number)
    assert (
        create_project(session, "pinned", PAIRWISE_RUBRIC, pin_version=published.number).rubric_version_id
        == published.id
    )
