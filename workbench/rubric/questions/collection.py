"""A rubric version's questions, typed, in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ...errors import NotFound
from .base import Condition, Example, Measure, Question
from .kinds import TYPES


def question_from_dict(q: Mapping[str, Any], condition: Condition | None = None) -> Question:
    """One question of a valid rubric document as its typed class."""
    kind = TYPES.get(q["type"])
    if kind is None:
        raise ValueError(f"unknown question type {q['type']!r}")
    common = {
        "id": q["id"],
        "prompt": q["prompt"],
        "label": q.get("label", q["id"]),
        "help": q.get("help"),
        "required": q.get("required", True),
        "examples": tuple(Example(e["input"], e["answer"], e["why"]) for e in q.get("examples", ())),
        "condition": condition,
        "raw": q,
    }
    return kind(**common, **kind.fields(q))


class Questions(Sequence[Question]):
    """A rubric version's questions in order, with lookups by id and measure key."""

    def __init__(self, questions: Iterable[Question]):
        self._questions = tuple(questions)
        self._by_id = {q.id: q for q in self._questions}

    @classmethod
    def of(cls, document: Any) -> Questions:
        """The typed questions of a rubric document (a dict as stored, or a ``RubricDocument``).

        The document must be valid: stored versions were validated when they were saved.
        """
        if isinstance(document, Questions):
            return document
        raw = document["questions"] if isinstance(document, Mapping) else document.questions
        if isinstance(raw, Questions):
            return raw
        built: dict[str, Question] = {}
        for q in raw:
            cond = q.get("required_when") or {}
            test = next((k for k in ("equals", "one_of", "at_least", "at_most") if k in cond), None)
            condition = (
                Condition(built[cond["question"]], test, cond[test]) if test and cond.get("question") in built else None
            )
            built[q["id"]] = question_from_dict(q, condition)
        return cls(built.values())

    def __getitem__(self, index):  # type: ignore[override]
        return self._questions[index]

    def __len__(self) -> int:
        return len(self._questions)

    def __iter__(self) -> Iterator[Question]:
        return iter(self._questions)

    def __repr__(self) -> str:
        return f"Questions({', '.join(q.id for q in self._questions)})"

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def get(self, question_id: str | None) -> Question | None:
        return self._by_id.get(question_id) if question_id is not None else None

    def question(self, question_id: str) -> Question:
        """The question with this id; ``NotFound`` when the rubric has none."""
        found = self.get(question_id)
        if found is None:
            raise NotFound(f"the rubric has no question {question_id!r}")
        return found

    def of_type(self, kind: str) -> tuple[Question, ...]:
        return tuple(q for q in self._questions if q.type == kind)

    @property
    def answerable(self) -> tuple[Question, ...]:
        """Every question but free text: the ones whose answers can be compared and counted."""
        return tuple(q for q in self._questions if q.type != "text")

    @property
    def measures(self) -> tuple[Measure, ...]:
        """Every reading agreement and calibration apply to, in rubric order."""
        return tuple(m for q in self._questions for m in q.measures)

    def measure(self, key: str | None) -> Measure:
        """The measure with this key (the first one when None); ``NotFound`` otherwise."""
        measures = self.measures
        if not measures:
            raise NotFound("the rubric has no question that can be measured")
        if key is None:
            return measures[0]
        found = next((m for m in measures if m.key == key), None)
        if found is None:
            raise NotFound(f"no measurable question {key!r}; choose from {', '.join(m.key for m in measures)}")
        return found
