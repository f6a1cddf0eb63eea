"""The five question types: pairwise, Likert, categorical, binary and text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...domain import Level
from .base import CHOICES, SIDES, Form, Measure, Option, Question, _first, _int_or_raw, _is_number, _labels


@dataclass(eq=False)
class PairwiseQuestion(Question):
    """Which of two responses is better: ``{"choice": "A"|"B"|"tie", "strength", "both_bad"}``."""

    type: ClassVar[str] = "pairwise"
    allow_tie: bool = True
    strength_max: int | None = None
    strength_labels: Mapping[int, str] = field(default_factory=dict)
    both_bad: bool = False

    @classmethod
    def fields(cls, q: Mapping[str, Any]) -> dict[str, Any]:
        strength = q.get("strength")
        return {
            "allow_tie": q.get("allow_tie", True),
            "strength_max": strength["max"] if strength else None,
            "strength_labels": _labels(strength.get("labels") if strength else None),
            "both_bad": bool(q.get("both_bad")),
        }

    @property
    def choices(self) -> tuple[str, ...]:
        return CHOICES if self.allow_tie else SIDES

    @property
    def options(self) -> tuple[Option, ...]:
        return tuple(Option(c, "Tie" if c == "tie" else f"{c} is better") for c in self.choices)

    @property
    def strengths(self) -> tuple[Option, ...]:
        return tuple(Option(n, self.strength_labels.get(n, str(n))) for n in range(1, (self.strength_max or 0) + 1))

    @property
    def domain(self) -> tuple[Any, ...]:
        return CHOICES

    @property
    def measures(self) -> tuple[Measure, ...]:
        top = self.strength_max or 1
        return (
            Measure(self.id, self, f"{self.label} (choice)", Level.NOMINAL, CHOICES, self._choice_code),
            Measure(f"{self.id}.strength", self, f"{self.label} (signed strength)", Level.ORDINAL,
                    tuple(range(-top, top + 1)), self._strength_code),
        )  # fmt: skip

    @staticmethod
    def _choice(answer: Any) -> str | None:
        choice = answer.get("choice") if isinstance(answer, Mapping) else None
        return choice if choice in CHOICES else None

    def _choice_code(self, answer: Any) -> float | None:
        choice = self._choice(answer)
        return None if choice is None else float(CHOICES.index(choice))

    def _strength_code(self, answer: Any) -> float | None:
        """+strength for A, -strength for B, 0 for a tie (a missing strength counts as 1)."""
        choice = self._choice(answer)
        if choice is None:
            return None
        return 0.0 if choice == "tie" else float(answer.get("strength", 1)) * (1 if choice == "A" else -1)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {"choice": {"enum": list(self.choices)}},
            "required": ["choice"],
            "additionalProperties": False,
        }
        if self.both_bad:
            schema["properties"]["both_bad"] = {"type": "boolean"}
        if self.strength_max is not None:
            schema["properties"]["strength"] = {"type": "integer", "minimum": 1, "maximum": self.strength_max}
            schema["if"] = {"type": "object", "properties": {"choice": {"const": "tie"}}, "required": ["choice"]}
            schema["then"] = {"not": {"required": ["strength"]}}
            schema["else"] = {"required": ["strength"]}
        return schema

    @property
    def answer_space(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "choices": list(self.choices),
            "strength": self.strength_max,
            "both_bad": self.both_bad,
        }

    def match_schema(self, match: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": {"choice": match}, "required": ["choice"]}

    def bound_schema(self, bound: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": {"strength": {"type": "integer", **bound}}, "required": ["strength"]}

    def scale_label(self, value: Any) -> str | None:
        return self.strength_labels.get(value) if isinstance(value, int) else None

    def same(self, a: Any, b: Any) -> bool:
        return isinstance(a, Mapping) and isinstance(b, Mapping) and a.get("choice") == b.get("choice")

    def _words(self, answer: Any, sides: Mapping[str, str]) -> str:
        if not isinstance(answer, Mapping):
            return str(answer)
        choice = answer.get("choice")
        text = "Tie" if choice == "tie" else f"{sides.get(choice, str(choice))} is better"
        strength = answer.get("strength")
        if strength is not None and choice != "tie":
            label = self.scale_label(strength)
            text += f", strength {strength}" + (f" ({label})" if label else "")
        if answer.get("both_bad"):
            text += "; both responses are bad"
        return text

    def swap(self, answer: Any) -> Any:
        if not isinstance(answer, Mapping):
            return answer
        choice = answer.get("choice")
        return {**answer, "choice": {"A": "B", "B": "A"}.get(choice, choice)}

    def from_form(self, form: Form) -> Any | None:
        choice = _first(form, f"{self.field}.choice")
        if choice is None:
            return None
        answer: dict[str, Any] = {"choice": choice}
        strength = _first(form, f"{self.field}.strength")
        if strength is not None and choice != "tie":
            answer["strength"] = _int_or_raw(strength)
        if self.both_bad:
            answer["both_bad"] = _first(form, f"{self.field}.both_bad") == "true"
        return answer

    def form_values(self, answer: Any) -> dict[str, list[str]]:
        if not isinstance(answer, Mapping):
            return {}
        out = {f"{self.field}.choice": [str(answer.get("choice"))]}
        if answer.get("strength") is not None:
            out[f"{self.field}.strength"] = [str(answer["strength"])]
        if answer.get("both_bad"):
            out[f"{self.field}.both_bad"] = ["true"]
        return out


@dataclass(eq=False)
class LikertQuestion(Question):
    """An integer on ``min..max`` with labelled anchors; ``{"A": n, "B": n}`` when ``per_response``."""

    type: ClassVar[str] = "likert"
    min: int = 1
    max: int = 5
    anchors: Mapping[int, str] = field(default_factory=dict)
    level: Level = Level.ORDINAL  # type: ignore[misc]  # a likert question declares its own
    per_response: bool = False

    @classmethod
    def fields(cls, q: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "min": q["min"], "max": q["max"], "anchors": _labels(q.get("anchors")),
            "level": Level(q.get("level", "ordinal")), "per_response": bool(q.get("per_response")),
        }  # fmt: skip

    @property
    def domain(self) -> tuple[Any, ...]:
        return tuple(range(self.min, self.max + 1))

    @property
    def options(self) -> tuple[Option, ...]:
        return tuple(Option(n, self.anchors.get(n, "")) for n in self.domain)

    @property
    def sides(self) -> tuple[str, ...]:
        return SIDES if self.per_response else ()

    @property
    def measures(self) -> tuple[Measure, ...]:
        if self.per_response:
            return ()
        return (Measure(self.id, self, self.label, self.level, self.domain, self._code),)

    @staticmethod
    def _code(answer: Any) -> float | None:
        return float(answer) if _is_number(answer) else None

    def schema(self) -> dict[str, Any]:
        scale = {"type": "integer", "minimum": self.min, "maximum": self.max}
        if self.per_response:
            return {
                "type": "object",
                "properties": {s: scale for s in SIDES},
                "required": list(SIDES),
                "additionalProperties": False,
            }
        return scale

    @property
    def answer_space(self) -> dict[str, Any]:
        return {"type": self.type, "min": self.min, "max": self.max, "per_response": self.per_response}

    def scale_label(self, value: Any) -> str | None:
        return self.anchors.get(value) if _is_number(value) else None

    def _scale_words(self, value: Any) -> str:
        anchor = self.scale_label(value)
        return f"{value} ({anchor})" if anchor else str(value)

    def _words(self, answer: Any, sides: Mapping[str, str]) -> str:
        if isinstance(answer, Mapping):
            return "; ".join(f"{sides.get(s, s)}: {self._scale_words(answer[s])}" for s in sorted(answer))
        return self._scale_words(answer)

    def swap(self, answer: Any) -> Any:
        if self.per_response and isinstance(answer, Mapping):
            return {{"A": "B", "B": "A"}.get(k, k): v for k, v in answer.items()}
        return answer

    def from_form(self, form: Form) -> Any | None:
        if not self.per_response:
            value = _first(form, self.field)
            return None if value is None else _int_or_raw(value)
        sides = {s: _first(form, f"{self.field}.{s}") for s in SIDES}
        if all(v is None for v in sides.values()):
            return None
        return {s: _int_or_raw(v) for s, v in sides.items() if v is not None}

    def form_values(self, answer: Any) -> dict[str, list[str]]:
        if isinstance(answer, Mapping):
            return {f"{self.field}.{s}": [str(v)] for s, v in answer.items()}
        return super().form_values(answer)


@dataclass(eq=False)
class CategoricalQuestion(Question):
    """One of ``options`` by value, or a list of them when ``multiple``."""

    type: ClassVar[str] = "categorical"
    options: tuple[Option, ...] = ()
    multiple: bool = False

    @classmethod
    def fields(cls, q: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "options": tuple(Option(o["value"], o.get("label", o["value"])) for o in q["options"]),
            "multiple": bool(q.get("multiple")),
        }

    @property
    def domain(self) -> tuple[Any, ...]:
        return tuple(o.value for o in self.options)

    @property
    def measures(self) -> tuple[Measure, ...]:
        if self.multiple:
            return ()
        return (Measure(self.id, self, self.label, Level.NOMINAL, self.domain, self._code),)

    def _code(self, answer: Any) -> float | None:
        return float(self.domain.index(answer)) if isinstance(answer, str) and answer in self.domain else None

    def schema(self) -> dict[str, Any]:
        one = {"enum": list(self.domain)}
        return {"type": "array", "items": one, "uniqueItems": True, "minItems": 1} if self.multiple else one

    @property
    def answer_space(self) -> dict[str, Any]:
        return {"type": self.type, "options": sorted(self.domain), "multiple": self.multiple}

    def match_schema(self, match: dict[str, Any]) -> dict[str, Any]:
        return {"type": "array", "contains": match} if self.multiple else match

    def same(self, a: Any, b: Any) -> bool:
        """A multiple choice is the same set of options, in any order."""
        if isinstance(a, list) or isinstance(b, list):
            return isinstance(a, list) and isinstance(b, list) and sorted(map(str, a)) == sorted(map(str, b))
        return a == b

    def _words(self, answer: Any, sides: Mapping[str, str]) -> str:
        labels = {o.value: o.label for o in self.options}
        values = answer if isinstance(answer, list) else [answer]
        return ", ".join(labels.get(v, str(v)) for v in values) or "none"

    def from_form(self, form: Form) -> Any | None:
        if not self.multiple:
            return super().from_form(form)
        return [v for v in form.get(self.field, []) if v != ""] or None

    def form_values(self, answer: Any) -> dict[str, list[str]]:
        if isinstance(answer, list):
            return {self.field: [str(v) for v in answer]}
        return super().form_values(answer)


@dataclass(eq=False)
class BinaryQuestion(Question):
    """Yes or no: ``true``/``false`` (read back as 1/0 from SQLite's JSON functions)."""

    type: ClassVar[str] = "binary"
    true_label: str = "Yes"
    false_label: str = "No"

    @classmethod
    def fields(cls, q: Mapping[str, Any]) -> dict[str, Any]:
        labels = q.get("labels", {})
        return {"true_label": labels.get("true", "Yes"), "false_label": labels.get("false", "No")}

    @property
    def domain(self) -> tuple[Any, ...]:
        return (False, True)

    @property
    def options(self) -> tuple[Option, ...]:
        return (Option(True, self.true_label), Option(False, self.false_label))

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (Measure(self.id, self, self.label, Level.NOMINAL, self.domain, self._code),)

    def _code(self, answer: Any) -> float | None:
        answer = self.normalize(answer)
        return float(answer) if isinstance(answer, bool) else None

    def normalize(self, answer: Any) -> Any:
        """``True``/``False``; the integers 1 and 0 (SQLite JSON) read as yes and no."""
        if isinstance(answer, int) and not isinstance(answer, bool) and answer in (0, 1):
            return bool(answer)
        return answer

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}

    def match_schema(self, match: dict[str, Any]) -> dict[str, Any]:
        return {"type": "boolean", **match}

    def _words(self, answer: Any, sides: Mapping[str, str]) -> str:
        answer = self.normalize(answer)
        if isinstance(answer, bool):
            return self.true_label if answer else self.false_label
        return str(answer)

    def from_form(self, form: Form) -> Any | None:
        value = _first(form, self.field)
        return {"true": True, "false": False}.get(value, value) if value is not None else None

    def form_values(self, answer: Any) -> dict[str, list[str]]:
        answer = self.normalize(answer)
        if isinstance(answer, bool):
            return {self.field: ["true" if answer else "false"]}
        return super().form_values(answer)


@dataclass(eq=False)
class TextQuestion(Question):
    """Free text (a rationale), with optional length limits; never measured."""

    type: ClassVar[str] = "text"
    level: ClassVar[Level | None] = None
    min_length: int | None = None
    max_length: int | None = None

    @classmethod
    def fields(cls, q: Mapping[str, Any]) -> dict[str, Any]:
        return {"min_length": q.get("min_length"), "max_length": q.get("max_length")}

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.min_length is not None:
            schema["minLength"] = self.min_length
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        return schema

    def from_form(self, form: Form) -> Any | None:
        value = _first(form, self.field)
        return (value.strip() or None) if value is not None else None


TYPES: dict[str, type[Question]] = {
    cls.type: cls for cls in (PairwiseQuestion, LikertQuestion, CategoricalQuestion, BinaryQuestion, TextQuestion)
}
