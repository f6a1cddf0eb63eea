"""The README and the manual in docs/: generated pages match the code, links resolve, the README stays short.

After Datasette's test_docs.py (every setting and command documented) and its cog-generated CLI reference.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from workbench.cli import main
from workbench.cli.reference import MARKER, pages, render_cli, render_configuration, spliced
from workbench.config import ENV_PREFIX, SETTINGS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
MANUAL = [
    "index.md",
    "getting-started.md",
    "rating.md",
    "rubrics.md",
    "statistics.md",
    "quality-loop.md",
    "formats.md",
    "api.md",
    "administration.md",
    "cli.md",
    "configuration.md",
    "deployment.md",
    "architecture.md",
    "benchmarks.md",
]


def _markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _commands(group: click.Group, prefix: str = "workbench") -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        found.append(path)
        if isinstance(command, click.Group):
            found += _commands(command, path)
    return found


# -- links ------------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where links are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text only, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for match in HEADING.finditer(FENCE.sub("", text)):
        slug = _slug(match.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Relative links and images in ``path`` that name no file inside ``root`` or no heading there."""
    problems = []
    for target in LINK.findall(_prose(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.is_relative_to(root.resolve()):
            problems.append(f"{target}: outside the repository")
        elif not linked.exists():
            problems.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            problems.append(f"{target}: no heading #{anchor} in {linked.name}")
    return problems


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    assert broken_links(path) == []


def test_the_link_check_finds_broken_links(tmp_path):
    (tmp_path / "other.md").write_text("# A heading\n\n## Second `one`, too\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](other.md) [ok](other.md#a-heading) [ok](other.md#second-one-too) [ok](#page) "
        "![ok](other.md) [web](https://example.org/x)\n"
        "[gone](missing.md) ![gone](missing.png) [bad anchor](other.md#nope) [bad](#nowhere) [out](../x.md)\n"
        "`[code](missing.md)`\n\n```\n[fenced](missing.md)\n```\n"
    )
    (tmp_path.parent / "x.md").touch()
    assert broken_links(page, root=tmp_path) == [
        "missing.md: no such file",
        "missing.png: no such file",
        "other.md#nope: no heading #nope in other.md",
        "#nowhere: no heading #nowhere in page.md",
        "../x.md: outside the repository",
    ]


def test_anchors_follow_github():
    text = "# `workbench db upgrade`\n## Dawid–Skene\n## `WORKBENCH_LEASE_MINUTES`\n## Two raters: kappa, pi\n## Two raters: kappa, pi\n"
    assert anchors(text) == {
        "workbench-db-upgrade",
        "dawidskene",
        "workbench_lease_minutes",
        "two-raters-kappa-pi",
        "two-raters-kappa-pi-1",
    }


# -- the README and the manual ------------------------------------------------------------


def test_readme_is_a_short_front_page():
    text = README.read_text(encoding="utf-8")
    assert len(text) <= 10_000, f"README.md has {len(text)} characters; move detail into docs/"
    assert "](docs/index.md)" in text
    assert len(re.findall(r"!\[[^\]]*\]\(docs/[^)]+\.png\)", text)) == 1  # one screenshot


def test_readme_has_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "pip install -e . && workbench demo" in text
    assert "pip install -e '.[test]' && pytest" in text


def test_the_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -q -e '.[test]' && pytest" in ci


@pytest.mark.parametrize("page", MANUAL)
def test_manual_page_exists_and_is_linked_from_the_index(page):
    path = DOCS / page
    assert path.is_file(), f"docs/{page} is missing"
    assert path.read_text(encoding="utf-8").startswith("# ")
    if page != "index.md":
        assert f"]({page})" in (DOCS / "index.md").read_text(encoding="utf-8")


# -- generated pages ------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(pages()), ids=lambda p: p.name)
def test_generated_page_matches_the_code(path):
    text = path.read_text(encoding="utf-8")
    assert MARKER in text, f"docs/{path.name} lost its marker line: run `python -m workbench.cli.reference`"
    assert text == spliced(text, pages()[path]), (
        f"docs/{path.name} is out of date with the code: run `python -m workbench.cli.reference`"
    )


@pytest.mark.parametrize("command", _commands(main))
def test_command_is_documented(command):
    assert f"`{command}`" in render_cli()
    assert f"`{command}`" in (DOCS / "cli.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", [s.name for s in SETTINGS])
def test_setting_is_documented(setting):
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert f"## `{ENV_PREFIX}{setting}`" in page
    help_text = next(s.help for s in SETTINGS if s.name == setting)
    assert help_text.replace("<", "&lt;").replace(">", "&gt;") in render_configuration()


def test_the_cli_reference_shows_usage_help_and_options():
    text = render_cli()
    section = text[text.index("## `workbench export`") :]
    section = section[: section.index("\n## ", 1)]
    assert "```text\nworkbench export [OPTIONS] PROJECT\n```" in section
    assert "Export PROJECT's preferences" in section
    assert "| `--ties [drop\\|keep\\|split]` | [default: drop] |" in section
    assert "| `-h, --help` | Show this message and exit. |" in section  # the group's context settings apply
    assert "### `workbench rubrics load`" in text


def test_the_generated_pages_do_not_depend_on_the_terminal():
    code = "from workbench.cli.reference import pages; import sys; sys.stdout.write(''.join(pages().values()))"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "COLUMNS": columns},
        ).stdout
        for columns in ("40", "200")
    }
    assert outputs == {"".join(pages().values())}


def test_splicing_keeps_the_introduction_and_replaces_the_rest():
    page = f"# Title\n\nIntro by hand.\n\n{MARKER}\n\nold generated text\n"
    assert spliced(page, "new\n") == f"# Title\n\nIntro by hand.\n\n{MARKER}\n\nnew\n"
    assert spliced("# Title\n", "new") == f"# Title\n\n{MARKER}\n\nnew\n"
    assert spliced(spliced(page, "new"), "new") == spliced(page, "new")


def test_the_generator_imports_no_flask():
    code = "import sys, workbench.cli.reference; print('flask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
