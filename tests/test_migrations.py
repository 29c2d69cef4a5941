"""The models and the migrations agree, and the migrations run both ways."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from cfp import create_app
from cfp.extensions import db
from tests.conftest import PG_ADMIN_URL


def test_models_match_the_migrated_schema():
    """What `flask db migrate` would generate now is nothing: the schema the
    test session built with the migrations is the one the models describe."""
    context = MigrationContext.configure(
        db.session.connection(), opts={"compare_type": True, "compare_server_default": True}
    )
    assert compare_metadata(context, db.metadata) == []


def test_migrations_have_a_single_head(app):
    """Two migrations written in parallel leave two heads, and a plain
    `flask db upgrade` refuses to run; merge them (`flask db merge heads`)."""
    config = app.extensions["migrate"].migrate.get_config()
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


@contextmanager
def scratch_database_url(database_url: str, tmp_path):
    """An empty database of the same kind as the test database, dropped afterwards."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = os.environ.get("CFP_TEST_PG_DATABASE", f"cfp_test_{os.getpid()}") + "_migrations"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_app(app, url: str):
    """A second app on `url`. Building it makes its Celery the process default,
    so the session app's Celery is put back afterwards."""
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                        "SECRET_KEY": "migrations-" + uuid.uuid4().hex})
    session_celery = app.extensions["celery"]
    session_celery.set_current()
    session_celery.set_default()
    try:
        with other.app_context():
            yield other
    finally:
        with other.app_context():
            db.engine.dispose()


def _schema(engine) -> tuple[set[str], set[str]]:
    """Tables, and (on PostgreSQL) functions of the public schema."""
    tables = set(sa.inspect(engine).get_table_names())
    functions = set()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            functions = set(conn.scalars(sa.text(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public'"
            )))
    return tables, functions


def test_downgrade_to_base_and_upgrade_again(app, database_url, tmp_path):
    model_tables = set(db.metadata.tables)
    with scratch_database_url(database_url, tmp_path) as url, scratch_app(app, url):
        upgrade(revision="heads")
        tables, functions = _schema(db.engine)
        assert tables == model_tables | {"alembic_version"}
        if db.engine.dialect.name == "postgresql":
            assert "audit_entries_append_only" in functions

        downgrade(revision="base")
        assert _schema(db.engine) == ({"alembic_version"}, set())

        upgrade(revision="heads")
        assert _schema(db.engine) == (tables, functions)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []



def test_entries_written_before_committees_get_theirs_from_the_migration(app, database_url, tmp_path):
    """Issue 13: the migration that gives audit entries a committee fills it for the entries
    already there, from the object each names; installation-wide ones keep none."""
    from cfp.core.audit import AuditEntry, log_action
    from cfp.core.jobs import Job
    from cfp.core.roles import Role
    from tests import factories as f

    with scratch_database_url(database_url, tmp_path) as url, scratch_app(app, url):
        upgrade(revision="heads")
        _cn, _be, committee = f.world()
        admin = f.user(Role.admin)
        call = f.call(committee)
        proposal = f.proposal(call, f.user(Role.researcher, agency=_cn))
        review_of = f.assignment(proposal, f.reviewer(_cn))
        meeting = f.meeting(committee)
        job = Job(kind="assignment", created_by_id=admin.id, params={"call_id": call.id})
        db.session.add(job)
        for obj in (job, call, call.sides[0], proposal, review_of, meeting, f.decision(meeting), committee, admin):
            log_action(admin, "test.before", obj)
        db.session.commit()
        expected = dict(db.session.execute(sa.select(AuditEntry.id, AuditEntry.committee_id)).all())
        assert set(expected.values()) == {committee.id, None}
        db.session.remove()

        # To the revision before the one that gives entries their committee, and back.
        config = app.extensions["migrate"].migrate.get_config()
        downgrade(revision=ScriptDirectory.from_config(config).get_revision("admin13audit01").down_revision)
        assert "committee_id" not in {c["name"] for c in sa.inspect(db.engine).get_columns("audit_entries")}
        upgrade(revision="heads")
        assert dict(db.session.execute(sa.select(AuditEntry.id, AuditEntry.committee_id)).all()) == expected
        db.session.remove()
