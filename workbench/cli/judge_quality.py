"""``workbench judge alignment`` and ``workbench judge escalate``: a judge against people."""

from __future__ import annotations

import json
from typing import Any

import click

from ..errors import WorkbenchError
from ..jsonable import jsonable
from ..words import counted
from . import open_session, report_failure
from .judges import judge


def _interval(estimate) -> list[float | None]:
    return [estimate.low, estimate.high]


def _proportion(p) -> dict[str, Any]:
    return {"share": p.estimate, "ci": [p.low, p.high], "count": p.successes, "n": p.trials}


def _side(bias) -> dict[str, Any] | None:
    if bias is None:
        return None
    return {
        "items": bias.n_items,
        "judge": _proportion(bias.judge),
        "humans": _proportion(bias.humans),
        "difference": bias.difference,
    }


def alignment_payload(report) -> dict[str, Any]:
    """The JSON object printed by ``judge alignment --json`` (documented in docs/judge-alignment.md)."""
    a = report.agreement
    left = report.left
    return {
        "judge": report.judge,
        "model": report.model,
        "question": report.question.question_id,
        "verdicts": report.n_verdicts,
        "human_items": report.n_human_items,
        "items": a.n_items,
        "items_without_majority": a.n_no_majority,
        "agreement": a.agreement.value,
        "agreement_ci": _interval(a.agreement),
        "cohen_kappa": a.kappa.value,
        "cohen_kappa_ci": _interval(a.kappa),
        "alpha_humans": a.alpha_humans.alpha,
        "alpha_humans_ci": [a.alpha_humans.ci_low, a.alpha_humans.ci_high],
        "alpha_with_judge": a.alpha_with_judge.alpha,
        "alpha_with_judge_ci": [a.alpha_with_judge.ci_low, a.alpha_with_judge.ci_high],
        "confusion": {
            "labels": list(report.labels),
            "rows": "human majority",
            "columns": "judge",
            "matrix": jsonable(a.confusion),
        },
        "position_consistency": report.consistency.estimate,
        "position_consistency_ci": [report.consistency.low, report.consistency.high],
        "position_items": report.consistency.trials,
        "left_share": None if left is None else left.share.estimate,
        "left_share_ci": None if left is None else [left.share.low, left.share.high],
        "left_picks": None if left is None else left.share.successes,
        "left_trials": None if left is None else left.share.trials,
        "left_p_value": None if left is None else left.p_value,
        "length_bias": _side(report.length),
        "self_preference": _side(report.self_preference),
        "reliability": {
            "ece": report.reliability.ece,
            "n": report.reliability.n,
            "bins": jsonable(report.reliability.bins),
        },
        "flags": list(report.flags),
        "method": a.method,
    }


