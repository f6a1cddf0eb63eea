"""The application factory and settings."""

from __future__ import annotations

from sqlalchemy import text

from workbench.app import create_app
from workbench.config import SETTINGS, load_settings


def test_defaults_derive_sqlite_url_inside_instance(tmp_path):
    settings = load_settings({"INSTANCE_PATH": str(tmp_path)}, environ={})
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path}/workbench.db"
    assert settings["LEASE_MINUTES"] == 30


def test_environment_overrides_defaults_and_mapping_overrides_environment(tmp_path):
    env = {
        "WORKBENCH_LEASE_MINUTES": "45",
        "WORKBENCH_SESSION_COOKIE_SECURE": "true",
        "WORKBENCH_INSTANCE_PATH": str(tmp_path),
    }
    settings = load_settings(environ=env)
    assert settings["LEASE_MINUTES"] == 45
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert load_settings({"LEASE_MINUTES": 5}, environ=env)["LEASE_MINUTES"] == 5


def test_unknown_environment_variables_are_ignored(tmp_path):
    settings = load_settings(
        {"INSTANCE_PATH": str(tmp_path)}, environ={"WORKBENCH_TEST_DATABASE_URL": "postgresql://x"}
    )
    assert "TEST_DATABASE_URL" not in settings
    assert settings["DATABASE_URL"].startswith("sqlite:///")


def test_every_setting_has_help():
    assert all(s.help and s.name.isupper() for s in SETTINGS)


def test_testing_config_and_generated_secret_key_is_kept(tmp_path):
    config = {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    first = create_app(config)
    second = create_app(config)
    assert not first.testing
    assert first.secret_key and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").read_text().strip() == first.secret_key
    assert create_app({**config, "TESTING": True}).testing


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/b.db"})
    engine = app.extensions["workbench"].engine
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_templates_and_static_resolve(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/c.db"})
    assert app.jinja_env.get_template("base.html") is not None
    client = app.test_client()
    response = client.get("/static/htmx.min.js")
    assert response.status_code == 200 and b"htmx" in response.data
    response.close()
    app.extensions["workbench"].engine.dispose()
