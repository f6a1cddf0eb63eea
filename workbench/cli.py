"""The ``workbench`` command. Printing and formatting live here and nowhere else."""

from __future__ import annotations

import dataclasses
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from . import __version__
from .config import load_settings
from .db import make_engine
from .errors import InvalidInput, WorkbenchError
from .jsonable import jsonable
from .paths import DEMO_DIR, resource_dir


def _fail(message: str, code: int = 1):
    click.echo(message, err=True)
    sys.exit(code)


@contextmanager
def open_session(upgrade: bool = False):
    """A session on the configured database that commits if the block succeeds."""
    url = load_settings()["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if upgrade:
        from .migrate import upgrade as run_upgrade

        run_upgrade(url)
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("alembic_version"):
            _fail(f"The database at {engine.url.render_as_string(hide_password=True)} has no tables yet: run `workbench db upgrade`.")
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        engine.dispose()


def _report(exc: WorkbenchError) -> None:
    _fail(f"error: {exc}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workbench")
def main():
    """workbench: rate LLM outputs against versioned rubrics, measure agreement, export preferences.

    Settings come from WORKBENCH_* environment variables (see the README).
    """


# -- database ---------------------------------------------------------------------------


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str):
    """Apply the migrations (creates the database if needed)."""
    from .migrate import upgrade

    url = load_settings()["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url, revision)
    click.echo(f"database at {make_engine(url).url.render_as_string(hide_password=True)} is at {revision}")


# -- users ------------------------------------------------------------------------------


@main.group()
def users():
    """Accounts and roles."""


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["rater", "author", "researcher", "admin"]), default="rater", show_default=True)
@click.option("--name", default="")
@click.option("--machine", is_flag=True, help="A machine rater (LLM judge or script); reported apart from humans.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters.")
def users_create(email: str, role: str, name: str, machine: bool, password: str):
    """Create a user who logs in with EMAIL."""
    from .services.users import create_user

    try:
        with open_session() as session:
            user = create_user(session, email, role, password, name=name, is_machine=machine)
            click.echo(f"created {'machine ' if machine else ''}{user.role.value} {user.email}")
    except WorkbenchError as exc:
        _report(exc)


