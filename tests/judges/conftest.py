"""Fixtures for the judge runner: the stub endpoint and projects whose better response is
marked in its text (``[quality N]``), so a consistent judge's verdicts are known."""

from __future__ import annotations

import pytest

from tests.factories import make_item, make_project
from tests.judges.stub_server import serve_stub
from workbench.judges import client


@pytest.fixture
def stub():
    with serve_stub() as server:
        yield server


@pytest.fixture
def fast_backoff(monkeypatch):
    """Retries without the production back-off (Retry-After is still honoured)."""
    monkeypatch.setattr(client, "BASE_DELAY", 0.01)


def quality_items(session, project, qualities, broken=()):
    """Items whose responses carry the given (A, B) qualities; ``broken`` indexes get a
    ``[broken]`` marker, which makes the stub reply with no JSON."""
    items = []
    for n, (qa, qb) in enumerate(qualities):
        item = make_item(session, project)
        item.responses[0].text += f" [quality {qa}]"
        item.responses[1].text += f" [quality {qb}]"
        if n in broken:
            item.responses[0].text += " [broken]"
        items.append(item)
    session.flush()
    return items


def expected_choice(qa: int, qb: int) -> str:
    return "A" if qa > qb else "B" if qb > qa else "tie"


@pytest.fixture
def project(session):
    return make_project(session, name="judged")
