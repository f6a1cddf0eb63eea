"""The export a project's kind calls for: preferences for pairwise projects, ratings for single ones."""

from __future__ import annotations

from ..domain import TaskKind
from .count import count_preferences
from .preferences import PARQUET_FILE, PREFERENCES_FILE, export_preferences
from .rating_plan import rating_shape
from .ratings import count_ratings, export_ratings


def export_dataset(session, project, out_dir, options, calibration_thresholds=None):
    """``export_ratings`` for a single-response project, else ``export_preferences``."""
    run = export_ratings if project.task_kind == TaskKind.SINGLE else export_preferences
    return run(session, project, out_dir, options, calibration_thresholds)


def count_dataset(session, project, options, calibration_thresholds=None):
    """What ``export_dataset`` would write: ``PreferenceCounts``, or the rating counts (a dict)."""
    run = count_ratings if project.task_kind == TaskKind.SINGLE else count_preferences
    return run(session, project, options, calibration_thresholds)


def dataset_file_name(project, options, fmt: str) -> str:
    """The data file ``export_dataset`` writes in format ``fmt`` (``jsonl`` or ``parquet``)."""
    if project.task_kind == TaskKind.SINGLE:
        return f"{rating_shape(options)}.{fmt}"
    return PREFERENCES_FILE if fmt == "jsonl" else PARQUET_FILE