def _fmt(value, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


@judge.command("alignment")
@click.argument("project")
@click.option("--judge", "judge_name", required=True, help="The judge's name (see `workbench judges list`).")
@click.option(
    "--question",
    default=None,
    help="Choice question id; default: the rubric's first pairwise, categorical or yes/no question.",
)
@click.option("--bootstrap", "n_resamples", default=1000, show_default=True, help="Bootstrap resamples for the CIs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def alignment_command(project: str, judge_name: str, question: str | None, n_resamples: int, as_json: bool):
    """Agreement of a judge with the human majority in PROJECT, its biases and calibration."""
    from ..services.judge_alignment import find_judge, judge_alignment
    from ..services.projects import resolve_project

    try:
        with open_session() as session:
            target = resolve_project(session, project)
            report = judge_alignment(
                session, target, find_judge(session, judge_name), question, n_resamples=n_resamples
            )
    except WorkbenchError as exc:
        report_failure(exc)
    payload = alignment_payload(report)
    if as_json:
        click.echo(json.dumps(payload))
        return
    p = payload
    click.echo(f"judge {p['judge']} ({p['model']}), question {p['question']}: {p['verdicts']} verdicts")
    click.echo(
        f"  against the human majority on {p['items']} items ({p['items_without_majority']} without a majority left out)"
    )
    click.echo(f"  agreement {_fmt(p['agreement'])} [{_fmt(p['agreement_ci'][0])}, {_fmt(p['agreement_ci'][1])}]")
    click.echo(
        f"  Cohen's kappa {_fmt(p['cohen_kappa'])} [{_fmt(p['cohen_kappa_ci'][0])}, {_fmt(p['cohen_kappa_ci'][1])}]"
    )
    click.echo(f"  alpha humans {_fmt(p['alpha_humans'])}, with the judge {_fmt(p['alpha_with_judge'])}")
    click.echo(
        f"  position consistency {_fmt(p['position_consistency'])} on {p['position_items']} items asked both ways"
    )
    if p["left_trials"]:
        click.echo(
            f"  left picks {p['left_picks']}/{p['left_trials']} ({_fmt(p['left_share'], '.0%')}), p={p['left_p_value']:.3g}"
        )
    click.echo(f"  expected calibration error {_fmt(p['reliability']['ece'])} on {p['reliability']['n']} verdicts")
    click.echo("  flags: " + ("; ".join(p["flags"]) or "none"))


def escalation_payload(report) -> dict[str, Any]:
    """The JSON object printed by ``judge escalate --json`` (documented in docs/judge-alignment.md)."""
    s = report.selection
    return {
        "judge": report.judge,
        "question": report.question_id,
        "target_agreement": s.target_agreement,
        "delta": s.delta,
        "threshold": s.threshold,
        "guaranteed_level": s.guaranteed_level,
        "confidence": s.confidence,
        "calibration_size": s.calibration_size,
        "calibration_accepted": s.n_accepted,
        "calibration_agreement": s.calibration_agreement,
        "lower_bound": s.lower_bound,
        "accepted_count": len(report.accepted),
        "escalated_count": len(report.escalated),
        "escalated_without_verdict": report.n_escalated_without_verdict,
        "calibration_without_confidence": report.n_calibration_without_confidence,
        "human_items_without_majority": report.n_human_no_majority,
        "accepted": list(report.accepted),
        "escalated": list(report.escalated),
        "method": s.method,
    }


@judge.command("escalate")
@click.argument("project")
@click.option("--judge", "judge_name", required=True, help="The judge's name.")
@click.option(
    "--target-agreement", type=float, required=True, help="Agreement with the human majority to guarantee, e.g. 0.85."
)
@click.option("--delta", type=float, required=True, help="Allowed probability that the guarantee fails, e.g. 0.1.")
@click.option("--question", default=None, help="Choice question id; default: the first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def escalate_command(
    project: str, judge_name: str, target_agreement: float, delta: float, question: str | None, as_json: bool
):
    """Trust the judge where it is confident enough, escalate the other items of PROJECT to people."""
    from ..services.escalation import escalate
    from ..services.judge_alignment import find_judge
    from ..services.projects import resolve_project

    try:
        with open_session() as session:
            target = resolve_project(session, project)
            report = escalate(session, target, find_judge(session, judge_name), target_agreement, delta, question)
    except WorkbenchError as exc:
        report_failure(exc)
    payload = escalation_payload(report)
    if as_json:
        click.echo(json.dumps(payload))
        return
    p = payload
    if p["threshold"] is None:
        click.echo(f"no threshold reaches agreement {p['target_agreement']:g} with probability {p['confidence']:g} "
                   f"on {p['calibration_size']} calibration items: every item is escalated")  # fmt: skip
    else:
        click.echo(
            f"threshold {p['threshold']:g}: agreement >= {p['guaranteed_level']:g} with probability >= {p['confidence']:g} "
            f"({p['calibration_accepted']} of {p['calibration_size']} calibration items above it, "
            f"agreement {_fmt(p['calibration_agreement'])})"
        )
    click.echo(f"accepted {counted(p['accepted_count'], 'item')}, escalated {p['escalated_count']} to people")