@main.group()
def tokens():
    """API bearer tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="", help="A label for the token.")
def tokens_create(email: str, name: str):
    """Create an API token for EMAIL and print it once (only its hash is stored)."""
    from .services.users import create_api_token, get_user_by_email

    try:
        with open_session() as session:
            token = create_api_token(session, get_user_by_email(session, email), name)
        click.echo(token)
    except WorkbenchError as exc:
        _report(exc)


# -- rubrics ----------------------------------------------------------------------------


@main.group()
def rubrics():
    """Rubric files."""


def _rubric_files(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml", ".json"} and not p.name.endswith(".schema.json"))
        else:
            files.append(path)
    return files


@rubrics.command("validate")
@click.argument("paths", nargs=-1, required=True)
def rubrics_validate(paths: tuple[str, ...]):
    """Check rubric files (or folders of them) against rubrics/rubric.schema.json."""
    from .rubric import load_rubric_file

    bad = 0
    for path in _rubric_files(paths):
        try:
            doc = load_rubric_file(path)
            click.echo(f"ok   {path}  ({doc.slug}, sha256 {doc.sha256[:12]})")
        except InvalidInput as exc:
            bad += 1
            click.echo(f"FAIL {exc.summary}")
            for error in exc.errors:
                click.echo(f"     {error}")
    if bad:
        sys.exit(1)


@rubrics.command("load")
@click.argument("paths", nargs=-1, required=True)
@click.option("-m", "--changelog", default="", help="The changelog line of any new version.")
def rubrics_load(paths: tuple[str, ...], changelog: str):
    """Store rubric files as published versions (same content = same version)."""
    from .rubric import load_rubric_file
    from .services.rubrics import load_rubric

    try:
        with open_session() as session:
            for path in _rubric_files(paths):
                outcome = load_rubric(session, load_rubric_file(path), changelog=changelog)
                state = "new" if outcome.created else "unchanged"
                click.echo(f"{outcome.version.rubric.slug} v{outcome.version.number} ({state})")
    except WorkbenchError as exc:
        _report(exc)


@rubrics.command("versions")
@click.argument("slug")
def rubrics_versions(slug: str):
    """List the versions of rubric SLUG: number, status, sha256 and changelog."""
    from .services.rubric_versions import versions_of
    from .services.rubrics import get_rubric

    try:
        with open_session() as session:
            for v in versions_of(session, get_rubric(session, slug)):
                sha = v.content_sha256[:12] if v.status.value != "draft" else "(draft)"
                click.echo(f"v{v.number:<3} {v.status.value:<9} {sha:<12}  {v.changelog}")
    except WorkbenchError as exc:
        _report(exc)


@rubrics.command("retire")
@click.argument("slug")
@click.argument("number", type=int)
def rubrics_retire(slug: str, number: int):
    """Retire version NUMBER of rubric SLUG: no new tasks use it; its judgments stay."""
    from .services.rubric_versions import get_version, retire_version

    try:
        with open_session() as session:
            retire_version(session, get_version(session, slug, number))
        click.echo(f"{slug} v{number} retired")
    except WorkbenchError as exc:
        _report(exc)


@rubrics.command("dump")
@click.argument("slug")
@click.option("--version", "number", type=int, default=None, help="Version number; default: the latest published.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default="-", help="File to write; default: standard output.")
@click.option("--json", "as_json", is_flag=True, help="Write JSON instead of YAML.")
def rubrics_dump(slug: str, number: int | None, output: str, as_json: bool):
    """Write a stored version of rubric SLUG back as a rubric file."""
    from .rubric.files import dump_rubric_text
    from .services.rubric_versions import file_document, get_version, latest_version
    from .services.rubrics import get_rubric

    try:
        with open_session() as session:
            rubric = get_rubric(session, slug)
            version = latest_version(session, rubric, published_only=True) if number is None else get_version(session, slug, number)
            text = dump_rubric_text(file_document(version), "json" if as_json else "yaml")
    except WorkbenchError as exc:
        _report(exc)
    with click.open_file(output, "w", encoding="utf-8") as out:
        out.write(text)
    if output != "-":
        click.echo(f"wrote {slug} v{version.number} ({version.status.value}) to {output}", err=True)


# -- projects, import, export -----------------------------------------------------------


@main.group()
def projects():
    """Rating projects."""


@projects.command("create")
@click.argument("name")
@click.option("--rubric", "rubric_slug", required=True, help="Rubric slug (load it first).")
@click.option("--overlap", default=3, show_default=True, help="Judgments wanted per item.")
@click.option("--pin-version", type=int, default=None, help="Pin a rubric version; default: follow the latest published.")
@click.option("--gold-rate", type=float, default=0.0, show_default=True, help="Share of items shown that are gold checks.")
@click.option("--qualification", "qualification_items", type=int, default=0, show_default=True,
              help="Gold items a new rater answers before live work.")
@click.option("--min-accuracy", type=float, default=0.0, show_default=True, help="Share of the qualification set to get right.")
@click.option("--silent-gold", is_flag=True, help="Do not show raters the expected answer when they miss a gold item.")
@click.option("--repeat-rate", type=float, default=0.0, show_default=True,
              help="Share of items shown again later with sides swapped (a consistency check).")
def projects_create(name: str, rubric_slug: str, overlap: int, pin_version: int | None, gold_rate: float,
                    qualification_items: int, min_accuracy: float, silent_gold: bool, repeat_rate: float):
    """Create a project NAME rated with a rubric."""
    from .services.projects import create_project

    try:
        with open_session() as session:
            project = create_project(
                session, name, rubric_slug, overlap_k=overlap, pin_version=pin_version, gold_rate=gold_rate,
                qualification_items=qualification_items, qualification_min_accuracy=min_accuracy,
                gold_feedback=not silent_gold, repeat_rate=repeat_rate,
            )
            click.echo(f"created project {project.id} {project.name!r} ({project.task_kind.value}, overlap {overlap})")
    except WorkbenchError as exc:
        _report(exc)


@projects.command("list")
def projects_list():
    """List projects with their progress."""
    from .services.projects import list_projects, project_progress

    with open_session() as session:
        for project in list_projects(session):
            p = project_progress(session, project)
            click.echo(f"{project.id:>4}  {project.name}  items={p.items}  judgments={p.judgments}/{p.target_judgments}")


@projects.command("honeypots")
@click.argument("project")
@click.option("--count", default=10, show_default=True, help="Honeypots to add.")
@click.option("--seed", default=0, show_default=True, help="Seed for choosing sources and degradations.")
def projects_honeypots(project: str, count: int, seed: int):
    """Add pairwise honeypots to PROJECT: a real response against a degraded copy of itself."""
    from .services.honeypots import generate_honeypots
    from .services.projects import resolve_project

    try:
        with open_session() as session:
            report = generate_honeypots(session, resolve_project(session, project), count, seed)
        methods = ", ".join(f"{n} {m}" for m, n in report.by_method.items() if n)
        click.echo(f"added {report.created} honeypot(s) ({methods or 'none'}); {report.existing} already present")
    except WorkbenchError as exc:
        _report(exc)


IMPORT_FORMATS = ["auto", "jsonl", "csv", "parquet", "llmbar", "hh"]


def _import_source(file: str, fmt: str, bar=None):
    """(rows, unit, total units or None) of FILE; adapters have no known total."""
    from .services.import_formats import open_source

    if fmt in ("llmbar", "hh"):
        return None, "line", None
    source = open_source(file, None if fmt == "auto" else fmt, progress=bar)
    return source.rows, source.unit, source.total


def _write_rejects(report_path: Path, rejected) -> None:
    with open(report_path, "w", encoding="utf-8") as fh:
        for error in rejected:
            fh.write(json.dumps(error.as_dict(), ensure_ascii=False) + "\n")


@contextmanager
def _progress(file: str, fmt: str, show: bool):
    """A progress bar over the file's bytes (rows for Parquet), on stderr."""
    from .services.import_formats import guess_format

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
    command = click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar on stderr.")(command)
    command = click.option(
        "--report", "report_path", type=click.Path(dir_okay=False), default=None,
        help="With --skip-invalid: where to write the rejected rows as JSON Lines (default FILE.rejected.jsonl).",
    )(command)  # fmt: skip
    command = click.option("--skip-invalid", is_flag=True, help="Import the good rows and report the bad ones instead of importing nothing.")(command)
    return click.option(
        "--format", "fmt", type=click.Choice(IMPORT_FORMATS), default="auto", show_default=True,
        help="File layout; auto guesses from the extension (.jsonl[.gz], .csv, .parquet). llmbar and hh read those published datasets.",
    )(command)  # fmt: skip


