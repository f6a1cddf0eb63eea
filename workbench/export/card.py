"""What goes next to exported data: alpha for the manifest, and a dataset card.

The card is Markdown with Hugging Face front matter (``configs`` pointing at the data
files), built only from the manifest, so it is as deterministic as the manifest.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..domain import Level
from ..stats.alpha import alpha_with_ci, krippendorff_alpha


def choice_alpha(counts: np.ndarray, n_resamples: int = 1000) -> dict[str, Any]:
    """Nominal alpha on A/B/tie from per-item counts (items × 3), with a 95% bootstrap CI."""
    domain = [0.0, 1.0, 2.0]
    if n_resamples > 0:
        result = alpha_with_ci(counts, domain, Level.NOMINAL, n_resamples=n_resamples, seed=0)
    else:
        result = krippendorff_alpha(counts, domain, Level.NOMINAL)

    def rounded(value):
        return None if value is None else round(float(value), 6)

    return {
        "value": rounded(result.alpha),
        "ci_low": rounded(result.ci_low),
        "ci_high": rounded(result.ci_high),
        "ci_level": result.ci_level,
        "level": result.level.value,
        "units": result.n_units,
        "resamples": result.n_resamples,
        "method": result.method,
        "scope": "the question's A/B/tie choices of the exported rubric version, after the gold, honeypot and "
        "flagged-rater filters and before min-raters, min-agreement and tie filters",
    }


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _heading(manifest: dict[str, Any], files: list[str], default_file: str, tag: str, title: str) -> list[str]:
    """Front matter pointing at the data (Parquet first), the title, provenance and shape."""
    config_files = [name for name in files if name.endswith(".parquet")] or files
    return [
        "---",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        f"    path: {config_files[0] if config_files else default_file}",
        "tags:",
        f"- {tag}",
        "- rlhf",
        "- workbench",
        "---",
        "",
        f"# {title} from project {manifest['project']}",
        "",
        (
            f"Exported by workbench {manifest['workbench_version']} (format `{manifest['format']}`). "
            f"Rubric `{manifest['rubric']['slug']}`, question `{manifest['question_id']}`."
        ),
        "",
        "## Shape",
        "",
        f"- shape: `{manifest['shape']}` ({'chat messages' if manifest['conversational'] else 'plain text'})",
        f"- columns: {', '.join(f'`{c}`' for c in manifest['columns'])}",
    ]


def _files(manifest: dict[str, Any], files: list[str], manifest_sha256: str) -> list[str]:
    """The files table with each file's hash, then the manifest's own hash."""
    lines = ["", "## Files", "", "| file | rows | bytes | sha256 |", "|---|---|---|---|"]
    for name in files:
        entry = manifest["files"][name]
        lines.append(f"| `{name}` | {entry['rows']} | {entry['bytes']} | `{entry['sha256']}` |")
    return [*lines, "", f"`manifest.json` sha256: `{manifest_sha256}`.", ""]


def dataset_card(manifest: dict[str, Any], manifest_sha256: str) -> str:
    """The dataset card for an export, from its manifest."""
    files = sorted(manifest["files"])
    lines = _heading(manifest, files, "preferences.jsonl", "preference", "Preferences")
    lines += [
        f"- aggregation: `{manifest['aggregation']['method']}`; margin = {manifest['aggregation']['margin']}",
        f"- ties: {manifest['aggregation']['ties']}",
        "- orientation: canonical (A is the item's first response, whatever side raters saw it on)",
        "",
        "## Filters",
        "",
    ]
    for key, value in sorted(manifest["filters"].items()):
        lines.append(f"- {key}: `{value}`")
    labels = manifest.get("labels")
    if labels and labels.get("judge"):
        terms = labels.get("guarantee") or {}
        lines += [
            "",
            "## Labels",
            "",
            f"- source: `{labels['source']}`; judge `{labels['judge']['name']}` (model `{labels['judge']['model']}`)",
            f"- judge labels trusted by selective evaluation: agreement with the human majority at least "
            f"{terms.get('target_agreement')} with probability at least 1 - {terms.get('delta')} "
            f"(confidence threshold {_fmt(terms.get('threshold'))})",
            f"- judge rows: {labels['judge_counts']['rows']}; each row's `source` says whose answer it is",
        ]
    lines += ["", "## Counts", ""]
    for key, value in manifest["counts"].items():
        lines.append(f"- {key}: {value}")
    lines += [
        "",
        "## Rubric versions and agreement",
        "",
        "| version | sha256 | question | exported | alpha (nominal) | 95% CI |",
        "|---|---|---|---|---|---|",
    ]
    for v in manifest["rubric"]["versions"]:
        alpha = v.get("alpha") or {}
        ci = (
            f"[{_fmt(alpha.get('ci_low'))}, {_fmt(alpha.get('ci_high'))}]" if alpha.get("ci_low") is not None else "n/a"
        )
        lines.append(
            f"| {v['number']} | `{v['sha256'][:12]}` | {v['question_id'] or '—'} | {v['counts']['exported']} "
            f"| {_fmt(alpha.get('value'))} | {ci} |"
        )
    lines += _files(manifest, files, manifest_sha256)
    lines += [
        "Gold and honeypot items are "
        + ("included." if manifest["filters"].get("include_gold") else "left out.")
        + " Rater ids, where present, are pseudonyms stable within the project.",
        "",
    ]
    return "\n".join(lines)


def ratings_card(manifest: dict[str, Any], manifest_sha256: str) -> str:
    """The dataset card for a rating export (single-response project), from its manifest."""
    files = sorted(manifest["files"])
    tag = {"binarized": "preference", "kto": "kto", "reward": "reward-model", "sft": "sft"}[manifest["shape"]]
    lines = _heading(manifest, files, f"{manifest['shape']}.jsonl", tag, "Rated responses")
    lines += [
        f"- rating: {manifest['rating']}; {manifest['spread']}",
        f"- groups: {manifest['grouping']}",
    ]
    lines += [f"- {key}: `{value}`" for key, value in sorted(manifest["selection"].items()) if value is not None]
    lines += ["", "## Filters", ""]
    lines += [f"- {key}: `{value}`" for key, value in sorted(manifest["filters"].items())]
    lines += ["", "## Counts", ""]
    lines += [f"- {key}: {value}" for key, value in manifest["counts"].items()]
    lines += ["", "## Rubric versions", "", "| version | sha256 | question | rows |", "|---|---|---|---|"]
    for v in manifest["rubric"]["versions"]:
        lines.append(f"| {v['number']} | `{v['sha256'][:12]}` | {v['question_id'] or '—'} | {v['counts']['rows']} |")
    lines += _files(manifest, files, manifest_sha256)
    lines += [
        "Gold and honeypot items are " + ("included." if manifest["filters"].get("include_gold") else "left out."),
        "",
    ]
    return "\n".join(lines)
