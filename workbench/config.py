"""Settings: each declared once with its default and help, loaded at start-up, never at import.

Every setting can be given in the environment as ``WORKBENCH_<NAME>``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("INSTANCE_PATH", "instance", "Folder for the SQLite database and the generated secret key."),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL of the database; default sqlite:///<INSTANCE_PATH>/workbench.db. "
        "PostgreSQL: postgresql+psycopg://user@host/dbname.",
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Key that signs session cookies. Default: a random key kept in <INSTANCE_PATH>/secret_key. "
        "Set it explicitly when several app servers share one database.",
    ),
    Setting("LEASE_MINUTES", 30, "How long an item shown to a rater stays reserved for them."),
    Setting("UNDO_SECONDS", 30, "How long after a submit a rater may take the judgment back (0: no undo)."),
    Setting(
        "RATER_INSTRUCTIONS",
        True,
        "Show a rater the project's guidelines and worked examples once, before their first item.",
    ),
    Setting(
        "CALIBRATION_THRESHOLDS",
        "",
        'JSON object overriding the rater-flag thresholds, e.g. {"too_fast_seconds": 5, "min_gold_accuracy": 0.8}.',
    ),
    Setting(
        "ACCOUNT_LINK_HOURS",
        72,
        "How long a one-time invitation or password-reset link works after it is made.",
    ),
    Setting(
        "GOLD_PROMPT_GAP",
        20,
        "A gold item is never shown to a rater who judged an item with the same prompt among their last this many "
        "judgments (a honeypot repeats a live item's prompt).",
    ),
    Setting("SESSION_COOKIE_SECURE", False, "Send the session cookie over HTTPS only (set behind TLS)."),
    Setting("MAX_CONTENT_LENGTH", 64 * 1024 * 1024, "Largest accepted request body in bytes."),
    Setting(
        "UPLOAD_MAX_BYTES",
        256 * 1024 * 1024,
        "Largest item or judgment file accepted on the uploads page, in bytes (it may exceed MAX_CONTENT_LENGTH).",
    ),
)

ENV_PREFIX = "WORKBENCH_"


def _coerce(default: Any, raw: str) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    return raw


def load_settings(mapping: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then ``WORKBENCH_*`` variables from ``environ``, then ``mapping`` (highest).

    Fills in the derived defaults: an absolute instance path, the SQLite URL inside it and
    a persistent random secret key.
    """
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in SETTINGS}
    for setting in SETTINGS:
        raw = environ.get(ENV_PREFIX + setting.name)
        if raw is not None and raw != "":
            values[setting.name] = _coerce(setting.default, raw)
    values.update(mapping or {})
    instance = Path(values["INSTANCE_PATH"]).expanduser().resolve()
    values["INSTANCE_PATH"] = str(instance)
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{instance / 'workbench.db'}"
    return values


def ensure_secret_key(values: dict[str, Any]) -> str:
    """Return the configured key, or one generated once and kept in the instance folder."""
    if values.get("SECRET_KEY"):
        return values["SECRET_KEY"]
    instance = Path(values["INSTANCE_PATH"])
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    values["SECRET_KEY"] = key_file.read_text().strip()
    return values["SECRET_KEY"]