def _finish_import(report, file: str, report_path: str | None, skip_invalid: bool) -> None:
    if skip_invalid and report.rejected:
        target = Path(report_path or f"{file}.rejected.jsonl")
        _write_rejects(target, report.rejected)
        click.echo(f"skipped {report.skipped} row(s) with {len(report.rejected)} problem(s); details in {target}")


@main.command("import")
@click.argument("project")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_import_options
def import_command(project: str, file: str, fmt: str, skip_invalid: bool, report_path: str | None, progress: bool):
    """Import items from FILE (JSON Lines, CSV, Parquet, LLMBar, Anthropic HH) into PROJECT; all rows or none."""
    from .services.adapters import adapter_items
    from .services.imports import import_rows
    from .services.projects import resolve_project

    try:
        with open_session() as session, _progress(file, fmt, progress) as bar:
            if fmt in ("llmbar", "hh"):
                rows, unit = adapter_items(fmt, file), "line"
            else:
                rows, unit, _ = _import_source(file, fmt, bar)
            report = import_rows(session, resolve_project(session, project), rows, skip_invalid=skip_invalid, unit=unit)
        click.echo(f"imported {report.imported} item(s); {report.duplicates} already present, left unchanged")
        _finish_import(report, file, report_path, skip_invalid)
    except (WorkbenchError, ValueError) as exc:
        _fail(f"error: {exc}")


