"""``workbench.migration_compare``: what autogenerate misses, found against a real SQLite schema.

Each test builds the "database" from one MetaData and compares another against it, so the
reflected side is what SQLite reports, not a hand-written dict.
"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.dialects import postgresql

from workbench.db import make_engine
from workbench.migration_compare import check_values, render_item, revision_directives, table_ops, where_sql
from workbench.models.core import UTCDateTime

CONVENTION = {"ck": "ck_%(table_name)s_%(constraint_name)s", "ix": "ix_%(column_0_label)s"}


def _metadata(roles=("rater", "admin"), where="active = 1", with_flag=True) -> sa.MetaData:
    metadata = sa.MetaData(naming_convention=CONVENTION)
    columns = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("role", sa.Enum(*roles, name="role", native_enum=False, create_constraint=True)),
        sa.Column("item", sa.Integer),
    ]
    if with_flag:
        columns.append(sa.Column("active", sa.Integer))
    table = sa.Table("things", metadata, *columns)
    sa.Index("uq_things_item", table.c.item, unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where))
    return metadata


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/compare.db")
    yield engine
    engine.dispose()


def _ops(engine, have: sa.MetaData, want: sa.MetaData) -> list:
    have.create_all(engine)
    with engine.connect() as connection:
        return table_ops(connection, want)


def test_same_schema_gives_nothing(engine):
    assert _ops(engine, _metadata(), _metadata()) == []


def test_a_new_enum_value_drops_and_adds_the_check(engine):
    found = _ops(engine, _metadata(), _metadata(roles=("rater", "admin", "author")))
    assert len(found) == 1 and found[0].table_name == "things"
    drop, add = found[0].ops
    assert isinstance(drop, ops.DropConstraintOp) and isinstance(add, ops.AddConstraintOp)
    assert drop.constraint_name == add.constraint_name == "ck_things_role"
    assert check_values(str(add.to_constraint().sqltext)) == ["rater", "admin", "author"]
    assert check_values(str(drop.to_constraint().sqltext)) == ["rater", "admin"]


def test_reordered_enum_values_are_the_same_check(engine):
    assert _ops(engine, _metadata(), _metadata(roles=("admin", "rater"))) == []


def test_a_changed_partial_index_is_dropped_and_recreated(engine):
    found = _ops(engine, _metadata(), _metadata(where="active = 2"))
    assert len(found) == 1
    drop, create = found[0].ops
    assert isinstance(drop, ops.DropIndexOp) and isinstance(create, ops.CreateIndexOp)
    assert drop.index_name == create.index_name == "uq_things_item"
    old = drop.to_index()
    # the downgrade recreates the old rule on both backends
    assert str(old.dialect_kwargs["sqlite_where"]) == str(old.dialect_kwargs["postgresql_where"])
    assert "1" in str(old.dialect_kwargs["sqlite_where"]) and old.unique
    assert "2" in str(create.to_index().dialect_kwargs["sqlite_where"])


def test_new_tables_and_columns_are_left_to_alembic(engine):
    assert _ops(engine, sa.MetaData(), _metadata()) == []  # no table at all
    want = _metadata(roles=("rater", "admin", "author"))
    want.tables["things"].append_column(
        sa.Column("extra", sa.Enum("x", name="extra", native_enum=False, create_constraint=True))
    )
    found = _ops(engine, _metadata(), want)
    names = [op.constraint_name for op in found[0].ops if isinstance(op, ops.AddConstraintOp)]
    assert names == ["ck_things_role"]  # not the CHECK of the new column


def test_where_sql_ignores_spelling():
    table = _metadata().tables["things"]
    dialect = sa.create_engine("sqlite://").dialect
    assert where_sql('("things"."active" = 1)', table, dialect) == where_sql("active=1", table, dialect) == "active=1"
    assert where_sql(table.c.active == 1, table, dialect) == "active=1"
    assert where_sql(None, table, dialect) == ""


def test_check_values_unescapes_quotes():
    assert check_values("role IN ('a', 'it''s', 'b')") == ["a", "it's", "b"]
    assert check_values("role::text = ANY (ARRAY['x'::character varying, 'y'::character varying])") == ["x", "y"]


def test_render_item_writes_plain_types():
    context = SimpleNamespace(imports=set())
    assert render_item("type", UTCDateTime(), context) == f"sa.{UTCDateTime().impl!r}"
    assert render_item("type", postgresql.JSONB(), context) == "postgresql.JSONB()"
    assert context.imports == {"from sqlalchemy.dialects import postgresql"}
    assert render_item("type", sa.Integer(), context) is False
    assert render_item("column", sa.Column("x", sa.Integer), context) is False


def test_hook_appends_upgrade_and_reverse_downgrade(engine):
    _metadata().create_all(engine)
    script = ops.MigrationScript("rev", ops.UpgradeOps([]), ops.DowngradeOps([]))
    with engine.connect() as connection:
        context = SimpleNamespace(connection=connection)
        revision_directives(_metadata(where="active = 2"))(context, None, [script])
    (up,) = script.upgrade_ops.ops
    (down,) = script.downgrade_ops.ops
    assert [type(o) for o in up.ops] == [ops.DropIndexOp, ops.CreateIndexOp]
    assert [type(o) for o in down.ops] == [ops.DropIndexOp, ops.CreateIndexOp]
    assert "1" in str(down.ops[1].to_index().dialect_kwargs["sqlite_where"])


def test_hook_does_nothing_offline():
    script = ops.MigrationScript("rev", ops.UpgradeOps([]), ops.DowngradeOps([]))
    revision_directives(_metadata())(SimpleNamespace(connection=None), None, [script])
    assert script.upgrade_ops.ops == [] and script.downgrade_ops.ops == []


def test_module_imports_no_flask():
    code = "import sys, workbench.migration_compare; print(any(m.split('.')[0] == 'flask' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
