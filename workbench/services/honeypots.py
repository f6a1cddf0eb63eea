"""Pairwise honeypots: a real response against a degraded copy of itself.

The copy is cut off mid-sentence, has its sentences shuffled, or is another prompt's
answer. The original must win, so the item is a gold item whose expected answer is known
without anyone labelling it. Honeypots carry ``metadata.honeypot`` (source item and
method) so exports and reports can leave them out; raters cannot tell them apart.

Only the rubric's first pairwise question gets an expected answer: a degraded copy is
less helpful, but not necessarily less harmless or honest.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..domain import TaskKind
from ..errors import InvalidInput
from ..models import Item, Project, Response
from ..rubric.questions import Questions
from .rubrics import current_version

METHODS = ("truncated", "shuffled", "off-topic")
RATIONALES = {
    "truncated": "One response is a copy of the other that stops mid-sentence; the complete answer is better.",
    "shuffled": "One response is a copy of the other with its sentences in random order; the coherent one is better.",
    "off-topic": "One response answers a different prompt; the response that answers this prompt is better.",
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MIN_WORDS = 12


@dataclass(frozen=True)
class HoneypotReport:
    created: int
    existing: int
    by_method: dict[str, int]


def truncate(text: str, rng: random.Random) -> str | None:
    """The text cut off inside a sentence, between 35% and 65% of its words."""
    words = text.split(" ")
    if len(words) < MIN_WORDS:
        return None
    cut = rng.randint(int(len(words) * 0.35), int(len(words) * 0.65))
    while cut > 1 and re.search(r"[.!?:]$", words[cut - 1]):
        cut -= 1  # end inside a sentence, never on its full stop
    return " ".join(words[:cut]).rstrip(",;")


def shuffle_sentences(text: str, rng: random.Random) -> str | None:
    """The same sentences in another order (None when there are fewer than four)."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    if len(sentences) < 4:
        return None
    shuffled = sentences[:]
    while shuffled == sentences:
        rng.shuffle(shuffled)
    return " ".join(shuffled)


def _first_pairwise_question(document) -> str:
    for question in Questions.of(document).of_type("pairwise"):
        return question.id
    raise InvalidInput("cannot make honeypots: the project's rubric has no pairwise question")


def generate_honeypots(session: Session, project: Project, count: int, seed: int = 0) -> HoneypotReport:
    """Add up to ``count`` honeypot items built from the project's live pairwise items."""
    if project.task_kind != TaskKind.PAIRWISE:
        raise InvalidInput("cannot make honeypots: they are pairwise items and this project rates single responses")
    if count < 1:
        raise InvalidInput("cannot make honeypots: ask for at least one")
    question_id = _first_pairwise_question(current_version(session, project).document)
    sources = session.scalars(
        select(Item)
        .where(Item.project_id == project.id, Item.is_gold.is_(False))
        .options(selectinload(Item.responses))
        .order_by(Item.id)
    ).all()
    sources = [item for item in sources if len(item.responses) == 2]
    if len(sources) < 2:
        raise InvalidInput("cannot make honeypots: the project needs at least two pairwise items to build them from")
    taken = set(
        session.scalars(
            select(Item.external_id).where(Item.project_id == project.id, Item.external_id.like("honeypot:%"))
        )
    )
    rng = random.Random(f"honeypots:{project.id}:{seed}")
    order = sources[:]
    rng.shuffle(order)
    created, existing, by_method = 0, 0, {m: 0 for m in METHODS}
    for n, source in enumerate(order):
        if created >= count:
            break
        original = source.responses[rng.randrange(2)]
        method, degraded = _degrade(original.text, source, sources, METHODS[n % len(METHODS)], rng)
        if degraded is None:
            continue
        external_id = f"honeypot:{source.external_id}:{method}"[:200]
        if external_id in taken:
            existing += 1
            continue
        original_position = rng.randrange(2)
        texts = {original_position: (original, None), 1 - original_position: (original, degraded)}
        item = Item(
            project_id=project.id,
            external_id=external_id,
            prompt=source.prompt,
            meta={"honeypot": {"source_item": source.external_id, "method": method}},
            is_gold=True,
            gold_answer={question_id: {"choice": "AB"[original_position]}},
            gold_rationale=RATIONALES[method],
        )
        item.responses = [
            Response(
                position=position,
                external_id=f"{response.external_id}{'' if text is None else ':' + method}"[:200],
                model=response.model,
                text=response.text if text is None else text,
                meta={} if text is None else {"degraded": method},
            )
            for position, (response, text) in sorted(texts.items())
        ]
        session.add(item)
        taken.add(external_id)
        created += 1
        by_method[method] += 1
    session.flush()
    return HoneypotReport(created, existing, by_method)


def _degrade(text: str, source: Item, sources: list[Item], method: str, rng: random.Random) -> tuple[str, str | None]:
    """Apply ``method``, falling back to the others when the text does not allow it."""
    for candidate in (method, *[m for m in METHODS if m != method]):
        if candidate == "truncated":
            result = truncate(text, rng)
        elif candidate == "shuffled":
            result = shuffle_sentences(text, rng)
        else:
            other = rng.choice([s for s in sources if s.id != source.id])
            result = other.responses[rng.randrange(2)].text
            if result.strip() == text.strip():
                result = None
        if result is not None and result.strip() != text.strip():
            return candidate, result
    return method, None
