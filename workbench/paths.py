"""Where the non-Python folders live: beside the package in a checkout, inside it in a wheel.

The repository keeps ``templates/``, ``rubrics/`` and ``migrations/`` at its top level; the
wheel build copies them into the package. Both layouts resolve here.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """``templates``, ``rubrics`` or ``migrations``."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"workbench resource folder {name!r} not found beside or inside {_PACKAGE}")


STATIC_DIR = _PACKAGE / "static"
DEMO_DIR = _PACKAGE / "demo"
