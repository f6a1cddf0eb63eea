"""What every rubric question has: the ``Question`` base class, options, examples, measures, conditions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Literal

import jsonschema

from ...domain import Level
from ...errors import schema_message

SIDES = ("A", "B")
CHOICES = ("A", "B", "tie")
Terms = Literal["canonical", "screen", "plain"]
SIDE_NAMES: dict[str, dict[str, str]] = {
    "canonical": {"A": "A (first response)", "B": "B (second response)"},
    "screen": {"A": "A (left)", "B": "B (right)"},
    "plain": {"A": "A", "B": "B"},
}
NO_ANSWER = "no answer"
Form = Mapping[str, Sequence[str]]


def _first(form: Form, name: str) -> str | None:
    values = [v for v in form.get(name, []) if v != ""]
    return values[0] if values else None


def _int_or_raw(raw: str) -> Any:
    """Unparsable numbers stay text, so validation reports them as the wrong type."""
    try:
        return int(raw)
    except ValueError:
        return raw


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_swapped(display_order: Sequence[int] | None) -> bool:
    """Whether the item's second response was shown on the left (``display_order`` ``[1, 0]``)."""
    return list((display_order or [])[:2]) == [1, 0]


def _labels(mapping: Mapping[str, str] | None) -> dict[int, str]:
    return {int(k): v for k, v in (mapping or {}).items()}


@dataclass(frozen=True)
class Option:
    """One value a rater can pick, with its label; ``field`` is its value in a form."""

    value: Any
    label: str

    @property
    def field(self) -> str:
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value)


@dataclass(frozen=True)
class Example:
    """A worked example: an input, the expected answer (plain terms) and why."""

    input: str
    answer: Any
    why: str


@dataclass(eq=False)
class Measure:
    """One numeric reading of a question that agreement and calibration compute on."""

    key: str  # question id, or "<id>.strength"
    question: Question = field(repr=False)
    label: str
    level: Level
    domain: tuple[Any, ...]  # stored answer values in order; ``code`` maps an answer into ``value_domain``
    reads: Callable[[Any], float | None] = field(repr=False)

    @property
    def question_id(self) -> str:
        return self.question.id

    @property
    def kind(self) -> str:
        return self.question.type

    @property
    def is_strength(self) -> bool:
        return self.key.endswith(".strength")

    def code(self, answer: Any) -> float | None:
        """The numeric value of one stored (canonical) answer, or None when not answered."""
        return None if answer is None else self.reads(answer)

    @property
    def value_domain(self) -> list[float]:
        """Numeric domain handed to the statistics (codes, or the scale values themselves)."""
        if self.kind == "likert" or self.is_strength:
            return [float(v) for v in self.domain]
        return [float(i) for i in range(len(self.domain))]


@dataclass(eq=False)
class Condition:
    """A ``required_when``: this question is required when ``question`` passes one test."""

    question: Question  # the earlier question it depends on
    test: Literal["equals", "one_of", "at_least", "at_most"]
    value: Any

    @property
    def values(self) -> list[Any]:
        return [self.value] if self.test == "equals" else list(self.value)

    def schema(self) -> dict[str, Any]:
        """The schema an answer to ``question`` matches when the condition holds."""
        if self.test in ("at_least", "at_most"):
            bound = {"minimum": self.value} if self.test == "at_least" else {"maximum": self.value}
            return self.question.bound_schema(bound)
        values = self.values
        return self.question.match_schema({"const": values[0]} if len(values) == 1 else {"enum": values})

    def holds(self, answer: Any) -> bool:
        return answer is not None and jsonschema.Draft202012Validator(self.schema()).is_valid(answer)

    def words(self) -> str:
        """Plain words: "Helpful is at least 3 (much better)", "Harmful is yes"."""
        q = self.question
        if self.test in ("at_least", "at_most"):
            label = q.scale_label(self.value)
            return f"{q.label} is {self.test.replace('_', ' ')} {self.value}" + (f" ({label})" if label else "")
        shown = [("yes" if v else "no") if isinstance(v, bool) else str(v) for v in self.values]
        return f"{q.label} is {' or '.join(shown)}"


@dataclass(eq=False)
class Question:
    """What every question type has; subclasses add the rules of their type.

    Built from a document and then only read: shared by whoever asked for the document's questions.
    """

    type: ClassVar[str]
    id: str
    prompt: str
    label: str  # short name for tables; the id when the rubric gives none
    help: str | None = None
    required: bool = True
    examples: tuple[Example, ...] = ()
    condition: Condition | None = None  # ``required_when``, resolved against the earlier question
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the question as written

    @classmethod
    def fields(cls, q: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    @property
    def heading(self) -> str:
        """The label the rubric gives, else the prompt (a rater knows a question by its wording)."""
        return self.raw.get("label") or self.prompt

    # -- what a valid answer is ------------------------------------------------------------

    level: ClassVar[Level | None] = Level.NOMINAL

    @property
    def domain(self) -> tuple[Any, ...]:
        return ()

    @property
    def measures(self) -> tuple[Measure, ...]:
        return ()

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def answer_space(self) -> dict[str, Any]:
        """What counts as a valid answer, as comparable values: a change here changes the question's meaning."""
        return {"type": self.type}

    @cached_property
    def _validator(self) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(self.schema())

    def problem(self, answer: Any) -> str | None:
        """Why ``answer`` does not fit this question, or None when it does."""
        error = jsonschema.exceptions.best_match(self._validator.iter_errors(answer))
        return None if error is None else schema_message(error)

    def match_schema(self, match: dict[str, Any]) -> dict[str, Any]:
        """The schema of an answer whose value (a pairwise question: its choice) matches ``match``."""
        return match

    def bound_schema(self, bound: dict[str, Any]) -> dict[str, Any]:
        """The schema of an answer on a scale (a pairwise question: its strength) within ``bound``."""
        return {"type": "integer", **bound}

    def scale_label(self, value: Any) -> str | None:
        """The label of a point on the question's scale (anchor, strength label), if it has one."""
        return None

    # -- answers -----------------------------------------------------------------------------

    def normalize(self, answer: Any) -> Any:
        """The answer in its stored type (undoes what a database's JSON functions changed)."""
        return answer

    def same(self, a: Any, b: Any) -> bool:
        """Whether two stored answers count as the same answer (gold checks, adjudication outcomes)."""
        return self.normalize(a) == self.normalize(b)

    def words(self, answer: Any, terms: Terms = "canonical") -> str:
        """The answer in words, sides named in ``terms``; "no answer" for None."""
        return NO_ANSWER if answer is None else self._words(answer, SIDE_NAMES[terms])

    def _words(self, answer: Any, sides: Mapping[str, str]) -> str:
        return str(answer)

    def words_on_screen(self, answer: Any, display_order: Sequence[int] | None) -> str:
        """A canonical answer in the rater's screen terms, for the side order they were shown."""
        return self.words(self.swap(answer) if is_swapped(display_order) and answer is not None else answer, "screen")

    def swap(self, answer: Any) -> Any:
        """The answer with sides A and B exchanged (screen ↔ canonical when the sides were swapped)."""
        return answer

    def from_form(self, form: Form) -> Any | None:
        """The answer in the rating form's fields (named after ``field``), or None when blank."""
        return _first(form, self.field)

    def form_values(self, answer: Any) -> dict[str, list[str]]:
        """The form fields that show ``answer`` checked (the inverse of ``from_form``)."""
        if answer is None:
            return {}
        return {self.field: [str(answer)]}

    @property
    def field(self) -> str:
        return f"q.{self.id}"
