"""The application factory: settings, engine, extensions, blueprints, security headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from flask import Flask
from htmx_flask import Htmx
from markupsafe import Markup
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .config import ensure_secret_key, load_settings
from .db import make_engine, make_sessionmaker
from .domain import ADMINS, AUTHORS, EVERYONE, RATERS, RESEARCHERS, STAFF
from .paths import STATIC_DIR, resource_dir
from .render import markdown_to_html
from .rubric.questions import Questions
from .services.calibration import parse_thresholds
from .stats.calibration import Thresholds
from .web import (
    account,
    auth,
    blind,
    csrf,
    errors,
    exports,
    health,
    input_guard,
    items,
    judge,
    judges,
    projects,
    projects_admin,
    quality,
    rater_api,
    research_api,
    rubrics,
    sessions,
    stats,
    users_admin,
)
from .web import db as web_db
from .web import judge_alignment as alignment_page
from .words import counted

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


@dataclass(frozen=True)
class WorkbenchState:
    engine: Engine
    sessionmaker: sessionmaker[Session]
    thresholds: Thresholds  # CALIBRATION_THRESHOLDS, parsed (and so checked) at start-up


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    settings = load_settings(test_config)
    thresholds = parse_thresholds(settings["CALIBRATION_THRESHOLDS"])
    ensure_secret_key(settings)
    app = Flask(
        "workbench",
        template_folder=str(resource_dir("templates")),
        static_folder=str(STATIC_DIR),
        instance_path=settings["INSTANCE_PATH"],
    )
    app.config.update(settings)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["workbench"] = WorkbenchState(engine, make_sessionmaker(engine), thresholds)
    Htmx(app)
    sessions.init_app(app)
    web_db.init_app(app)
    input_guard.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    blind.init_app(app)
    for blueprint in (auth.bp, projects.bp, judge.bp, stats.bp, health.bp, rater_api.bp, rubrics.bp, quality.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(research_api.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(alignment_page.bp)
    app.register_blueprint(judges.bp)
    app.register_blueprint(users_admin.bp)
    app.register_blueprint(projects_admin.bp)
    app.register_blueprint(items.bp)
    app.jinja_env.filters["markdown"] = lambda text: Markup(markdown_to_html(text))
    # The role groups of ``domain``: templates ask ``g.user.role in roles.RATERS``.
    app.jinja_env.globals["roles"] = SimpleNamespace(
        EVERYONE=EVERYONE, RATERS=RATERS, AUTHORS=AUTHORS, RESEARCHERS=RESEARCHERS, STAFF=STAFF, ADMINS=ADMINS
    )
    app.jinja_env.filters["counted"] = counted  # {{ n|counted("item") }}: "1 item", "3 items"
    app.jinja_env.filters["questions"] = Questions.of  # a rubric document's typed questions
    app.after_request(_security_headers)
    return app
