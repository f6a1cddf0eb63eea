"""Rubric documents: parse YAML/JSON, validate against ``rubrics/rubric.schema.json``, hash.

Validation has two passes: the JSON Schema (structure, types), then the rules a schema
cannot say well (unique question ids, ``min < max``, references between questions).
Every problem is reported with a JSON pointer to where it is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ..errors import FieldError, RubricInvalid, json_text, schema_message
from ..paths import resource_dir
from ..words import counted
from .questions import Question, Questions, question_from_dict
from .safe_yaml import load_yaml


@lru_cache(maxsize=1)
def rubric_schema() -> dict[str, Any]:
    return json.loads((resource_dir("rubrics") / "rubric.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = rubric_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _pointer(path) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "/"


def _schema_errors(doc: Any) -> list[FieldError]:
    found = []
    for error in _validator().iter_errors(doc):
        # Report the most specific cause of an if/then or allOf failure.
        leaves = [e for e in error.context] if error.context else [error]
        for leaf in leaves or [error]:
            found.append(FieldError(_pointer(leaf.absolute_path), schema_message(leaf)))

    # An "unevaluated properties" complaint is noise when a deeper error made the branch
    # that declares those properties fail; keep only the deeper error then.
    def explained(noise: FieldError) -> bool:
        prefix = noise.location.rstrip("/") + "/"
        return any(
            e is not noise
            and not e.message.startswith("Unevaluated properties")
            and (e.location == noise.location or e.location.startswith(prefix))
            for e in found
        )

    kept = {e for e in found if not (e.message.startswith("Unevaluated properties") and explained(e))}
    return sorted(kept, key=lambda e: (e.location, e.message))


def _rule_errors(doc: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    questions = doc["questions"]
    seen: dict[str, int] = {}
    for index, q in enumerate(questions):
        where = f"/questions/{index}"
        if q["id"] in seen:
            errors.append(
                FieldError(f"{where}/id", f"duplicate question id {q['id']!r} (also at /questions/{seen[q['id']]})")
            )
        seen.setdefault(q["id"], index)
        kind = q["type"]
        if kind == "likert":
            if q["min"] >= q["max"]:
                errors.append(FieldError(f"{where}/max", f"max ({q['max']}) must be greater than min ({q['min']})"))
            for key in q.get("anchors", {}):
                if not q["min"] <= int(key) <= q["max"]:
                    errors.append(
                        FieldError(f"{where}/anchors/{key}", f"anchor {key} is outside {q['min']}..{q['max']}")
                    )
            if q.get("per_response") and doc["task_kind"] != "pairwise":
                errors.append(FieldError(f"{where}/per_response", "per_response needs task_kind pairwise"))
        if kind == "pairwise":
            if doc["task_kind"] != "pairwise":
                errors.append(FieldError(f"{where}/type", "pairwise questions need task_kind pairwise"))
            strength = q.get("strength")
            for key in (strength or {}).get("labels", {}):
                if not 1 <= int(key) <= strength["max"]:
                    errors.append(
                        FieldError(f"{where}/strength/labels/{key}", f"label {key} is outside 1..{strength['max']}")
                    )
        if kind == "categorical":
            values = [o["value"] for o in q["options"]]
            if len(set(values)) != len(values):
                errors.append(FieldError(f"{where}/options", "option values must be unique"))
        if kind == "text" and q.get("min_length", 0) > q.get("max_length", 10**9):
            errors.append(FieldError(f"{where}/min_length", "min_length is greater than max_length"))
        if q.get("required_when"):
            errors += _condition_errors(q, questions[:index], f"{where}/required_when")
        for number, example in enumerate(q.get("examples", [])):
            problem = answer_problem(q, example["answer"])
            if problem:
                errors.append(
                    FieldError(
                        f"{where}/examples/{number}/answer", f"the example answer does not fit the question: {problem}"
                    )
                )
    if doc["task_kind"] == "pairwise" and not any(q["type"] == "pairwise" for q in questions):
        errors.append(FieldError("/questions", "a pairwise rubric needs at least one pairwise question"))
    return errors


CONDITION_KEYS = ("equals", "one_of", "at_least", "at_most")


def _condition_errors(q: dict[str, Any], earlier: list[dict[str, Any]], where: str) -> list[FieldError]:
    """``required_when`` names an earlier question and one test its answers can pass."""
    cond = q["required_when"]
    tests = [k for k in CONDITION_KEYS if k in cond]
    if len(tests) != 1:
        return [FieldError(where, "give exactly one of equals, one_of, at_least, at_most")]
    test = tests[0]
    other = next((o for o in earlier if o["id"] == cond["question"]), None)
    if other is None:
        return [FieldError(f"{where}/question", f"{json_text(cond['question'])} is not an earlier question")]
    kind = other["type"]
    if test in ("at_least", "at_most"):
        if kind == "pairwise":
            top = other.get("strength", {}).get("max")
            if top is None:
                return [FieldError(f"{where}/{test}", f"{other['id']!r} has no strength scale to compare with")]
            low, high = 1, top
        elif kind == "likert" and not other.get("per_response"):
            low, high = other["min"], other["max"]
        else:
            return [FieldError(f"{where}/{test}", f"{test} needs a likert or pairwise-strength question, not {kind}")]
        if not low <= cond[test] <= high:
            return [FieldError(f"{where}/{test}", f"{cond[test]} is outside {low}..{high}")]
        return []
    values = cond["equals"] if test == "equals" else None
    values = [values] if test == "equals" else cond["one_of"]
    if kind == "pairwise":
        allowed = list(question_from_dict(other).choices)
        bad = [v for v in values if v not in allowed]
        if bad:
            return [
                FieldError(
                    f"{where}/{test}",
                    f"{json_text(bad[0])} is not a choice of {json_text(other['id'])} ({', '.join(allowed)})",
                )
            ]
        return []
    if kind == "text" or (kind == "likert" and other.get("per_response")):
        return [
            FieldError(
                f"{where}/question",
                f"cannot depend on {other['id']!r} ({kind}{', per response' if other.get('per_response') else ''})",
            )
        ]
    probe = dict(other, multiple=False) if kind == "categorical" else other
    for value in values:
        problem = answer_problem(probe, value)
        if problem:
            return [
                FieldError(
                    f"{where}/{test}", f"{json_text(value)} is not an answer of {json_text(other['id'])}: {problem}"
                )
            ]
    return []


def answer_problem(q: dict[str, Any], answer: Any) -> str | None:
    """Why ``answer`` is not a valid answer to question ``q``, or None when it is."""
    return question_from_dict(q).problem(answer)


@dataclass(frozen=True)
class RubricDocument:
    """A validated rubric document, its content hash and its typed questions."""

    data: dict[str, Any]
    sha256: str

    @classmethod
    def stored(cls, data: dict[str, Any], sha256: str = "") -> RubricDocument:
        """A document that was validated when it was saved (a rubric version's), not checked again."""
        return cls(data=data, sha256=sha256)

    @property
    def slug(self) -> str:
        return self.data["slug"]

    @property
    def title(self) -> str:
        return self.data["title"]

    @property
    def task_kind(self) -> str:
        return self.data["task_kind"]

    @property
    def guidelines(self) -> str:
        return self.data["guidelines"]

    @cached_property
    def questions(self) -> Questions:
        """The questions in rubric order, each an instance of its type's class."""
        return Questions.of(self.data)

    def question(self, question_id: str) -> Question:
        """The question with this id; ``NotFound`` when there is none."""
        return self.questions.question(question_id)


def canonical_json(doc: dict[str, Any]) -> str:
    """The hashed form: sorted keys, no whitespace, without the informational ``version``."""
    body = {k: v for k, v in doc.items() if k != "version"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_sha256(doc: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def parse_rubric(doc: Any, source: str = "rubric") -> RubricDocument:
    """Validate a parsed document; raise ``RubricInvalid`` listing every problem."""
    errors = _schema_errors(doc)
    if not errors:
        errors = _rule_errors(doc)
    if errors:
        raise RubricInvalid(f"{source} is not a valid rubric ({counted(len(errors), 'problem')})", errors)
    return RubricDocument(data=doc, sha256=content_sha256(doc))


def load_rubric_file(path: str | Path) -> RubricDocument:
    """Read a ``.yaml``/``.yml``/``.json`` rubric file and validate it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricInvalid(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        doc = json.loads(text) if path.suffix == ".json" else load_yaml(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or getattr(exc, "msg", None) or str(exc).splitlines()[0]
        if isinstance(exc, json.JSONDecodeError):
            where = f"line {exc.lineno}, column {exc.colno}"
        raise RubricInvalid(f"{path}: not valid YAML/JSON", [FieldError(where, problem)]) from exc
    return parse_rubric(doc, source=str(path))
