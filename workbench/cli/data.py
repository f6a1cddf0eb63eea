"""Data in and out: importing items and judgments, exporting datasets."""

from __future__ import annotations

import dataclasses
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from ..config import load_settings
from ..errors import InvalidInput, WorkbenchError
from ..words import counted
from . import main, open_session, report_failure, user_input

# -- import and export ------------------------------------------------------------------


IMPORT_FORMATS = ["auto", "jsonl", "csv", "parquet", "llmbar", "hh"]


def _import_source(file: str, fmt: str, bar=None):
    """(rows, unit, total units or None) of FILE; adapters have no known total."""
    from ..services.import_formats import open_source

    if fmt in ("llmbar", "hh"):
        return None, "line", None
    source = open_source(file, None if fmt == "auto" else fmt, progress=bar)
    return source.rows, source.unit, source.total


def _write_rejects(report_path: Path, rejected) -> None:
    with open(report_path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(error.as_dict(), ensure_ascii=False) + "\n" for error in rejected)


@contextmanager
def _progress(file: str, fmt: str, show: bool):
    """A progress bar over the file's bytes (rows for Parquet), on stderr."""
    from ..services.import_formats import guess_format

    if not show or fmt in ("llmbar", "hh"):
        yield None
        return
    kind = guess_format(file) if fmt == "auto" else fmt
    if kind == "parquet":
        import pyarrow.parquet as pq

        length = pq.ParquetFile(file).metadata.num_rows
    else:
        length = Path(file).stat().st_size
    with click.progressbar(length=length, label="importing", file=sys.stderr) as bar:
        yield bar.update


def _import_options(command):
    command = click.option(
        "--progress/--no-progress", default=True, show_default=True, help="Show a progress bar on stderr."
    )(command)
    command = click.option(
        "--report", "report_path", type=click.Path(dir_okay=False), default=None,
        help="With --skip-invalid: where to write the rejected rows as JSON Lines (default FILE.rejected.jsonl).",
    )(command)  # fmt: skip
    command = click.option(
        "--skip-invalid",
        is_flag=True,
        help="Import the good rows and report the bad ones instead of importing nothing.",
    )(command)
    return click.option(
        "--format", "fmt", type=click.Choice(IMPORT_FORMATS), default="auto", show_default=True,
        help="File layout; auto guesses from the extension (.jsonl[.gz], .csv, .parquet). llmbar and hh read those published datasets.",
    )(command)  # fmt: skip


def _finish_import(report, file: str, report_path: str | None, skip_invalid: bool) -> None:
    if skip_invalid and report.rejected:
        target = Path(report_path or f"{file}.rejected.jsonl")
        _write_rejects(target, report.rejected)
        click.echo(
            f"skipped {counted(report.skipped, 'row')} with {counted(len(report.rejected), 'problem')}; details in {target}"
        )


@main.command("import")
@click.argument("project")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_import_options
def import_command(project: str, file: str, fmt: str, skip_invalid: bool, report_path: str | None, progress: bool):
    """Import items from FILE (JSON Lines, CSV, Parquet, LLMBar, Anthropic HH) into PROJECT; all rows or none."""
    from ..services.adapters import adapter_items
    from ..services.imports import import_rows
    from ..services.projects import resolve_project

    with user_input():
        with open_session() as session, _progress(file, fmt, progress) as bar:
            if fmt in ("llmbar", "hh"):
                rows, unit = adapter_items(fmt, file), "line"
            else:
                rows, unit, _ = _import_source(file, fmt, bar)
            report = import_rows(session, resolve_project(session, project), rows, skip_invalid=skip_invalid, unit=unit)
        click.echo(f"imported {counted(report.imported, 'item')}; {report.duplicates} already present, left unchanged")
        _finish_import(report, file, report_path, skip_invalid)


@main.command("import-judgments")
@click.argument("project")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_import_options
@click.option(
    "--question", default=None, help="For llmbar/hh: the pairwise question the labels answer; default: the first."
)
@click.option("--rater", default=None, help="For llmbar/hh: the external rater name given to the labels.")
@click.option(
    "--machine-rater",
    "machine_raters",
    multiple=True,
    help="A rater in FILE that is a machine (an LLM judge, a script), not a person; repeatable.",
)
@click.option(
    "--repeats",
    type=click.Choice(["refuse", "keep-first", "keep-last", "as-repeats"]),
    default="refuse",
    show_default=True,
    help="Rows repeating a (rater, item): refuse the file, keep the first or the last, or store the second as a repeat (intra-rater consistency, never a vote).",
)
def import_judgments_command(
    project: str,
    file: str,
    fmt: str,
    skip_invalid: bool,
    report_path: str | None,
    progress: bool,
    question,
    rater,
    machine_raters,
    repeats,
):
    """Import judgments {item_id, rater, answers, submitted_at?} from FILE; raters become external raters."""
    from ..rubric.questions import Questions
    from ..services.adapters import adapter_judgments
    from ..services.judgment_import import import_judgments
    from ..services.projects import resolve_project
    from ..services.rubrics import current_version

    with user_input():
        with open_session() as session, _progress(file, fmt, progress) as bar:
            target = resolve_project(session, project)
            if fmt in ("llmbar", "hh"):
                document = current_version(session, target).document
                qid = question or next((q.id for q in Questions.of(document).of_type("pairwise")), None)
                if qid is None:
                    raise InvalidInput(f"project {target.name!r} has no pairwise question for {fmt} labels")
                rows, unit = adapter_judgments(fmt, file, qid, rater), "line"
            else:
                rows, unit, _ = _import_source(file, fmt, bar)
            report = import_judgments(
                session,
                target,
                rows,
                skip_invalid=skip_invalid,
                unit=unit,
                machine_raters=machine_raters,
                repeats=repeats,
            )
        repeated = ""
        if report.repeats_stored or report.repeats_dropped:
            repeated = f"; repeated rows: {report.repeats_stored} stored as repeats, {report.repeats_dropped} dropped"
        click.echo(
            f"imported {counted(report.imported, 'judgment')}; {report.duplicates} already present, left unchanged; "
            f"{counted(report.raters_created, 'new external rater')}{repeated}"
        )
        _finish_import(report, file, report_path, skip_invalid)


