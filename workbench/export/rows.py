"""From decided units to output rows: which rows a batch yields, as Arrow arrays or as Python values.

``UnitBatch`` holds one batch of ``queries.units`` rows column-wise. ``select_rows`` says
which output rows the kept units become (ties kept or split, in batch order) and carries
their numbers; ``arrow_columns`` builds the Parquet columns from it without a Python
object per cell, and ``python_columns`` builds the JSON Lines values. Both give the same
rows, and the Parquet bytes do not depend on which path built a column.

Prompts arrive as their stored JSON text. ``Prompts`` recognises a plain string without a
JSON parser (quoted, with no quote, backslash or control character inside: the text
between the quotes is the string) and parses everything else (escapes, chat messages)
with ``json.loads``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInput
from ..models import Project, RubricVersion
from ..services.pseudonyms import pseudonym
from .options import MESSAGES, Plan
from .votes import TIE, A, B, BatchVerdict


@dataclass(frozen=True)
class UnitBatch:
    """One batch of ``queries.units`` rows, column-wise: integers in numpy, text in Arrow."""

    item_pk: np.ndarray
    external_id: pa.Array
    prompt_json: pa.Array
    text_a: pa.Array
    model_a: pa.Array
    text_b: pa.Array
    model_b: pa.Array
    rater_id: np.ndarray | None = None
    own: np.ndarray | None = None
    own_strength: np.ndarray | None = None

    @classmethod
    def from_columns(cls, columns: list, per_rater: bool) -> UnitBatch:
        """From the columns ``queries.stream_columns`` yields for ``queries.units``."""
        extra = {}
        if per_rater:
            extra = {"rater_id": columns[7], "own": columns[8], "own_strength": columns[9]}
        return cls(columns[0], *columns[1:7], **extra)

    def __len__(self) -> int:
        return len(self.item_pk)

    def subset(self, mask: np.ndarray) -> UnitBatch:
        keep = pa.array(mask, pa.bool_())

        def pick(values):
            if values is None:
                return None
            if isinstance(values, np.ndarray):
                return values[mask]
            return values.filter(keep)

        return UnitBatch(*(pick(getattr(self, f)) for f in self.__dataclass_fields__))


# A JSON string without escapes: json.loads gives exactly the text between the quotes.
_PLAIN_STRING = r'^"[^"\\\x00-\x1f]*"$'


class Prompts:
    """The prompts of one batch, decoded from their JSON text on demand."""

    def __init__(self, texts: pa.Array):
        self.texts = texts
        self._arrow = None
        self._plain = None
        self._values = None

    def _recognise(self) -> None:
        raw = self.texts
        plain = pc.match_substring_regex(raw, _PLAIN_STRING)
        self._plain = plain.fill_null(False).to_numpy(zero_copy_only=False)
        self._arrow = pc.utf8_slice_codeunits(raw, 1, -1)

    def plain(self, idx: np.ndarray, every: bool = False) -> pa.Array | None:
        """The prompts at ``idx`` (``every``: all, in order) as Arrow strings; None unless all are plain."""
        if self._plain is None:
            self._recognise()
        if not self._plain[idx].all():
            return None
        return _rows(self._arrow, idx, every)

    def values(self) -> list[Any]:
        """Every prompt of the batch as the JSON value it stores."""
        if self._values is None:
            if self._plain is None:
                self._recognise()
            self._values = [
                text[1:-1] if plain else (None if text is None else json.loads(text))
                for text, plain in zip(self.texts.to_pylist(), self._plain.tolist(), strict=True)
            ]
        return self._values


@dataclass(frozen=True)
class Selection:
    """The output rows of one batch, in order: the unit each comes from and what it says.

    ``prefer_a`` is true where the chosen response is A (the item's first response). For
    ``kto`` each of these rows becomes two (chosen, then rejected) when columns are built.
    """

    unit_of: np.ndarray
    prefer_a: np.ndarray
    margin: np.ndarray
    n_ratings: np.ndarray
    agreement: np.ndarray
    tie: np.ndarray
    weight: np.ndarray
    posterior: np.ndarray | None
    rater: list[str] | None

    def __len__(self) -> int:
        return len(self.unit_of)


def select_rows(
    batch: UnitBatch, verdict: BatchVerdict, plan: Plan, project: Project, names: dict[int, str]
) -> Selection:
    """The rows the kept units become: ties once (A as chosen) or, split, in both orders."""
    winner = verdict.winner
    units = np.flatnonzero(verdict.keep)
    w = winner[units]
    if plan.options.ties == "split":
        ties = w == TIE
        unit_of = np.concatenate([units, units[ties]])
        good = np.concatenate([np.where(ties, A, w), np.full(int(ties.sum()), B)])
        weight = np.concatenate([np.where(ties, 0.5, 1.0), np.full(int(ties.sum()), 0.5)])
        order = np.argsort(unit_of, kind="stable")
        unit_of, good, weight = unit_of[order], good[order], weight[order]
    else:
        unit_of, good, weight = units, np.where(w == TIE, A, w), np.ones(len(units))
    _check_responses(batch, unit_of)
    rater = None
    if batch.rater_id is not None:
        rater = [names.get(r) or names.setdefault(r, pseudonym(project, r)) for r in batch.rater_id[unit_of].tolist()]
    return Selection(
        unit_of=unit_of,
        prefer_a=good == A,
        margin=verdict.margin[unit_of],
        n_ratings=verdict.n[unit_of],
        agreement=verdict.agreement[unit_of],
        tie=winner[unit_of] == TIE,
        weight=weight,
        posterior=None if verdict.posterior is None else verdict.posterior[unit_of],
        rater=rater,
    )


def _check_responses(batch: UnitBatch, unit_of: np.ndarray) -> None:
    if batch.text_a.null_count == 0 and batch.text_b.null_count == 0:
        return
    missing = _nulls(batch.text_a) | _nulls(batch.text_b)
    for i in unit_of.tolist():
        if missing[i]:
            raise InvalidInput(f"item {batch.external_id[i].as_py()!r} is judged but lacks one of its two responses")


def _nulls(values: pa.Array) -> np.ndarray:
    return values.is_null().to_numpy(zero_copy_only=False)


def _message(text: str, role: str = "assistant") -> list[dict[str, str]]:
    return [{"role": role, "content": text}]


def python_columns(
    batch: UnitBatch, sel: Selection, prompts: Prompts, version: RubricVersion, slug: str, plan: Plan
) -> dict[str, list]:
    """The selected rows as lists of Python values (what JSON Lines writes)."""
    idx = sel.unit_of.tolist()
    prefer_a = sel.prefer_a.tolist()
    text_a, text_b, model_a, model_b = (
        c.to_pylist() for c in (batch.text_a, batch.text_b, batch.model_a, batch.model_b)
    )
    external_id = batch.external_id.to_pylist()
    chosen = [text_a[i] if a else text_b[i] for i, a in zip(idx, prefer_a, strict=True)]
    rejected = [text_b[i] if a else text_a[i] for i, a in zip(idx, prefer_a, strict=True)]
    chosen_model = [model_a[i] if a else model_b[i] for i, a in zip(idx, prefer_a, strict=True)]
    rejected_model = [model_b[i] if a else model_a[i] for i, a in zip(idx, prefer_a, strict=True)]
    values = prompts.values()
    prompt = [values[i] for i in idx]
    if plan.conversational:
        prompt = [_message(p, "user") if isinstance(p, str) else p for p in prompt]
        chosen = [_message(t) for t in chosen]
        rejected = [_message(t) for t in rejected]
    out: dict[str, list] = {
        "margin": sel.margin.tolist(),
        "n_ratings": sel.n_ratings.tolist(),
        "agreement": sel.agreement.tolist(),
        "item_id": [external_id[i] for i in idx],
        "rubric": [slug] * len(idx),
        "rubric_version": [version.number] * len(idx),
        "rubric_version_sha256": [version.content_sha256] * len(idx),
    }
    if plan.options.ties != "drop":
        out["tie"] = sel.tie.tolist()
        out["weight"] = sel.weight.tolist()
    if sel.rater is not None:
        out["rater"] = sel.rater
    if sel.posterior is not None:
        out["posterior"] = sel.posterior.tolist()
    if plan.shape != "kto":
        out.update(
            prompt=prompt, chosen=chosen, rejected=rejected, chosen_model=chosen_model, rejected_model=rejected_model
        )
        return out
    kto: dict[str, list] = {key: [v for v in values for _ in (0, 1)] for key, values in out.items()}
    kto["prompt"] = [p for p in prompt for _ in (0, 1)]
    kto["completion"] = [t for pair in zip(chosen, rejected, strict=True) for t in pair]
    kto["label"] = [True, False] * len(idx)
    kto["model"] = [m for pair in zip(chosen_model, rejected_model, strict=True) for m in pair]
    return kto


def _rows(values: pa.Array, idx: np.ndarray, every: bool) -> pa.Array:
    return values if every else values.take(pa.array(idx, pa.int64()))


def _messages(contents: pa.Array, role: str) -> pa.Array:
    """One single-message list per string: ``[{"role": role, "content": text}]``."""
    struct = pa.StructArray.from_arrays([pa.repeat(role, len(contents)), contents], fields=list(MESSAGES.value_type))
    offsets = pa.array(np.arange(len(contents) + 1, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, struct, type=MESSAGES)


def arrow_columns(
    batch: UnitBatch, sel: Selection, prompts: Prompts, version: RubricVersion, slug: str, plan: Plan
) -> dict[str, pa.Array]:
    """The selected rows as Arrow arrays of the export's schema (what Parquet writes)."""
    k = len(sel)
    size = len(batch)
    every_unit = k == size and bool((sel.unit_of == np.arange(size)).all())  # the common case: no take needed
    as_chosen = pa.array(np.where(sel.prefer_a, sel.unit_of, sel.unit_of + size), pa.int64())
    as_rejected = pa.array(np.where(sel.prefer_a, sel.unit_of + size, sel.unit_of), pa.int64())
    texts = pa.concat_arrays([batch.text_a, batch.text_b])  # A then B: row i + size is B's
    models = pa.concat_arrays([batch.model_a, batch.model_b])
    chosen, rejected = texts.take(as_chosen), texts.take(as_rejected)
    chosen_model, rejected_model = models.take(as_chosen), models.take(as_rejected)
    prompt = prompts.plain(sel.unit_of, every_unit)
    if plan.conversational:
        if prompt is not None:
            prompt = _messages(prompt, "user")
        else:
            values = prompts.values()
            prompt = pa.array(
                [_message(p, "user") if isinstance(p, str) else p for p in (values[i] for i in sel.unit_of.tolist())],
                MESSAGES,
            )
        chosen, rejected = _messages(chosen, "assistant"), _messages(rejected, "assistant")
    elif prompt is None:
        values = prompts.values()
        prompt = pa.array([values[i] for i in sel.unit_of.tolist()], pa.string())
    out: dict[str, pa.Array] = {
        "margin": pa.array(sel.margin, pa.float64()),
        "n_ratings": pa.array(sel.n_ratings, pa.int32()),
        "agreement": pa.array(sel.agreement, pa.float64()),
        "item_id": _rows(batch.external_id, sel.unit_of, every_unit),
        "rubric": pa.repeat(pa.scalar(slug, pa.string()), k),
        "rubric_version": pa.repeat(pa.scalar(version.number, pa.int32()), k),
        "rubric_version_sha256": pa.repeat(pa.scalar(version.content_sha256, pa.string()), k),
    }
    if plan.options.ties != "drop":
        out["tie"] = pa.array(sel.tie, pa.bool_())
        out["weight"] = pa.array(sel.weight, pa.float64())
    if sel.rater is not None:
        out["rater"] = pa.array(sel.rater, pa.string())
    if sel.posterior is not None:
        out["posterior"] = pa.array(sel.posterior, pa.float64())
    if plan.shape != "kto":
        out.update(
            prompt=prompt, chosen=chosen, rejected=rejected, chosen_model=chosen_model, rejected_model=rejected_model
        )
        return out
    twice = pa.array(np.repeat(np.arange(k, dtype=np.int64), 2))
    interleaved = np.empty(2 * k, dtype=np.int64)
    interleaved[0::2] = np.arange(k)
    interleaved[1::2] = np.arange(k) + k
    interleaved = pa.array(interleaved)
    kto = {key: values.take(twice) for key, values in out.items()}
    kto["prompt"] = prompt.take(twice)
    kto["completion"] = pa.concat_arrays([chosen, rejected]).take(interleaved)
    kto["label"] = pa.array(np.tile(np.array([True, False]), k), pa.bool_())
    kto["model"] = pa.concat_arrays([chosen_model, rejected_model]).take(interleaved)
    return kto
