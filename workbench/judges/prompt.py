"""What a judge is asked: chat messages rendered from the rubric version and the item, and
the structured-output request built from the version's judgment schema.

A prompt template is Jinja text. Lines reading exactly ``[system]``, ``[user]`` or
``[assistant]`` start a message with that role; text before the first such line (or a
template without any) is one user message. The variables are listed in ``prompt_context``
and in docs/judges.md.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ..errors import FieldError, InvalidInput
from ..rubric import judgment_schema

SLOTS = ("A", "B")

DEFAULT_TEMPLATE = """\
[system]
You are an expert evaluator. You rate {% if task_kind == "pairwise" %}two responses to the same prompt{% else %}a response to a prompt{% endif %} following the rubric "{{ rubric.title }}".

# Guidelines

{{ guidelines }}

# Questions
{% for q in questions %}
## {{ q.id }}{% if q.label %} ({{ q.label }}){% endif %}

{{ q.prompt }}
{% if q.help %}
{{ q.help }}
{% endif %}
{% for value, words in q.anchors %}{% if loop.first %}
Scale:
{% endif %}- {{ value }}: {{ words }}
{% endfor %}{% for ex in q.examples %}{% if loop.first %}
Worked examples:
{% endif %}- Input: {{ ex.input }}
  Answer: {{ ex.answer_json }}
  Why: {{ ex.why }}
{% endfor %}
Answer "{{ q.id }}" as: {{ q.answer_format }}
{% endfor %}
Reply with one JSON object holding an answer for every question, and nothing else.
[user]
# Prompt

{% if messages %}{% for m in messages %}**{{ m.role }}**: {{ m.content }}

{% endfor %}{% else %}{{ prompt }}

{% endif %}{% for r in responses %}# Response {{ r.slot }}

{{ r.text }}

{% endfor %}Answer as JSON.
"""

_ROLE_LINE = re.compile(r"^\[(system|user|assistant)\]\s*$", re.MULTILINE)
_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


def compile_template(source: str | None):
    """A compiled prompt template (the built-in one for ``None``); ``InvalidInput`` if it
    does not parse."""
    try:
        return _ENV.from_string(DEFAULT_TEMPLATE if source is None else source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise InvalidInput(
            "the prompt template does not parse", [FieldError(f"line {line}" if line else "", str(exc))]
        ) from None


def answer_format(q: Mapping[str, Any]) -> str:
    """How one question's answer is written, in words, in screen orientation."""
    kind = q["type"]
    if kind == "pairwise":
        choices = ["A", "B", "tie"] if q.get("allow_tie", True) else ["A", "B"]
        shape = '{"choice": ' + " | ".join(f'"{c}"' for c in choices)
        if "strength" in q:
            shape += f', "strength": 1..{q["strength"]["max"]} (null on a tie)'
        if q.get("both_bad"):
            shape += ', "both_bad": true | false'
        return shape + "}"
    if kind == "likert":
        scale = f"an integer from {q['min']} to {q['max']}"
        return f'{{"A": {scale}, "B": {scale}}}' if q.get("per_response") else scale
    if kind == "categorical":
        values = " | ".join(f'"{o["value"]}"' for o in q["options"])
        return f"a list of one or more of {values}" if q.get("multiple") else f"one of {values}"
    if kind == "binary":
        return "true or false"
    optional = "" if q.get("required", True) and not q.get("required_when") else " (or null)"
    return "a string" + optional


def _anchors(q: Mapping[str, Any]) -> list[tuple[str, str]]:
    if q["type"] == "pairwise":
        labels = q.get("strength", {}).get("labels", {})
    elif q["type"] == "categorical":
        return [(o["value"], o["label"]) for o in q["options"]]
    elif q["type"] == "binary":
        labels = q.get("labels", {})
    else:
        labels = q.get("anchors", {})
    return sorted(labels.items(), key=lambda kv: (len(kv[0]), kv[0]))


