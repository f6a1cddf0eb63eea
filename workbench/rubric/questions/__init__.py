"""Typed rubric questions: one class per question type, built once from a validated rubric.

``Questions.of(document)`` types a stored rubric document (``RubricDocument.questions`` does
the same for a parsed one); ``questions.question(id)`` looks one up, ``questions.measures``
lists what agreement is computed on. Public attributes (``id``, ``label``, ``prompt``,
``help``, ``examples``, ``options``, ``anchors``, ``strengths``...) are what a form, a report
or a judge's prompt needs; ``problem(answer)`` checks a single answer against the schema.

Each question knows the rules of its type, so services, templates and judges ask it instead
of branching on ``question["type"]``:

- ``schema()``: the JSON Schema of one answer (a judgment's schema is assembled from these);
- ``level`` and ``domain``: the agreement level and the stored values, in order;
- ``measures``: the readings agreement and calibration compute on (a pairwise question has
  two: the choice, nominal, and the signed strength, ordinal);
- ``words(answer, terms)``: an answer in words, with the sides named in ``canonical`` terms
  (A is the item's first response), ``screen`` terms (A is the left response, as the rater
  saw it) or ``plain`` terms (just A and B, as in a rubric's worked examples);
- ``same(a, b)``: whether two answers count as the same answer (a pairwise question by its
  choice alone: how much better is a matter of degree);
- ``swap(answer)``: the answer with the sides exchanged (see ``judgment.to_canonical``);
- ``from_form(form)`` and ``form_values(answer)``: the rating form's fields, both ways.

Answers read back from a JSON column can lose their type: SQLite's JSON functions give 1/0
for true/false, so a binary question takes 0 and 1 as no and yes wherever it reads answers.
"""

from .base import CHOICES, SIDE_NAMES, SIDES, Condition, Example, Measure, Option, Question, Terms, is_swapped
from .collection import Questions, question_from_dict
from .kinds import TYPES, BinaryQuestion, CategoricalQuestion, LikertQuestion, PairwiseQuestion, TextQuestion

__all__ = [
    "CHOICES",
    "SIDES",
    "SIDE_NAMES",
    "TYPES",
    "BinaryQuestion",
    "CategoricalQuestion",
    "Condition",
    "Example",
    "LikertQuestion",
    "Measure",
    "Option",
    "PairwiseQuestion",
    "Question",
    "Questions",
    "Terms",
    "TextQuestion",
    "is_swapped",
    "question_from_dict",
]