@main.command("import-judgments")
@click.argument("project")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_import_options
@click.option("--question", default=None, help="For llmbar/hh: the pairwise question the labels answer; default: the first.")
@click.option("--rater", default=None, help="For llmbar/hh: the external rater name given to the labels.")
def import_judgments_command(
    project: str, file: str, fmt: str, skip_invalid: bool, report_path: str | None, progress: bool, question, rater
):
    """Import judgments {item_id, rater, answers, submitted_at?} from FILE; raters become external raters."""
    from .services.adapters import adapter_judgments
    from .services.judgment_import import import_judgments
    from .services.projects import resolve_project
    from .services.rubrics import current_version

    try:
        with open_session() as session, _progress(file, fmt, progress) as bar:
            target = resolve_project(session, project)
            if fmt in ("llmbar", "hh"):
                document = current_version(session, target).document
                qid = question or next((q["id"] for q in document["questions"] if q["type"] == "pairwise"), None)
                if qid is None:
                    raise InvalidInput(f"project {target.name!r} has no pairwise question for {fmt} labels")
                rows, unit = adapter_judgments(fmt, file, qid, rater), "line"
            else:
                rows, unit, _ = _import_source(file, fmt, bar)
            report = import_judgments(session, target, rows, skip_invalid=skip_invalid, unit=unit)
        click.echo(
            f"imported {report.imported} judgment(s); {report.duplicates} already present, left unchanged; "
            f"{report.raters_created} new external rater(s)"
        )
        _finish_import(report, file, report_path, skip_invalid)
    except (WorkbenchError, ValueError) as exc:
        _fail(f"error: {exc}")


@main.command("export")
@click.argument("project")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--question", default=None, help="Pairwise question to export; default: the first.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "parquet", "both"]), default="both", show_default=True)
@click.option("--shape", type=click.Choice(["auto", "standard", "conversational", "kto", "reward"]), default="auto", show_default=True)
@click.option(
    "--aggregate", type=click.Choice(["majority", "mean_strength", "dawid_skene", "per_rater"]), default="majority",
    show_default=True, help="How the ratings of an item become rows; per_rater writes one row per judgment.",
)  # fmt: skip
@click.option("--ties", type=click.Choice(["drop", "keep", "split"]), default="drop", show_default=True)
@click.option("--min-raters", default=1, show_default=True)
@click.option("--min-agreement", default=0.0, show_default=True, help="Drop items whose top choice has a smaller share.")
@click.option("--rubric-version", type=int, default=None, help="Only judgments made under this rubric version.")
@click.option("--exclude-flagged", is_flag=True, help="Leave out every rater the calibration flags.")
@click.option("--include-gold", is_flag=True, help="Keep gold items and honeypots (left out by default).")
@click.option("--alpha-resamples", default=1000, show_default=True, help="Bootstrap resamples for alpha's CI in the manifest.")
@click.option("--judgments", "raw", is_flag=True, help="Export the raw judgments (one row per judgment) instead.")
def export_command(
    project: str, out_dir: str, question: str | None, fmt: str, shape: str, aggregate: str, ties: str,
    min_raters: int, min_agreement: float, rubric_version: int | None, exclude_flagged: bool,
    include_gold: bool, alpha_resamples: int, raw: bool,
):  # fmt: skip
    """Export PROJECT's preferences (TRL shapes, JSONL/Parquet) with manifest.json and a dataset card."""
    from .export import export_judgments, export_preferences
    from .services.calibration import parse_thresholds
    from .services.projects import resolve_project

    formats = ("jsonl", "parquet") if fmt == "both" else (fmt,)
    try:
        with open_session() as session:
            target = resolve_project(session, project)
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            if raw:
                summary = export_judgments(session, target, Path(out_dir), formats=formats, include_gold=include_gold)
            else:
                summary = export_preferences(
                    session, target, Path(out_dir), question_id=question, min_raters=min_raters, shape=shape,
                    formats=formats, aggregate=aggregate, ties=ties, min_agreement=min_agreement,
                    rubric_version=rubric_version, exclude_flagged_raters=exclude_flagged,
                    calibration_thresholds=parse_thresholds(load_settings()["CALIBRATION_THRESHOLDS"]),
                    include_gold=include_gold, alpha_resamples=alpha_resamples,
                )  # fmt: skip
        click.echo(json.dumps(dataclasses.asdict(summary), default=str, indent=2))
    except WorkbenchError as exc:
        _report(exc)


# -- statistics -------------------------------------------------------------------------


