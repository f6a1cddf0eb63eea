"""Statistics and the quality report: agreement, raters, leaderboard."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import InvalidInput
from ..jsonable import jsonable
from ..words import counted
from . import calibration_thresholds, main, open_session, user_input

# -- statistics -------------------------------------------------------------------------


@main.command("alpha")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--level", type=click.Choice(["nominal", "ordinal", "interval", "ratio"]), required=True)
@click.option(
    "--bootstrap", "n_resamples", default=0, show_default=True, help="Bootstrap resamples for a 95% CI (0 = none)."
)
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def alpha_command(file: str, level: str, n_resamples: int, seed: int, as_json: bool):
    """Krippendorff's alpha of a raters × units CSV (first column `rater`, blank = missing)."""
    from ..domain import Level
    from ..stats.alpha import alpha_from_matrix
    from ..stats.reliability_table import parse_reliability_table

    with user_input():
        table = parse_reliability_table(Path(file).read_text(encoding="utf-8"))
        if not table.is_numeric and level != "nominal":
            raise InvalidInput(f"{file} holds categories (non-numeric values); only --level nominal applies")
        result = alpha_from_matrix(table.matrix, Level(level), n_resamples=n_resamples, seed=seed)
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
    click.echo(
        f"  {len(table.raters)} raters, {result.n_units} pairable units, {result.n_values} values, {counted(result.n_units_dropped, 'unit')} with < 2 values left out"
    )
    if result.ci_low is not None:
        click.echo(f"  95% CI [{result.ci_low:.4f}, {result.ci_high:.4f}] ({result.method})")


@main.command("agreement")
@click.argument("project")
@click.option("--bootstrap", "n_resamples", default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def agreement_command(project: str, n_resamples: int, as_json: bool):
    """Alpha with a 95% CI per question and rubric version of PROJECT."""
    from ..services.agreement import project_agreement
    from ..services.projects import resolve_project

    with open_session() as session:
        results = project_agreement(session, resolve_project(session, project), n_resamples=n_resamples)
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
        click.echo(
            f"{row['question']:<24} v{row['rubric_version']}  {row['level']:<8} alpha={alpha}{ci}  units={row['units']}"
        )


@main.command("raters")
@click.argument("project")
@click.option("--question", default=None, help="Question key (e.g. helpful, helpful.strength); default: the first.")
@click.option("--json", "as_json", is_flag=True)
def raters_command(project: str, question: str | None, as_json: bool):
    """Calibration of every rater of PROJECT, worst first, with flags."""
    from ..services.calibration import rater_calibration
    from ..services.projects import resolve_project

    thresholds = calibration_thresholds()
    with open_session() as session:
        report = rater_calibration(session, resolve_project(session, project), question, thresholds)
    if as_json:
        rows = [
            {**jsonable(r.calibration), "rater": r.name, "user_id": r.user_id, "machine": r.is_machine}
            for r in report.rows
        ]
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


@main.command("labels")
@click.argument("project")
@click.option("--question", default=None, help="A categorical or binary question; default: the first.")
@click.option("--aggregate", type=click.Choice(["majority", "dawid_skene"]), default="majority", show_default=True)
@click.option(
    "--out", "out_file", type=click.Path(dir_okay=False), default=None,
    help="File to write; the format follows the extension (.jsonl, .csv, .parquet). Default: JSON Lines on stdout.",
)  # fmt: skip
def labels_command(project: str, question: str | None, aggregate: str, out_file: str | None):
    """One aggregated label per item of PROJECT: item_id, label, posterior (Dawid-Skene), n."""
    from ..services.import_formats import guess_format
    from ..services.labels import item_labels
    from ..services.projects import resolve_project

    with user_input(), open_session() as session:
        report = item_labels(session, resolve_project(session, project), question, aggregate)
    rows = [{"item_id": r.item_id, "label": r.label, "posterior": r.posterior, "n": r.n} for r in report.labels]
    kind = guess_format(out_file) if out_file else "jsonl"
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), out_file)
    elif kind == "csv":
        import csv

        with open(out_file, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, ["item_id", "label", "posterior", "n"])
            writer.writeheader()
            for row in rows:  # labels as JSON (true, "yes"), an empty cell for none
                label = "" if row["label"] is None else json.dumps(row["label"], ensure_ascii=False)
                writer.writerow(
                    {**row, "label": label, "posterior": "" if row["posterior"] is None else row["posterior"]}
                )
    else:
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        if out_file:
            Path(out_file).write_text(lines, encoding="utf-8")
        else:
            click.echo(lines, nl=False)
    if out_file:
        click.echo(
            f"{counted(len(rows), 'item label')} for question {report.question_id} ({aggregate}) written to {out_file}"
        )


@main.command("leaderboard")
@click.argument("project")
@click.option("--question", default=None, help="Pairwise question id; default: the first.")
@click.option("--bootstrap", "n_resamples", default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def leaderboard_command(project: str, question: str | None, n_resamples: int, as_json: bool):
    """Bradley-Terry leaderboard of the models in PROJECT, humans and machine raters apart."""
    from ..services.leaderboard import project_leaderboard
    from ..services.projects import resolve_project

    with open_session() as session:
        board = project_leaderboard(session, resolve_project(session, project), question, n_resamples=n_resamples)
    if as_json:
        click.echo(json.dumps(jsonable(board)))
        return
    for title, lb in (("human raters", board.humans), ("machine raters", board.machines)):
        if lb is None:
            click.echo(f"{title}: no judgments")
            continue
        click.echo(f"{title} (question {board.question_id}; log-strength, 95% CI):")
        for i, model in enumerate(lb.models):
            click.echo(
                f"  #{int(lb.rank[i]):<3} {model:<24} {lb.strength[i]:+.3f}  [{lb.ci_low[i]:+.3f}, {lb.ci_high[i]:+.3f}]"
            )
    if board.human_vs_machine and board.human_vs_machine.share is not None:
        hm = board.human_vs_machine
        click.echo(f"humans vs machines on {hm.n_items} shared items: agreement {hm.share:.0%}, kappa {hm.kappa:.3f}")


# -- the quality report -----------------------------------------------------------------


@main.command("report")
@click.argument("project")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False), help="HTML file to write.")
@click.option("--target", default=0.95, show_default=True, help="Accuracy target on gold items and spot checks.")
@click.option("--bootstrap", "n_resamples", default=1000, show_default=True, help="Bootstrap resamples for the CIs.")
def report_command(project: str, out_file: str, target: float, n_resamples: int):
    """Write PROJECT's quality report as one self-contained HTML file (prints cleanly to PDF)."""
    from ..app import create_app
    from ..services.projects import resolve_project
    from ..services.report import project_report
    from ..web.quality.report import render_report_document

    thresholds = calibration_thresholds()
    with open_session() as session:
        report = project_report(session, resolve_project(session, project), target, thresholds, n_resamples=n_resamples)
        app = create_app()
        with app.test_request_context():
            html = render_report_document(report, standalone=True)
        app.extensions["workbench"].engine.dispose()
    path = Path(out_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    click.echo(f"wrote {path} ({len(html.encode()) // 1024} KiB)")
