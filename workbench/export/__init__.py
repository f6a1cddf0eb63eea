"""Dataset exports: streamed, deterministic files with a manifest (DESIGN.md §7).

No Flask here: exports take a SQLAlchemy ``Session`` and write files; the CLI and the web
layer decide where and when.
"""

from .judgments import JUDGMENTS_FILE, JUDGMENTS_PARQUET, export_judgments
from .preferences import (
    AGGREGATES,
    CARD_FILE,
    FORMATS,
    MANIFEST_FILE,
    PARQUET_FILE,
    PREFERENCES_FILE,
    SHAPES,
    TIE_POLICIES,
    ExportSummary,
    VersionExport,
    export_preferences,
)
from .votes import PairOutcome, aggregate_pair

__all__ = [
    "AGGREGATES",
    "CARD_FILE",
    "FORMATS",
    "JUDGMENTS_FILE",
    "JUDGMENTS_PARQUET",
    "MANIFEST_FILE",
    "PARQUET_FILE",
    "PREFERENCES_FILE",
    "SHAPES",
    "TIE_POLICIES",
    "ExportSummary",
    "PairOutcome",
    "VersionExport",
    "aggregate_pair",
    "export_judgments",
    "export_preferences",
]