@main.command("alpha")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--level", type=click.Choice(["nominal", "ordinal", "interval", "ratio"]), required=True)
@click.option("--bootstrap", "n_resamples", default=0, show_default=True, help="Bootstrap resamples for a 95% CI (0 = none).")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def alpha_command(file: str, level: str, n_resamples: int, seed: int, as_json: bool):
    """Krippendorff's alpha of a raters × units CSV (first column `rater`, blank = missing)."""
    from .domain import Level
    from .stats.alpha import alpha_from_matrix
    from .stats.reliability_table import parse_reliability_table

    try:
        table = parse_reliability_table(Path(file).read_text(encoding="utf-8"))
        if not table.is_numeric and level != "nominal":
            raise InvalidInput(f"{file} holds categories (non-numeric values); only --level nominal applies")
        result = alpha_from_matrix(table.matrix, Level(level), n_resamples=n_resamples, seed=seed)
    except (WorkbenchError, ValueError) as exc:
        _fail(f"error: {exc}")
    payload = {
        "file": file,
        "level": level,
        "alpha": result.alpha,
        "raters": len(table.raters),
        "units": result.n_units,
        "units_dropped": result.n_units_dropped,
        "values": result.n_values,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "resamples": result.n_resamples,
        "method": result.method,
    }
    if as_json:
        click.echo(json.dumps(payload))
        return
    alpha_text = "undefined" if result.alpha is None else f"{result.alpha:.4f}"
    click.echo(f"Krippendorff's alpha ({level}) = {alpha_text}")
    click.echo(f"  {len(table.raters)} raters, {result.n_units} pairable units, {result.n_values} values, {result.n_units_dropped} unit(s) with < 2 values left out")
    if result.ci_low is not None:
        click.echo(f"  95% CI [{result.ci_low:.4f}, {result.ci_high:.4f}] ({result.method})")


