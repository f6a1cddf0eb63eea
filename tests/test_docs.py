"""The README documents every setting and every command (after Datasette's test_docs.py)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from workbench.cli import main
from workbench.config import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "workbench") -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += _commands(command, path)
        else:
            found.append(path)
    return found


@pytest.mark.parametrize("setting", [s.name for s in SETTINGS])
def test_setting_is_documented(setting):
    assert f"WORKBENCH_{setting}" in README


@pytest.mark.parametrize("command", _commands(main))
def test_command_is_documented(command):
    assert f"`{command}" in README


def test_readme_has_the_two_commands():
    assert "pip install -e . && workbench demo" in README
    assert "pip install -e '.[test]' && pytest" in README
