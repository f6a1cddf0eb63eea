"""Alembic environment for workbench: the models' metadata and our own engine. No Flask.

What autogenerate compares beyond Alembic's own checks (enum CHECK values, partial-index
WHERE clauses) and how types are rendered is in ``workbench.migration_compare``.

Configuration is built in code by ``workbench.migrate.alembic_config`` (there is no
alembic.ini). The database URL is, in order: the config's ``sqlalchemy.url``, then
``WORKBENCH_DATABASE_URL``, then the settings default (SQLite in the instance folder).

SQLite notes:

* ``make_engine`` switches off the sqlite3 driver's own implicit transactions and issues
  ``BEGIN IMMEDIATE`` on every SQLAlchemy ``begin``, so DDL really is transactional there.
  We tell Alembic so (``transactional_ddl=True``): a whole upgrade runs in one
  transaction on both backends and a failure leaves the database unchanged.
* Batch mode (``render_as_batch=True``) changes a SQLite table by copying it and dropping
  the old one. With foreign keys on, that DROP would cascade into child tables, so while
  migrating the connection has ``PRAGMA foreign_keys=OFF`` (it can only be changed outside a
  transaction, hence on connect), and ``PRAGMA foreign_key_check`` runs before the commit.
"""

from __future__ import annotations

from pathlib import Path

from alembic import context
from sqlalchemy import event

import workbench.models  # noqa: F401 - registers every table on Base.metadata
from workbench.db import Base, make_engine
from workbench.migration_compare import render_item, revision_directives

config = context.config

# Tests (and ``workbench.migrate.check``) may pass another MetaData to compare against.
target_metadata = config.attributes.get("target_metadata", Base.metadata)


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from workbench.config import load_settings

    # load_settings reads WORKBENCH_DATABASE_URL, else derives the SQLite default.
    return load_settings()["DATABASE_URL"]


COMMON_OPTIONS = {
    "target_metadata": target_metadata,
    "render_as_batch": True,
    "compare_type": True,
    "compare_server_default": True,
    "render_item": render_item,
    "process_revision_directives": revision_directives(target_metadata),
}


def run_migrations_offline() -> None:
    """``--sql`` mode: emit the SQL instead of running it."""
    context.configure(
        url=database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **COMMON_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def _foreign_keys_off(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _check_foreign_keys(connection) -> None:
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"migration left rows violating foreign keys (table, rowid, parent, fk): {problems[:20]}")


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    is_sqlite = engine.dialect.name == "sqlite"
    if is_sqlite and engine.url.database not in (None, "", ":memory:"):
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)  # the default: instance/workbench.db
    if is_sqlite:
        # Runs after make_engine's own connect listener, which turned foreign keys on.
        event.listen(engine, "connect", _foreign_keys_off)
    applied = []
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                transactional_ddl=True if is_sqlite else None,
                on_version_apply=lambda **kw: applied.append(kw["step"]),
                **COMMON_OPTIONS,
            )
            with context.begin_transaction():
                context.run_migrations()
                if is_sqlite and applied:
                    _check_foreign_keys(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
