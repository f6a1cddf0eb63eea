"""Reading a judge's answer: JSON out of the reply, checked like a human's, in canonical
orientation, with a confidence for each choice question.

Confidence from log-probabilities: at the token where a choice question's value starts,
the probability of the chosen option, normalised over the probabilities of the tokens
among ``top_logprobs`` that begin an option of the question (A/B/tie for a pairwise
choice, the option values of a categorical question, true/false). Without
log-probabilities: the share of all valid answers on the item (both orders, every sample)
that agree with the verdict.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import JudgmentInvalid
from ..rubric import normalize_answers, to_canonical, validate_judgment

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


class AnswerInvalid(Exception):
    """The reply holds no answer that fits the rubric; ``str`` says why."""


def parse_json(content: str) -> Any:
    """The JSON object in a reply: bare, inside ```json fences, or amid other text."""
    text = content.strip()
    candidates = [text, *(m.strip() for m in _FENCE.findall(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise AnswerInvalid("the reply is not JSON")


def _drop_nulls(value: Any) -> Any:
    """``null`` means "not answered" (strict structured output cannot leave a key out)."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


def screen_answers(document: Mapping[str, Any], content: str, sha256: str | None) -> dict[str, Any]:
    """The answers of a reply, in the judge's screen orientation, validated against the
    rubric version exactly as a human submission is (``normalize_answers`` then
    ``validate_judgment``)."""
    raw = parse_json(content)
    if not isinstance(raw, dict):
        raise AnswerInvalid("the reply is JSON but not an object")
    answers = normalize_answers(_drop_nulls(raw))
    try:
        validate_judgment(document, answers, sha256)
    except JudgmentInvalid as exc:
        raise AnswerInvalid("; ".join(str(e) for e in exc.errors) or str(exc)) from None
    return answers


def canonical(document: Mapping[str, Any], answers: Mapping[str, Any], display_order: Sequence[int]) -> dict[str, Any]:
    return to_canonical(document, answers, display_order)


# -- confidence -------------------------------------------------------------------------


def choice_options(q: Mapping[str, Any]) -> list[str] | None:
    """The words a choice question's value is written with, or None for other questions."""
    if q["type"] == "pairwise":
        return ["A", "B", "tie"] if q.get("allow_tie", True) else ["A", "B"]
    if q["type"] == "categorical" and not q.get("multiple"):
        return [o["value"] for o in q["options"]]
    if q["type"] == "binary":
        return ["true", "false"]
    return None


def chosen_word(q: Mapping[str, Any], value: Any) -> str | None:
    """The option word of an answer (screen or canonical alike), or None if unanswered."""
    if value is None:
        return None
    if q["type"] == "pairwise":
        return value.get("choice") if isinstance(value, dict) else None
    if q["type"] == "binary":
        return "true" if value is True else "false" if value is False else None
    return str(value)


def _value_start(content: str, q: Mapping[str, Any]) -> int | None:
    """Character offset in ``content`` where the question's value is written."""
    key = re.escape(json.dumps(q["id"]))
    if q["type"] == "pairwise":
        pattern = key + r'\s*:\s*\{[^{}]*?"choice"\s*:\s*"'
    elif q["type"] == "binary":
        pattern = key + r"\s*:\s*"
    else:
        pattern = key + r'\s*:\s*"'
    match = re.search(pattern, content)
    return match.end() if match else None


_LEAD = re.compile(r'^[\s"\':{,]+')


def _token_word(token: str) -> str:
    """The letters a token contributes to a value: ``' "A'`` → ``A``, ``'tie"'`` → ``tie``."""
    word = _LEAD.sub("", token)
    return re.split(r'["\s,}]', word, maxsplit=1)[0]


def _option_of(word: str, options: Sequence[str]) -> str | None:
    """The option a token begins: an exact match, else the only option it is a prefix of."""
    if not word:
        return None
    if word in options:
        return word
    starts = [o for o in options if o.startswith(word)]
    return starts[0] if len(starts) == 1 else None


def logprob_confidence(
    q: Mapping[str, Any], content: str, tokens: Sequence[Mapping[str, Any]], chosen: str
) -> float | None:
    """The probability of ``chosen`` normalised over the options, read at the token where
    the value starts; None when that token cannot be found or read."""
    options = choice_options(q)
    start = _value_start(content, q)
    if options is None or start is None:
        return None
    offset = 0
    for token in tokens:
        text = token.get("token") or ""
        if offset + len(text) > start:
            break
        offset += len(text)
    else:
        return None
    mass: dict[str, float] = {}
    alternatives = list(token.get("top_logprobs") or [])
    if not any(alt.get("token") == token.get("token") for alt in alternatives):
        alternatives.append({"token": token.get("token"), "logprob": token.get("logprob")})
    for alt in alternatives:
        option = _option_of(_token_word(alt.get("token") or ""), options)
        logprob = alt.get("logprob")
        if option is None or logprob is None:
            continue
        mass[option] = mass.get(option, 0.0) + math.exp(float(logprob))
    total = sum(mass.values())
    if chosen not in mass or total <= 0:
        return None
    return mass[chosen] / total


def logprob_confidences(
    document: Mapping[str, Any], content: str, tokens: Sequence[Mapping[str, Any]] | None, answers: Mapping[str, Any]
) -> dict[str, float]:
    """Confidence per choice question of one reply (screen answers), where readable."""
    if not tokens:
        return {}
    out = {}
    for q in document["questions"]:
        chosen = chosen_word(q, answers.get(q["id"]))
        if chosen is None or choice_options(q) is None:
            continue
        p = logprob_confidence(q, content, tokens, chosen)
        if p is not None:
            out[q["id"]] = round(p, 6)
    return out


def consistency_confidences(
    document: Mapping[str, Any], verdict: Mapping[str, Any], others: Sequence[Mapping[str, Any]]
) -> dict[str, float]:
    """Per choice question, the share of ``others`` (canonical answers of every valid ask
    on the item, the verdict's own included) that agree with ``verdict``. Empty when there
    is only one answer: agreement with itself says nothing."""
    if len(others) < 2:
        return {}
    out = {}
    for q in document["questions"]:
        if choice_options(q) is None:
            continue
        mine = chosen_word(q, verdict.get(q["id"]))
        if mine is None:
            continue
        same = sum(chosen_word(q, o.get(q["id"])) == mine for o in others)
        out[q["id"]] = round(same / len(others), 6)
    return out
