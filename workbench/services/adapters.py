"""Ready-made readers for published preference datasets (samples in ``tests/data/preferences``).

Each adapter turns a file into item rows (the JSON Lines layout) and judgment rows
(``{item_id, rater, answers}``), as ``SourceRow``s for ``import_rows`` and
``import_judgments``. Item ids are ``<file stem>-<index>`` (index from 0 in file order),
so items and judgments of the same file line up and a re-import finds the same ids.

- **LLMBar** (``*.dataset.json``: a JSON array of ``{input, output_1, output_2, label}``):
  prompt = ``input``; responses ``output_1`` then ``output_2`` (their ids and models);
  the gold label becomes a judgment choosing response ``output_<label>``.
- **Anthropic HH** (``*.jsonl[.gz]`` of ``{chosen, rejected}`` transcripts
  ``"\\n\\nHuman: ...\\n\\nAssistant: ..."``): the prompt is the shared prefix as chat
  messages (multi-turn), cut before the last assistant turn both transcripts share; the
  responses are what follows (``chosen`` at position 0, ``rejected`` at 1); the label
  becomes a judgment choosing ``chosen``. In the few pairs that differ before their last
  assistant turn, the responses hold the rest of the transcript and
  ``metadata.spans_turns`` is true.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .import_formats import SourceRow

_TURN = re.compile(r"\n\n(Human|Assistant): ?")
_ROLE = {"Human": "user", "Assistant": "assistant"}
_ASSISTANT = "\n\nAssistant:"


def stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".jsonl", ".json", ".dataset"):
        name = name.removesuffix(suffix)
    return name


# -- LLMBar --------------------------------------------------------------------------------


def _llmbar_pairs(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name} is not an LLMBar JSON file ({exc})") from None
    if not isinstance(data, list):
        raise ValueError(f"{path.name} is not an LLMBar file: expected a JSON array of pairs")
    yield from enumerate(data)


def _llmbar_check(pair: Any) -> str | None:
    if not isinstance(pair, dict) or not {"input", "output_1", "output_2", "label"} <= pair.keys():
        return "an LLMBar pair needs input, output_1, output_2 and label"
    if str(pair["label"]) not in ("1", "2"):
        return f"label must be 1 or 2, not {pair['label']!r}"
    return None


def _llmbar_rows(path: str | Path, row_for: Callable[[str, str, dict], dict]) -> Iterator[SourceRow]:
    """One row per LLMBar pair: ``row_for(item_id, subset, pair)``, or the pair's problem."""
    path = Path(path)
    prefix = stem(path)
    for index, pair in _llmbar_pairs(path):
        problem = _llmbar_check(pair)
        if problem:
            yield SourceRow(index + 1, None, ("", problem))
            continue
        yield SourceRow(index + 1, row_for(f"{prefix}-{index:04d}", prefix, pair))


def llmbar_items(path: str | Path) -> Iterator[SourceRow]:
    def item(item_id: str, subset: str, pair: dict) -> dict:
        return {
            "id": item_id,
            "prompt": pair["input"],
            "responses": [
                {"id": "output_1", "model": "output_1", "text": pair["output_1"]},
                {"id": "output_2", "model": "output_2", "text": pair["output_2"]},
            ],
            "metadata": {"source": "llmbar", "subset": subset},
        }

    return _llmbar_rows(path, item)


def llmbar_judgments(path: str | Path, question_id: str, rater: str = "llmbar-gold") -> Iterator[SourceRow]:
    def judgment(item_id: str, subset: str, pair: dict) -> dict:
        return {
            "item_id": item_id,
            "rater": rater,
            "answers": {question_id: {"choice": f"output_{int(pair['label'])}"}},
        }

    return _llmbar_rows(path, judgment)


# -- Anthropic HH --------------------------------------------------------------------------


def transcript_messages(text: str) -> list[dict[str, str]]:
    """``"\\n\\nHuman: a\\n\\nAssistant: b"`` → ``[{user: a}, {assistant: b}]``."""
    parts = _TURN.split(text)
    messages = []
    for role, content in zip(parts[1::2], parts[2::2], strict=True):
        messages.append({"role": _ROLE[role], "content": content})
    return messages


def split_pair(chosen: str, rejected: str) -> tuple[str, str, str]:
    """(shared prompt transcript, chosen response, rejected response)."""
    cut_c, cut_r = chosen.rfind(_ASSISTANT), rejected.rfind(_ASSISTANT)
    if cut_c >= 0 and chosen[:cut_c] == rejected[:cut_r]:
        cut = cut_c
    else:
        common = 0
        for a, b in zip(chosen, rejected, strict=False):
            if a != b:
                break
            common += 1
        cut = chosen.rfind(_ASSISTANT, 0, common + 1)
        if cut < 0:
            cut = 0
    prompt = chosen[:cut]
    return (
        prompt,
        chosen[cut:].removeprefix(_ASSISTANT).lstrip(" "),
        rejected[cut:].removeprefix(_ASSISTANT).lstrip(" "),
    )


def _hh_records(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield number, None, f"not a JSON line ({exc})"
                continue
            if (
                not isinstance(record, dict)
                or not isinstance(record.get("chosen"), str)
                or not isinstance(record.get("rejected"), str)
            ):
                yield number, None, "an HH record needs chosen and rejected transcripts"
                continue
            yield number, record, None


def hh_items(path: str | Path) -> Iterator[SourceRow]:
    path = Path(path)
    prefix = stem(path)
    for number, record, problem in _hh_records(path):
        if problem:
            yield SourceRow(number, None, ("", problem))
            continue
        prompt_text, chosen, rejected = split_pair(record["chosen"], record["rejected"])
        messages = transcript_messages(prompt_text)
        if not messages:
            yield SourceRow(number, None, ("prompt", "the transcripts share no complete turn"))
            continue
        spans = _ASSISTANT in chosen or "\n\nHuman:" in chosen or "\n\nHuman:" in rejected
        yield SourceRow(
            number,
            {
                "id": f"{prefix}-{number - 1:05d}",
                "prompt": messages,
                "responses": [{"id": "chosen", "text": chosen}, {"id": "rejected", "text": rejected}],
                "metadata": {"source": "anthropic-hh", "subset": prefix, **({"spans_turns": True} if spans else {})},
            },
        )


def hh_judgments(path: str | Path, question_id: str, rater: str = "hh-label") -> Iterator[SourceRow]:
    path = Path(path)
    prefix = stem(path)
    for number, _record, problem in _hh_records(path):
        if problem:
            yield SourceRow(number, None, ("", problem))
            continue
        yield SourceRow(
            number,
            {"item_id": f"{prefix}-{number - 1:05d}", "rater": rater, "answers": {question_id: {"choice": "chosen"}}},
        )


def adapter_items(name: str, path: str | Path) -> Iterator[SourceRow]:
    return {"llmbar": llmbar_items, "hh": hh_items}[name](path)


def adapter_judgments(name: str, path: str | Path, question_id: str, rater: str | None = None) -> Iterator[SourceRow]:
    reader = {"llmbar": llmbar_judgments, "hh": hh_judgments}[name]
    return reader(path, question_id) if rater is None else reader(path, question_id, rater)
