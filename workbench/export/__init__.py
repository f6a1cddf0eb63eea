"""Dataset exports: streamed, deterministic files with a manifest (DESIGN.md §7).

No Flask here: exports take a SQLAlchemy ``Session`` and write files; the CLI and the web
layer decide where and when, and describe what to export with one ``ExportOptions``.
"""

from .count import PreferenceCounts, count_preferences
from .datasets import count_dataset, dataset_file_name, export_dataset
from .judgments import JUDGMENTS_FILE, JUDGMENTS_PARQUET, export_judgments
from .options import (
    AGGREGATES,
    FORMATS,
    LABELS,
    PAIRINGS,
    PAIRWISE_SHAPES,
    RATING_SHAPES,
    SHAPES,
    TIE_POLICIES,
    ExportOptions,
)
from .preferences import (
    CARD_FILE,
    MANIFEST_FILE,
    PARQUET_FILE,
    PREFERENCES_FILE,
    ExportSummary,
    VersionExport,
    export_preferences,
)
from .ratings import RatingExportSummary, count_ratings, export_ratings

__all__ = [
    "AGGREGATES",
    "CARD_FILE",
    "FORMATS",
    "JUDGMENTS_FILE",
    "JUDGMENTS_PARQUET",
    "LABELS",
    "PAIRINGS",
    "PAIRWISE_SHAPES",
    "RATING_SHAPES",
    "RatingExportSummary",
    "MANIFEST_FILE",
    "PARQUET_FILE",
    "PREFERENCES_FILE",
    "SHAPES",
    "TIE_POLICIES",
    "ExportOptions",
    "ExportSummary",
    "PreferenceCounts",
    "VersionExport",
    "count_dataset",
    "dataset_file_name",
    "dataset_file_name",
    "count_preferences",
    "count_ratings",
    "export_ratings",
    "export_dataset",
    "export_judgments",
    "export_preferences",
]
