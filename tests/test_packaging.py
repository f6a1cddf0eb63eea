"""The wheel ships the non-Python folders and the console script (STYLE.md §2 "Packaging").

Builds the real wheel with the project's backend (hatchling, in the ``test`` extra) once per
module; a few seconds, part of the normal suite on purpose.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXPECTED_FILES = [
    "workbench/templates/base.html",
    "workbench/rubrics/rubric.schema.json",
    "workbench/rubrics/pairwise-helpful-harmless.yaml",
    "workbench/migrations/env.py",
    "workbench/migrations/script.py.mako",
    "workbench/static/htmx.min.js",
    "workbench/schemas/item.schema.json",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Iterator[zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("wheel")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    result = subprocess.run(
        [*pip_wheel, "--disable-pip-version-check", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"building the wheel failed:\n{result.stdout}\n{result.stderr}"
    (path,) = out.glob("workbench-*.whl")
    with zipfile.ZipFile(path) as zf:
        yield zf


@pytest.mark.parametrize("member", EXPECTED_FILES)
def test_wheel_contains(wheel, member):
    assert member in wheel.namelist()


def test_wheel_ships_every_migration(wheel):
    in_wheel = {
        Path(n).name for n in wheel.namelist() if n.startswith("workbench/migrations/versions/") and n.endswith(".py")
    }
    in_checkout = {p.name for p in (ROOT / "migrations" / "versions").glob("*.py")}
    assert in_wheel, "no migration scripts in the wheel"
    assert in_checkout <= in_wheel


def test_wheel_has_no_bytecode_or_tests(wheel):
    names = wheel.namelist()
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith("tests/")]


def test_wheel_console_script(wheel):
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    assert parser["console_scripts"]["workbench"] == "workbench.cli:main"