@main.command("agreement")
@click.argument("project")
@click.option("--bootstrap", "n_resamples", default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def agreement_command(project: str, n_resamples: int, as_json: bool):
    """Alpha with a 95% CI per question and rubric version of PROJECT."""
    from .services.agreement import project_agreement
    from .services.projects import resolve_project

    try:
        with open_session() as session:
            results = project_agreement(session, resolve_project(session, project), n_resamples=n_resamples)
    except WorkbenchError as exc:
        _report(exc)
    rows = [
        {
            "question": qa.question_id,
            "rubric_version": qa.rubric_version,
            "level": qa.result.level.value,
            "alpha": qa.result.alpha,
            "ci_low": qa.result.ci_low,
            "ci_high": qa.result.ci_high,
            "units": qa.result.n_units,
            "units_dropped": qa.result.n_units_dropped,
        }
        for qa in results
    ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        alpha = "n/a" if row["alpha"] is None else f"{row['alpha']:.3f}"
        ci = "" if row["ci_low"] is None else f" [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
        click.echo(f"{row['question']:<24} v{row['rubric_version']}  {row['level']:<8} alpha={alpha}{ci}  units={row['units']}")


@main.command("raters")
@click.argument("project")
@click.option("--question", default=None, help="Question key (e.g. helpful, helpful.strength); default: the first.")
@click.option("--json", "as_json", is_flag=True)
def raters_command(project: str, question: str | None, as_json: bool):
    """Calibration of every rater of PROJECT, worst first, with flags."""
    from .services.calibration import parse_thresholds, rater_calibration
    from .services.projects import resolve_project

    try:
        thresholds = parse_thresholds(load_settings()["CALIBRATION_THRESHOLDS"])
        with open_session() as session:
            report = rater_calibration(session, resolve_project(session, project), question, thresholds)
    except WorkbenchError as exc:
        _report(exc)
    if as_json:
        rows = [{**jsonable(r.calibration), "rater": r.name, "user_id": r.user_id, "machine": r.is_machine} for r in report.rows]
        click.echo(json.dumps({"question": report.question.key, "raters": rows}))
        return
    click.echo(f"question {report.question.key} ({report.question.level.value}); worst first")
    for r in report.rows:
        c = r.calibration
        gold = "—" if c.gold.estimate is None else f"{c.gold.estimate:.0%} of {c.gold.trials}"
        agree = "—" if c.consensus.estimate is None else f"{c.consensus.estimate:.0%}"
        left = "—" if c.position.estimate is None else f"{c.position.estimate:.0%}"
        flags = "; ".join(c.flags) or "ok"
        click.echo(f"{r.name:<24} n={c.n_judgments:<5} gold={gold:<12} agrees={agree:<5} left={left:<5} {flags}")


@main.command("leaderboard")
@click.argument("project")
@click.option("--question", default=None, help="Pairwise question id; default: the first.")
@click.option("--bootstrap", "n_resamples", default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def leaderboard_command(project: str, question: str | None, n_resamples: int, as_json: bool):
    """Bradley-Terry leaderboard of the models in PROJECT, humans and machine raters apart."""
    from .services.leaderboard import project_leaderboard
    from .services.projects import resolve_project

    try:
        with open_session() as session:
            board = project_leaderboard(session, resolve_project(session, project), question, n_resamples=n_resamples)
    except WorkbenchError as exc:
        _report(exc)
    if as_json:
        click.echo(json.dumps(jsonable(board)))
        return
    for title, lb in (("human raters", board.humans), ("machine raters", board.machines)):
        if lb is None:
            click.echo(f"{title}: no judgments")
            continue
        click.echo(f"{title} (question {board.question_id}; log-strength, 95% CI):")
        for i, model in enumerate(lb.models):
            click.echo(f"  #{int(lb.rank[i]):<3} {model:<24} {lb.strength[i]:+.3f}  [{lb.ci_low[i]:+.3f}, {lb.ci_high[i]:+.3f}]")
    if board.human_vs_machine and board.human_vs_machine.share is not None:
        hm = board.human_vs_machine
        click.echo(f"humans vs machines on {hm.n_items} shared items: agreement {hm.share:.0%}, kappa {hm.kappa:.3f}")


# -- serving ----------------------------------------------------------------------------


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", type=int, default=None, help="gunicorn worker processes [default: 2 × CPU cores].")
@click.option("--threads", type=int, default=4, show_default=True, help="Threads per worker.")
@click.option("--no-access-log", is_flag=True, help="Do not write a JSON line per request.")
@click.option("--dev", is_flag=True, help="Flask's threaded development server instead of gunicorn.")
def serve(host: str, port: int, workers: int | None, threads: int, no_access_log: bool, dev: bool):
    """Serve the web app with gunicorn (graceful shutdown on SIGTERM)."""
    if dev:
        from .app import create_app

        create_app().run(host=host, port=port, threaded=True)
        return
    from .serving import default_workers, run

    run(host, port, workers or default_workers(), threads, access_log=not no_access_log)


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Seed the demo data and exit.")
def demo(host: str, port: int, no_serve: bool):
    """Create the database, load rubrics, demo items, users and judgments, then serve."""
    from .services.demo import seed_demo

    with open_session(upgrade=True) as session:
        seed = seed_demo(session, resource_dir("rubrics"), DEMO_DIR)
    click.echo("demo data " + ("created" if seed.created else "already present"))
    click.echo(f"demo logins (password for all: {seed.logins[0][2]}):")
    for email, role, _ in seed.logins:
        click.echo(f"  {role:<10} {email}")
    if no_serve:
        return
    click.echo(f"serving on http://{host}:{port}/  (Ctrl+C to stop)")
    from .app import create_app

    create_app().run(host=host, port=port, threaded=True)


# -- the quality report -----------------------------------------------------------------


@main.command("report")
@click.argument("project")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False), help="HTML file to write.")
@click.option("--target", default=0.95, show_default=True, help="Accuracy target on gold items and spot checks.")
@click.option("--bootstrap", "n_resamples", default=1000, show_default=True, help="Bootstrap resamples for the CIs.")
def report_command(project: str, out_file: str, target: float, n_resamples: int):
    """Write PROJECT's quality report as one self-contained HTML file (prints cleanly to PDF)."""
    from .app import create_app
    from .services.calibration import parse_thresholds
    from .services.projects import resolve_project
    from .services.report import project_report
    from .web.quality import render_report_document

    try:
        thresholds = parse_thresholds(load_settings()["CALIBRATION_THRESHOLDS"])
        with open_session() as session:
            report = project_report(session, resolve_project(session, project), target, thresholds, n_resamples=n_resamples)
            app = create_app()
            with app.test_request_context():
                html = render_report_document(report, standalone=True)
            app.extensions["workbench"].engine.dispose()
    except WorkbenchError as exc:
        _report(exc)
    path = Path(out_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    click.echo(f"wrote {path} ({len(html.encode()) // 1024} KiB)")


if __name__ == "__main__":  # pragma: no cover
    main()
