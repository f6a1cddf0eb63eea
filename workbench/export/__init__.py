"""Dataset exports: streamed, deterministic files with a manifest (DESIGN.md §7).

No Flask here: exports take a SQLAlchemy ``Session`` and write files; the CLI and the web
layer decide where and when.
"""

from .preferences import (
    MANIFEST_FILE,
    PREFERENCES_FILE,
    ExportSummary,
    PairOutcome,
    VersionExport,
    aggregate_pair,
    export_preferences,
)

__all__ = [
    "MANIFEST_FILE",
    "PREFERENCES_FILE",
    "ExportSummary",
    "PairOutcome",
    "VersionExport",
    "aggregate_pair",
    "export_preferences",
]
