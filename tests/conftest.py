"""Test set-up: one app and one schema per run (built by the real migrations),
each test inside a transaction that is rolled back (savepoints inside)."""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import scoped_session, sessionmaker

from cfp import create_app
from cfp.extensions import db
from workers import wire

PG_ADMIN_URL = os.environ.get("CFP_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CFP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _database_url(tmp: Path) -> str:
    kind = os.environ.get("CFP_TEST_DB", "postgresql")
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'test.sqlite3'}"
    # One database per test process, so parallel runs never drop each other's.
    name = os.environ.get("CFP_TEST_PG_DATABASE", f"cfp_test_{os.getpid()}")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@contextlib.contextmanager
def pg_database(prefix: str):
    """A PostgreSQL database of its own (its URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (so its own session and `g`, as in
    production); afterwards the test's own session forgets what it had loaded."""

    def open(self, *args, **kwargs):
        app = self.application
        with app.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


@pytest.fixture(scope="session")
def instance_dir():
    with tempfile.TemporaryDirectory(prefix="cfp-test-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def database_url(instance_dir):
    return _database_url(instance_dir)


@pytest.fixture(scope="session")
def app(instance_dir, database_url):
    os.environ["CFP_INSTANCE_PATH"] = str(instance_dir)
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-" + uuid.uuid4().hex,
        "UPLOAD_FOLDER": str(instance_dir / "uploads"),
        "BASE_URL": "http://localhost",
        "SMTP_HOST": "",  # never a real mail server, whatever the environment says
        "CELERY": {"task_always_eager": True, "task_eager_propagates": True,
                   "broker_url": REDIS_URL},
    })
    app.test_client_class = FreshContextClient
    wire(app.extensions["celery"])  # the tasks, so that eager mode runs them in place
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")
    yield app
    with app.app_context():
        db.engine.dispose()
    if database_url.startswith("postgresql"):
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = database_url.rsplit("/", 1)[1]
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _transaction(request, app):
    """Every test runs in a transaction rolled back at the end; every session
    opened meanwhile (requests, eager tasks) shares its connection."""
    if request.node.get_closest_marker("browser"):
        yield  # a database of its own, served by a live server (tests/browser/conftest.py)
        return
    if request.node.get_closest_marker("real_commits"):
        with app.app_context():
            yield
            _truncate_all()
        return
    ctx = app.app_context()
    ctx.push()
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
        scopefunc=original.registry.scopefunc,
    )
    try:
        yield
    finally:
        db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()
        ctx.pop()


def _truncate_all() -> None:
    """Empty every table after a test that committed for real. A worker process
    may still be finishing a task (an email it was handed last); if the two
    deadlock, PostgreSQL aborts one of them and we try again."""
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    for attempt in range(10):
        try:
            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
                    conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                         + " RESTART IDENTITY CASCADE"))
                    conn.execute(sa.text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))
                else:
                    for t in tables:
                        conn.execute(sa.text(f'DELETE FROM "{t}"'))
            return
        except sa.exc.OperationalError:
            if attempt == 9:
                raise
            time.sleep(0.5)


@pytest.fixture
def client(app):
    return app.test_client()


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: a journey in Chromium against the live server, on its own database")
    config.addinivalue_line("markers", "real_commits: the test commits for real (a worker process reads the data)")
    config.addinivalue_line("markers", "production: runs the Procfile on PostgreSQL whatever CFP_TEST_DB says (tests/run.sh runs it in the PostgreSQL run only)")
    config.addinivalue_line("markers", "multihost: web and worker hosts in network namespaces; PostgreSQL only")
    config.addinivalue_line("markers", "once: long, and the same on either database (what pages show): "
                                       "tests/run.sh runs it in the PostgreSQL run only")
