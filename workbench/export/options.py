"""What a preference export was asked for: the allowed choices, their checks, and the columns they imply.

``ExportOptions`` is the checked, resolved form of ``export_preferences``' keyword
arguments (``shape`` is never ``auto`` here). ``columns_for`` lists the output columns in
Parquet order and ``arrow_schema`` gives their fixed types; the manifest and the dataset
card repeat both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

import pyarrow as pa

from ..errors import FieldError, InvalidInput

SHAPES = ("auto", "standard", "conversational", "kto", "reward")
AGGREGATES = ("majority", "mean_strength", "dawid_skene", "per_rater")
TIE_POLICIES = ("drop", "keep", "split")
FORMATS = ("jsonl", "parquet")

# Rows read from the database per round trip, and the unit of work of the vote arithmetic.
DEFAULT_BATCH_SIZE = 2_500

MARGIN = {
    "majority": "mean signed strength toward chosen (tie 0, missing strength 1)",
    "mean_strength": "absolute mean signed strength (tie 0, missing strength 1)",
    "dawid_skene": "Dawid-Skene posterior of chosen minus posterior of rejected",
    "per_rater": "the rater's strength (tie 0, missing strength 1)",
}
TIES = {
    "drop": "ties left out",
    "keep": "one row per tie, A as chosen, tie=true, margin 0",
    "split": "two rows per tie (both orders), weight 0.5 each",
}


@dataclass(frozen=True)
class ExportOptions:
    shape: str
    conversational: bool
    aggregate: str
    ties: str
    min_raters: int
    min_agreement: float
    include_gold: bool
    excluded: tuple[int, ...]
    batch_size: int
    prefer_adjudicated: bool = True


def refuse(location: str, message: str) -> NoReturn:
    raise InvalidInput("cannot export preferences", [FieldError(location, message)])


def check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        refuse(name, f"{name} must be a whole number of at least 1")


def check_one_of(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        refuse(name, f"{value!r} is not one of {', '.join(allowed)}")


def columns_for(opts: ExportOptions) -> list[str]:
    """The output columns, in Parquet order."""
    if opts.shape == "kto":
        cols = ["prompt", "completion", "label", "model"]
    else:
        cols = ["prompt", "chosen", "rejected", "chosen_model", "rejected_model"]
    cols += ["margin", "n_ratings", "agreement", "item_id", "rubric", "rubric_version", "rubric_version_sha256"]
    if opts.ties != "drop":
        cols += ["tie", "weight"]
    if opts.aggregate == "per_rater":
        cols.append("rater")
    if opts.aggregate == "dawid_skene":
        cols.append("posterior")
    return cols


MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def arrow_schema(columns: Sequence[str], conversational: bool) -> pa.Schema:
    text = MESSAGES if conversational else pa.string()
    types = {
        "prompt": text, "chosen": text, "rejected": text, "completion": text, "label": pa.bool_(),
        "model": pa.string(), "chosen_model": pa.string(), "rejected_model": pa.string(),
        "margin": pa.float64(), "n_ratings": pa.int32(), "agreement": pa.float64(), "item_id": pa.string(),
        "rubric": pa.string(), "rubric_version": pa.int32(), "rubric_version_sha256": pa.string(),
        "tie": pa.bool_(), "weight": pa.float64(), "rater": pa.string(), "posterior": pa.float64(),
    }  # fmt: skip
    return pa.schema([pa.field(c, types[c], nullable=c not in ("prompt", "item_id")) for c in columns])