@main.command("export")
@click.argument("project")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option(
    "--question", default=None,
    help="Pairwise question to export (default: the first); single-response projects: the scale question "
    "whose mean rates a response (default: overall, else the first).",
)  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["jsonl", "parquet", "both"]), default="both", show_default=True)
@click.option(
    "--shape",
    type=click.Choice(["auto", "standard", "conversational", "kto", "reward", "binarized", "sft"]),
    default="auto",
    show_default=True,
    help="Pairwise projects: auto, standard, conversational, kto, reward. Single-response projects: "
    "binarized (the default), kto, reward, sft.",
)
@click.option(
    "--pairs",
    type=click.Choice(["best-random", "best-worst", "all"]),
    default="best-random",
    show_default=True,
    help="binarized: the best response against a seeded random lower one, against the worst, or every pair.",
)
@click.option("--min-gap", type=float, default=None, help="binarized: the least difference of means in a pair.")
@click.option("--seed", type=int, default=0, show_default=True, help="binarized best-random: the draw's seed.")
@click.option("--threshold", type=float, default=None, help="kto and sft: the least mean rating that counts as good.")
@click.option("--normalize", is_flag=True, help="reward: map the scale onto 0..1.")
@click.option(
    "--aggregate", type=click.Choice(["majority", "mean_strength", "dawid_skene", "per_rater"]), default="majority",
    show_default=True, help="How the ratings of an item become rows; per_rater writes one row per judgment.",
)  # fmt: skip
@click.option("--ties", type=click.Choice(["drop", "keep", "split"]), default="drop", show_default=True)
@click.option("--min-raters", default=1, show_default=True)
@click.option(
    "--min-agreement", default=0.0, show_default=True, help="Drop items whose top choice has a smaller share."
)
@click.option("--rubric-version", type=int, default=None, help="Only judgments made under this rubric version.")
@click.option("--exclude-flagged", is_flag=True, help="Leave out every rater the calibration flags.")
@click.option("--include-gold", is_flag=True, help="Keep gold items and honeypots (left out by default).")
@click.option(
    "--alpha-resamples", default=1000, show_default=True, help="Bootstrap resamples for alpha's CI in the manifest."
)
@click.option(
    "--labels", type=click.Choice(["humans", "judge-accepted", "both"]), default="humans", show_default=True,
    help="Whose answers become rows: raters', a judge's accepted labels (judge escalate), or both.",
)  # fmt: skip
@click.option("--judge", default=None, help="With judge labels: the judge (needed when several have accepted labels).")
@click.option("--judgments", "raw", is_flag=True, help="Export the raw judgments (one row per judgment) instead.")
def export_command(
    project: str, out_dir: str, question: str | None, fmt: str, shape: str, aggregate: str, ties: str,
    min_raters: int, min_agreement: float, rubric_version: int | None, exclude_flagged: bool,
    include_gold: bool, alpha_resamples: int, labels: str, judge: str | None, raw: bool, pairs: str,
    min_gap: float | None, seed: int, threshold: float | None, normalize: bool,
):  # fmt: skip
    """Export PROJECT's preferences or ratings (TRL shapes, JSONL/Parquet) with manifest.json and a dataset card.

    A single-response project's ratings become preference pairs, KTO, reward or SFT rows.
    """
    from ..export import ExportOptions, export_dataset, export_judgments
    from ..services.calibration import parse_thresholds
    from ..services.projects import resolve_project

    formats = ("jsonl", "parquet") if fmt == "both" else (fmt,)
    try:
        with open_session() as session:
            target = resolve_project(session, project)
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            if raw:
                summary = export_judgments(session, target, Path(out_dir), formats=formats, include_gold=include_gold)
            else:
                options = ExportOptions(
                    question_id=question, shape=shape, formats=formats, aggregate=aggregate, ties=ties,
                    min_raters=min_raters, min_agreement=min_agreement, rubric_version=rubric_version,
                    exclude_flagged_raters=exclude_flagged, include_gold=include_gold, alpha_resamples=alpha_resamples,
                    labels=labels, judge=judge, pairs=pairs, min_gap=min_gap, seed=seed, threshold=threshold,
                    normalize=normalize,
                )  # fmt: skip
                thresholds = parse_thresholds(load_settings()["CALIBRATION_THRESHOLDS"])
                summary = export_dataset(session, target, Path(out_dir), options, thresholds)
        click.echo(json.dumps(dataclasses.asdict(summary), default=str, indent=2))
    except WorkbenchError as exc:
        report_failure(exc)
