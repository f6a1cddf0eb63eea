"""Which questions of a rubric can be measured, and how their answers map to numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain import Level

CHOICES = ("A", "B", "tie")


@dataclass(frozen=True)
class MeasuredQuestion:
    """A question (or the signed-strength reading of a pairwise one) as numbers."""

    key: str  # question id, or "<id>.strength"
    question_id: str
    label: str
    kind: str
    level: Level
    domain: tuple[Any, ...]  # stored answer values in order; their index is the code

    def code(self, answer: Any) -> float | None:
        """The numeric value of one stored (canonical) answer, or None when not answered."""
        if answer is None:
            return None
        if self.kind == "pairwise":
            if not isinstance(answer, dict) or answer.get("choice") not in CHOICES:
                return None
            if self.key.endswith(".strength"):
                choice = answer["choice"]
                return 0.0 if choice == "tie" else float(answer.get("strength", 1)) * (1 if choice == "A" else -1)
            return float(CHOICES.index(answer["choice"]))
        if self.kind == "likert":
            return float(answer) if isinstance(answer, int | float) and not isinstance(answer, bool) else None
        if self.kind == "binary":
            return float(answer) if isinstance(answer, bool) else None
        if self.kind == "categorical":
            return float(self.domain.index(answer)) if answer in self.domain else None
        return None

    @property
    def value_domain(self) -> list[float]:
        """Numeric domain handed to the statistics (codes, or the scale values themselves)."""
        if self.kind == "likert" or self.key.endswith(".strength"):
            return [float(v) for v in self.domain]
        return [float(i) for i in range(len(self.domain))]


def measured_questions(document: dict[str, Any]) -> list[MeasuredQuestion]:
    """Every question agreement and calibration apply to, in rubric order."""
    out = []
    for q in document["questions"]:
        qid, kind, label = q["id"], q["type"], q.get("label", q["id"])
        if kind == "pairwise":
            out.append(MeasuredQuestion(qid, qid, f"{label} (choice)", kind, Level.NOMINAL, CHOICES))
            top = q.get("strength", {}).get("max", 1)
            domain = tuple(range(-top, top + 1))
            out.append(MeasuredQuestion(f"{qid}.strength", qid, f"{label} (signed strength)", kind, Level.ORDINAL, domain))
        elif kind == "likert" and not q.get("per_response"):
            domain = tuple(range(q["min"], q["max"] + 1))
            out.append(MeasuredQuestion(qid, qid, label, kind, Level(q.get("level", "ordinal")), domain))
        elif kind == "categorical" and not q.get("multiple"):
            out.append(MeasuredQuestion(qid, qid, label, kind, Level.NOMINAL, tuple(o["value"] for o in q["options"])))
        elif kind == "binary":
            out.append(MeasuredQuestion(qid, qid, label, kind, Level.NOMINAL, (False, True)))
    return out


def find_question(document: dict[str, Any], key: str | None) -> MeasuredQuestion:
    from ..errors import NotFound

    questions = measured_questions(document)
    if not questions:
        raise NotFound("the rubric has no question that can be measured")
    if key is None:
        return questions[0]
    for q in questions:
        if q.key == key:
            return q
    raise NotFound(f"no measurable question {key!r}; choose from {', '.join(q.key for q in questions)}")
