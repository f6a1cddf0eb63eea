"""What a preference export is asked for (``ExportOptions``), and the columns that implies.

``ExportOptions`` is the one value the CLI, the export page and the research API build;
it checks itself when made, so a bad choice is refused before anything is read.
``Plan`` is those options resolved against the project's data (``plan.make_plan``):
the shape ``auto`` stands for, whether prompts are chat messages, the raters left out,
and the rubric versions and questions to export. ``columns_for`` lists the output
columns in Parquet order and ``arrow_schema`` gives their fixed types; the manifest and
the dataset card repeat both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

import pyarrow as pa

from ..errors import FieldError, InvalidInput, json_text

SHAPES = ("auto", "standard", "conversational", "kto", "reward", "binarized", "sft")
# Shapes of each kind of project: pairwise preferences, and single-response ratings.
PAIRWISE_SHAPES = ("auto", "standard", "conversational", "kto", "reward")
RATING_SHAPES = ("auto", "binarized", "kto", "reward", "sft")
PAIRINGS = ("best-random", "best-worst", "all")
AGGREGATES = ("majority", "mean_strength", "dawid_skene", "per_rater")
TIE_POLICIES = ("drop", "keep", "split")
FORMATS = ("jsonl", "parquet")
LABELS = ("humans", "judge-accepted", "both")

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


def refuse(location: str, message: str) -> NoReturn:
    raise InvalidInput("cannot export preferences", [FieldError(location, message)])


def _check_count(name: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        refuse(name, f"{name} must be a whole number of at least {least}")


def _check_one_of(name: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        refuse(name, f"{json_text(value)} is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class ExportOptions:
    """The choices of one preference export (see ``preferences`` for what each does).

    ``question_id`` None takes each rubric version's first pairwise question;
    ``rubric_version`` None exports every judged version. ``labels`` says whose answers
    become rows: the raters' (``humans``), the labels a judge was trusted with by
    ``judge escalate`` (``judge-accepted``), or both, a judge's label only where no rater
    answered (``judge`` names the judge; needed when several have accepted labels).
    ``pairs``, ``min_gap``, ``seed``, ``threshold`` and ``normalize`` apply to
    single-response projects (``export.ratings``). ``alpha_resamples`` 0 gives
    alpha without its bootstrap CI. ``created_at``, when given, is recorded in the
    manifest (leave it out for a byte-identical manifest). ``batch_size`` is how many
    rows are read per round trip; it does not change the output.
    """

    question_id: str | None = None
    shape: str = "auto"
    formats: tuple[str, ...] = ("jsonl",)
    aggregate: str = "majority"
    ties: str = "drop"
    min_raters: int = 1
    min_agreement: float = 0.0
    rubric_version: int | None = None
    exclude_flagged_raters: bool = False
    include_gold: bool = False
    prefer_adjudicated: bool = True
    alpha_resamples: int = 1000
    created_at: datetime | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    labels: str = "humans"
    judge: str | None = None
    pairs: str = "best-random"
    min_gap: float | None = None
    seed: int = 0
    threshold: float | None = None
    normalize: bool = False

    def __post_init__(self) -> None:
        formats = (self.formats,) if isinstance(self.formats, str) else tuple(dict.fromkeys(self.formats))
        object.__setattr__(self, "formats", formats)
        if not formats:
            refuse("formats", "give at least one of jsonl, parquet")
        for fmt in formats:
            _check_one_of("formats", fmt, FORMATS)
        _check_one_of("shape", self.shape, SHAPES)
        _check_one_of("aggregate", self.aggregate, AGGREGATES)
        _check_one_of("ties", self.ties, TIE_POLICIES)
        _check_one_of("labels", self.labels, LABELS)
        if self.judge is not None and self.labels == "humans":
            refuse("judge", "a judge is named only with labels judge-accepted or both")
        _check_count("min_raters", self.min_raters, 1)
        _check_count("batch_size", self.batch_size, 1)
        _check_count("alpha_resamples", self.alpha_resamples, 0)
        agreement = self.min_agreement
        if isinstance(agreement, bool) or not isinstance(agreement, int | float) or not 0 <= agreement <= 1:
            refuse("min_agreement", "min_agreement must be a number from 0 to 1")
        object.__setattr__(self, "min_agreement", float(agreement))
        _check_one_of("pairs", self.pairs, PAIRINGS)
        _check_count("seed", self.seed, 0)
        for name in ("min_gap", "threshold"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            ):
                refuse(name, f"{name} must be a finite number")
        if self.min_gap is not None and self.min_gap <= 0:
            refuse("min_gap", "min_gap must be above 0 (equal means never make a pair)")
        if self.shape == "kto" and self.ties != "drop":
            refuse("ties", "KTO rows cannot say 'tie'; use ties=drop with the kto shape")


@dataclass(frozen=True)
class Plan:
    """``ExportOptions`` resolved against the project's data.

    ``shape`` is never ``auto``; ``conversational`` says whether prompts and responses
    are written as message lists; ``excluded`` are the ids of the raters left out;
    ``versions`` pairs each judged rubric version with the question exported for it
    (None: skipped, its counts are zero); ``question_id`` is the manifest's headline
    question. With judge labels, ``judge`` is the ``Judge`` whose accepted labels are
    exported and ``judge_versions`` pairs the versions of its accepted verdicts with their
    questions; ``versions`` is empty for ``judge-accepted``.
    """

    options: ExportOptions
    shape: str
    conversational: bool
    excluded: tuple[int, ...]
    versions: tuple[tuple[Any, str | None], ...]
    question_id: str | None
    slug: str
    judge: Any = None
    judge_versions: tuple[tuple[Any, str | None], ...] = ()

    @property
    def per_rater(self) -> bool:
        return self.options.aggregate == "per_rater"


def columns_for(plan: Plan) -> list[str]:
    """The output columns, in Parquet order."""
    opts = plan.options
    if plan.shape == "kto":
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
    if opts.labels != "humans":
        cols += ["source", "judge", "judge_confidence"]
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
        "source": pa.string(), "judge": pa.string(), "judge_confidence": pa.float64(),
    }  # fmt: skip
    return pa.schema([pa.field(c, types[c], nullable=c not in ("prompt", "item_id")) for c in columns])
