"""Builders for test rows: each test makes what it needs (after CTFd's ``gen_*`` helpers)."""

from __future__ import annotations

import itertools
from pathlib import Path

from sqlalchemy.orm import Session

from workbench.domain import Role
from workbench.models import Item, Project, Response, User
from workbench.paths import resource_dir
from workbench.rubric import load_rubric_file
from workbench.services.projects import create_project
from workbench.services.rubrics import load_rubric
from workbench.services.users import create_user

_counter = itertools.count(1)
PASSWORD = "correct horse battery"
PAIRWISE_RUBRIC = "pairwise-helpful-harmless"
SINGLE_RUBRIC = "response-quality"


def make_user(
    session: Session, role: Role | str = Role.RATER, email: str | None = None, password: str = PASSWORD
) -> User:
    n = next(_counter)
    return create_user(session, email or f"user{n}@example.org", role, password, name=f"user{n}")


def make_rater(session: Session, **over) -> User:
    return make_user(session, Role.RATER, **over)


def load_shipped_rubric(session: Session, slug: str = PAIRWISE_RUBRIC):
    return load_rubric(session, load_rubric_file(Path(resource_dir("rubrics")) / f"{slug}.yaml")).version


def make_project(session: Session, rubric: str = PAIRWISE_RUBRIC, overlap_k: int = 3, **over) -> Project:
    load_shipped_rubric(session, rubric)
    return create_project(session, over.pop("name", f"project {next(_counter)}"), rubric, overlap_k=overlap_k, **over)


def make_item(session: Session, project: Project, n_responses: int | None = None, **over) -> Item:
    n = next(_counter)
    if n_responses is None:
        n_responses = 2 if project.task_kind.value == "pairwise" else 1
    item = Item(
        project_id=project.id,
        external_id=over.pop("external_id", f"item-{n}"),
        prompt=over.pop("prompt", f"Prompt number {n}?"),
        meta=over.pop("meta", {}),
        **over,
    )
    item.responses = [
        Response(position=p, external_id=f"r{p}", model=f"model-{'ab'[p]}", text=f"Response {'AB'[p]} to prompt {n}.")
        for p in range(n_responses)
    ]
    session.add(item)
    session.flush()
    return item


def make_items(session: Session, project: Project, count: int) -> list[Item]:
    return [make_item(session, project) for _ in range(count)]


PAIR_ANSWER = {"helpful": {"choice": "A", "strength": 2}, "harmless": {"choice": "tie"}}
