"""Domain code never imports Flask (STYLE.md §1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"
DOMAIN = [
    "domain",
    "errors",
    "config",
    "db",
    "models",
    "render",
    "paths",
    "migrate",
    "textdiff",
    "stats",
    "rubric",
    "services",
    "export",
]


def _modules(name: str) -> list[str]:
    path = PACKAGE / name
    if path.is_dir():
        return [
            f"workbench.{name}." + p.stem if p.stem != "__init__" else f"workbench.{name}"
            for p in sorted(path.glob("*.py"))
        ]
    return [f"workbench.{name}"]


def test_domain_layers_import_no_flask():
    modules = [m for name in DOMAIN for m in _modules(name)]
    assert "workbench.services.assignment" in modules and "workbench.stats.alpha" in modules
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += (
        "bad = sorted(m for m in sys.modules if m == 'flask' or m.startswith('flask.') or m.startswith('htmx_flask'))\n"
    )
    code += "print(','.join(bad))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"Flask was imported by domain code: {result.stdout}"


def test_no_domain_module_mentions_flask_or_web():
    offenders = []
    for name in DOMAIN:
        path = PACKAGE / name
        files = sorted(path.glob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        for file in files:
            tree = ast.parse(file.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [("." * node.level) + (node.module or "")]
                else:
                    continue
                if any(n.split(".")[0] == "flask" or "web" in n.split(".") or n.endswith(".app") for n in names):
                    offenders.append(f"{file.name}: {names}")
    assert offenders == []


def test_cli_module_does_not_import_flask_at_import_time():
    code = "import sys, workbench.cli; print('flask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_no_module_is_over_400_lines():
    """Small modules with names that explain themselves: none of the package's over 400 lines."""
    package = Path(__file__).resolve().parents[1] / "workbench"
    long = {
        str(p.relative_to(package)): n for p in package.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}, f"split these modules: {long}"
