"""Model leaderboard from canonical pairwise outcomes, humans and machine raters apart.

Every live judgment of a pairwise question is one comparison between the models of the
item's first (canonical A) and second response: 1.0 when A was preferred, 0.0 for B and
0.5 for a tie. The outcomes go to ``stats.pairwise.leaderboard`` (Bradley–Terry with a
bootstrap). Humans and machine raters (LLM judges) get separate boards, and their
agreement is measured on the items both rated (majority outcome per item and population).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ..errors import InvalidInput
from ..models import Item, Judgment, Project, Response, User
from ..rubric.questions import Questions
from ..stats.agreement_pairs import agreement_between
from ..stats.pairwise import Leaderboard, leaderboard
from .rubrics import current_version

OUTCOME = {"A": 1.0, "B": 0.0, "tie": 0.5}


@dataclass(frozen=True)
class PopulationAgreement:
    n_items: int
    share: float | None
    kappa: float | None


@dataclass(frozen=True)
class ProjectLeaderboard:
    question_id: str
    humans: Leaderboard | None
    machines: Leaderboard | None
    human_vs_machine: PopulationAgreement | None


def _pairwise_question(document: dict, question_id: str | None) -> str:
    ids = [q.id for q in Questions.of(document).of_type("pairwise")]
    if not ids:
        raise InvalidInput("this project's rubric has no pairwise question, so there is no leaderboard")
    if question_id is None:
        return ids[0]
    if question_id not in ids:
        raise InvalidInput(f"{question_id!r} is not a pairwise question; choose from {', '.join(ids)}")
    return question_id


def _outcomes(session: Session, project: Project, question_id: str):
    first, second = aliased(Response), aliased(Response)
    query = (
        select(
            Judgment.item_id,
            first.model,
            second.model,
            Judgment.answers[question_id]["choice"].as_string(),
            User.is_machine,
        )
        .join(User, User.id == Judgment.rater_id)
        .join(first, (first.item_id == Judgment.item_id) & (first.position == 0))
        .join(second, (second.item_id == Judgment.item_id) & (second.position == 1))
        .join(Item, Item.id == Judgment.item_id)
        .where(Judgment.project_id == project.id, Judgment.superseded_by_id.is_(None), Item.is_gold.is_(False))
    )
    return [row for row in session.execute(query) if row[3] in OUTCOME]


def _lengths(session: Session, project: Project, models: list[str]):
    rows = session.execute(
        select(Response.model, func.length(Response.text))
        .join(Item, Item.id == Response.item_id)
        .where(Item.project_id == project.id, Response.model.in_(models))
    ).all()
    index = {m: i for i, m in enumerate(models)}
    return np.array([n for _, n in rows], dtype=float), np.array([index[m] for m, _ in rows], dtype=np.int64)


def _board(session, project, rows, n_resamples: int, seed: int) -> Leaderboard | None:
    if not rows:
        return None
    models = sorted({r[1] for r in rows} | {r[2] for r in rows})
    index = {m: i for i, m in enumerate(models)}
    a = np.array([index[r[1]] for r in rows], dtype=np.int64)
    b = np.array([index[r[2]] for r in rows], dtype=np.int64)
    outcome = np.array([OUTCOME[r[3]] for r in rows])
    lengths, length_model = _lengths(session, project, models)
    return leaderboard(
        models, a, b, outcome, n_resamples=n_resamples, seed=seed, lengths=lengths, length_model=length_model
    )


def _majority(rows) -> dict[int, float]:
    votes: dict[int, Counter] = defaultdict(Counter)
    for item_id, _, _, choice, _ in rows:
        votes[item_id][OUTCOME[choice]] += 1
    out = {}
    for item_id, counter in votes.items():
        (top, n), *rest = counter.most_common()
        if not rest or rest[0][1] < n:
            out[item_id] = top
    return out


def project_leaderboard(
    session: Session, project: Project, question_id: str | None = None, n_resamples: int = 1000, seed: int = 0
) -> ProjectLeaderboard:
    question_id = _pairwise_question(current_version(session, project).document, question_id)
    rows = _outcomes(session, project, question_id)
    human_rows = [r for r in rows if not r[4]]
    machine_rows = [r for r in rows if r[4]]
    comparison = None
    if human_rows and machine_rows:
        humans, machines = _majority(human_rows), _majority(machine_rows)
        shared = sorted(set(humans) & set(machines))
        if shared:
            result = agreement_between(np.array([humans[i] for i in shared]), np.array([machines[i] for i in shared]))
            comparison = PopulationAgreement(len(shared), result.percent_agreement, result.kappa)
        else:
            comparison = PopulationAgreement(0, None, None)
    return ProjectLeaderboard(
        question_id=question_id,
        humans=_board(session, project, human_rows, n_resamples, seed),
        machines=_board(session, project, machine_rows, n_resamples, seed),
        human_vs_machine=comparison,
    )