def prompt_context(
    document: Mapping[str, Any], prompt: Any, responses: Sequence[str], display_order: Sequence[int]
) -> dict[str, Any]:
    """The template variables for one ask: ``responses`` in item order, shown in
    ``display_order`` (slot A shows ``responses[display_order[0]]``)."""
    questions = [
        {
            "id": q["id"],
            "type": q["type"],
            "label": q.get("label", ""),
            "prompt": q["prompt"],
            "help": q.get("help", ""),
            "required": q.get("required", True),
            "anchors": _anchors(q),
            "examples": [{**ex, "answer_json": json.dumps(ex["answer"])} for ex in q.get("examples", [])],
            "answer_format": answer_format(q),
        }
        for q in document["questions"]
    ]
    messages = prompt if isinstance(prompt, list) else None
    return {
        "rubric": {
            "title": document.get("title", ""),
            "slug": document.get("slug", ""),
            "version": document.get("version"),
        },
        "task_kind": document.get("task_kind", "pairwise"),
        "guidelines": document.get("guidelines", ""),
        "questions": questions,
        "prompt": prompt if isinstance(prompt, str) else "",
        "messages": messages,
        "responses": [{"slot": SLOTS[slot], "text": responses[pos]} for slot, pos in enumerate(display_order)],
    }


def render_messages(template, context: Mapping[str, Any]) -> list[dict[str, str]]:
    """The chat messages a rendered template describes (see the module docstring)."""
    text = template.render(**context)
    parts = _ROLE_LINE.split(text)
    messages = []
    head = parts[0].strip()
    if head:
        messages.append({"role": "user", "content": head})
    for role, content in zip(parts[1::2], parts[2::2], strict=True):
        if content.strip():
            messages.append({"role": role, "content": content.strip()})
    return messages


# -- structured output ------------------------------------------------------------------

_DROPPED = ("if", "then", "else", "not", "allOf", "$schema", "title", "uniqueItems", "minLength", "maxLength")


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    out = dict(schema)
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
        return out
    return out if "enum" in out else {"anyOf": [schema, {"type": "null"}]}


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """One (sub)schema in the subset strict structured output accepts: bounded integers
    as enums, every object property required (optional ones nullable), no conditionals."""
    out = {k: v for k, v in schema.items() if k not in _DROPPED}
    if (
        out.get("type") == "integer"
        and "minimum" in out
        and "maximum" in out
        and out["maximum"] - out["minimum"] <= 100
    ):
        out = {"type": "integer", "enum": list(range(out["minimum"], out["maximum"] + 1))}
    if "enum" in out and "type" not in out:
        values = out["enum"]
        if all(isinstance(v, str) for v in values):
            out["type"] = "string"
    if "items" in out:
        out["items"] = _strict(out["items"])
    if out.get("type") == "object":
        required = set(out.get("required", []))
        props = {}
        for name, sub in out.get("properties", {}).items():
            sub = _strict(sub)
            props[name] = sub if name in required else _nullable(sub)
        out["properties"] = props
        out["required"] = list(props)
        out["additionalProperties"] = False
    return out


def strict_schema(document: Mapping[str, Any]) -> dict[str, Any]:
    """The version's judgment schema as strict structured output takes it.

    Looser than the full schema where strict mode cannot say a rule (a strength only off
    ties, an answer required when another has a value): the answer is checked against the
    full schema afterwards, like a human's. ``null`` stands for "not answered".
    """
    return _strict(copy.deepcopy(judgment_schema(document)))


def schema_name(document: Mapping[str, Any]) -> str:
    """A name for ``json_schema.name``: letters, digits, ``_`` and ``-``, at most 64."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"judgment_{document.get('slug', 'rubric')}")[:64]


def request_body(
    model: str, messages: list[dict[str, str]], schema: dict[str, Any], name: str, temperature: float, max_tokens: int
) -> dict[str, Any]:
    """The chat-completions request of one ask."""
    return {
        "model": model,
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}},
        "logprobs": True,
        "top_logprobs": 5,
    }
