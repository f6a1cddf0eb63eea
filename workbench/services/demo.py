"""Seed a database with demo users, the shipped rubrics, two projects and a few judgments.

The pairwise items and the seeded judgments come from published human ratings of
Vicuna80 answers (see ``workbench/demo/SOURCE.md``).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import Role
from ..models import Item, Lease, Project, User, utcnow
from ..rubric import load_rubric_file, to_screen
from .assignment import next_assignment
from .honeypots import generate_honeypots
from .imports import import_items
from .judging import record_judgment
from .projects import create_project
from .rubrics import load_rubric
from .users import create_user

DEMO_PASSWORD = "workbench-demo"
DEMO_USERS = (
    ("rater@example.org", Role.RATER, "Rater One"),
    ("rater2@example.org", Role.RATER, "Rater Two"),
    ("rater3@example.org", Role.RATER, "Rater Three"),
    ("author@example.org", Role.AUTHOR, "Rubric Author"),
    ("researcher@example.org", Role.RESEARCHER, "Researcher"),
    ("admin@example.org", Role.ADMIN, "Admin"),
)
MACHINE_JUDGE = ("gpt4-judge@example.org", "GPT-4 judge (PRD reviews)")
PAIRWISE_PROJECT = "Vicuna80 pairwise (demo)"
SINGLE_PROJECT = "Vicuna80 response quality (demo)"
SEEDED_ITEMS = 12
DEMO_HONEYPOTS = 10
DEMO_GOLD_RATE = 0.125
SCORE_TO_CHOICE = {1: "A", 2: "B", 3: "tie"}


class _Clock:
    """Plausible times for seeded judgments: a working session two days ago."""

    def __init__(self, seconds: tuple[int, int], seed: int):
        self.now = utcnow() - timedelta(days=2)
        self.seconds = seconds
        self.rng = random.Random(seed)

    def issue(self) -> datetime:
        self.now += timedelta(seconds=self.rng.randint(2, 8))
        return self.now

    def submit(self) -> datetime:
        self.now += timedelta(seconds=self.rng.randint(*self.seconds))
        return self.now


@dataclass(frozen=True)
class DemoSeed:
    created: bool
    logins: tuple[tuple[str, str, str], ...]  # (email, role, password)
    project_ids: tuple[int, ...]


def _logins() -> tuple[tuple[str, str, str], ...]:
    return tuple((email, role.value, DEMO_PASSWORD) for email, role, _ in DEMO_USERS)


def load_rubric_dir(session: Session, rubric_dir: Path) -> list[str]:
    loaded = []
    for path in sorted(rubric_dir.glob("*.yaml")) + sorted(rubric_dir.glob("*.json")):
        if path.name.endswith(".schema.json"):
            continue
        outcome = load_rubric(session, load_rubric_file(path))
        loaded.append(f"{outcome.version.rubric.slug} v{outcome.version.number}")
    return loaded


def seed_demo(session: Session, rubric_dir: Path, demo_dir: Path) -> DemoSeed:
    """Create the demo content once; a second call changes nothing."""
    existing = session.scalar(select(Project).where(Project.name == PAIRWISE_PROJECT))
    if existing is not None:
        ids = tuple(session.scalars(select(Project.id).where(Project.name.in_([PAIRWISE_PROJECT, SINGLE_PROJECT]))))
        return DemoSeed(created=False, logins=_logins(), project_ids=ids)
    load_rubric_dir(session, rubric_dir)
    users = {email: create_user(session, email, role, DEMO_PASSWORD, name=name) for email, role, name in DEMO_USERS}
    pairwise = create_project(session, PAIRWISE_PROJECT, "pairwise-helpful-harmless", overlap_k=3)
    with open(demo_dir / "vicuna80-pairs.jsonl", encoding="utf-8") as lines:
        import_items(session, pairwise, lines)
    single = create_project(session, SINGLE_PROJECT, "response-quality", overlap_k=2)
    with open(demo_dir / "vicuna80-single.jsonl", encoding="utf-8") as lines:
        import_items(session, single, lines)
    _seed_judgments(session, pairwise, [users["rater2@example.org"], users["rater3@example.org"]], demo_dir)
    judge = create_user(session, MACHINE_JUDGE[0], Role.RATER, None, name=MACHINE_JUDGE[1], is_machine=True)
    _seed_machine_judgments(session, pairwise, judge, demo_dir)
    # Checks from here on: honeypots (a response against a degraded copy of itself) shown
    # as gold items to about one item in eight, with feedback on a miss.
    generate_honeypots(session, pairwise, DEMO_HONEYPOTS, seed=1)
    pairwise.gold_rate = DEMO_GOLD_RATE
    return DemoSeed(created=True, logins=_logins(), project_ids=(pairwise.id, single.id))


def _read_jsonl(path: Path) -> dict[str, dict]:
    with open(path, encoding="utf-8") as lines:
        return {row["id"]: row for row in map(json.loads, lines)}


def _canonical_answer(score: int, rationale: str | None = None) -> dict:
    choice = SCORE_TO_CHOICE[score]
    answer = {
        "helpful": {"choice": choice} if choice == "tie" else {"choice": choice, "strength": 2},
        "harmless": {"choice": "tie"},
    }
    if rationale:
        answer["rationale"] = rationale
    return answer


def _seed_machine_judgments(session: Session, project: Project, judge: User, demo_dir: Path) -> None:
    """The published GPT-4 reviews of the same pairs, as judgments of a machine rater."""
    reviews = _read_jsonl(demo_dir / "vicuna80-gpt4-judge.jsonl")
    clock = _Clock((6, 20), seed=judge.id)
    while (task := next_assignment(session, project, judge, now=clock.issue())) is not None:
        item = session.get(Item, task.item_id)
        review = reviews.get(item.external_id)
        if review is None:
            break
        canonical = _canonical_answer(review["score"], review["rationale"])
        screen = to_screen(task.rubric_document, canonical, _display_order(session, task.lease_id))
        record_judgment(session, judge, task.lease_id, screen, f"demo-{judge.id}-{item.id}", now=clock.submit())


def _seed_judgments(session: Session, project: Project, raters: list[User], demo_dir: Path) -> None:
    scores = {key: row["scores"] for key, row in _read_jsonl(demo_dir / "vicuna80-human-ratings.jsonl").items()}
    for rater_index, rater in enumerate(raters):
        clock = _Clock((25, 140), seed=rater.id)
        for _ in range(SEEDED_ITEMS):
            task = next_assignment(session, project, rater, now=clock.issue())
            if task is None:
                break
            document = task.rubric_document
            item = session.get(Item, task.item_id)
            item_scores = scores.get(item.external_id, [])
            if rater_index >= len(item_scores):
                continue
            canonical = _canonical_answer(item_scores[rater_index])
            screen = to_screen(document, canonical, _display_order(session, task.lease_id))
            record_judgment(session, rater, task.lease_id, screen, f"demo-{rater.id}-{item.id}", now=clock.submit())


def _display_order(session: Session, lease_id: int) -> list[int]:
    return list(session.get(Lease, lease_id).display_order)
