"""Issue 13: a new installation is set up and checked from the command line, and
probes tell a load balancer whether the process is up and ready.

The commands run as an operator runs them: `cfp ...` in a process of its own, with
the environment as its only input."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from cfp import create_app
from cfp.config import ConfigurationError
from cfp.extensions import db
from tests.conftest import REDIS_URL, pg_database

ROOT = Path(__file__).resolve().parents[1]
CFP = [sys.executable, "-c", "from cfp.cli import main; main()"]
SETTINGS = ("CFP_DATABASE_URL", "CFP_REDIS_URL", "CFP_SECRET_KEY", "CFP_ENV", "CFP_SMTP_HOST",
            "CFP_SMTP_PORT", "CFP_BASE_URL", "CFP_CELERY_EAGER", "CFP_INSTANCE_PATH")


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fresh_database(tmp_path):
    """An empty database of the kind this run tests (PostgreSQL or SQLite)."""
    if os.environ.get("CFP_TEST_DB", "postgresql") == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    with pg_database("cfp_fresh") as url:
        yield url


@pytest.fixture
def cfp(tmp_path, fresh_database):
    """Run `cfp ARGS` on the fresh database, with `env` added to a clean environment."""

    def run(*args, stdin: str = "", **env):
        base = {k: v for k, v in os.environ.items() if k not in SETTINGS}
        base |= {"CFP_INSTANCE_PATH": str(tmp_path / "instance"), "CFP_DATABASE_URL": fresh_database,
                 "CFP_SECRET_KEY": secrets.token_hex(32), "CFP_REDIS_URL": REDIS_URL}
        base |= env
        return subprocess.run([*CFP, *args], check=False, input=stdin, capture_output=True, text=True, cwd=ROOT,
                              env={k: v for k, v in base.items() if v is not None}, timeout=120)

    run.database_url = fresh_database
    return run


def _admins(database_url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT u.email, r.role FROM users u JOIN user_roles r ON r.user_id = u.id "
                "WHERE r.role = 'admin'")).all()
    finally:
        engine.dispose()


def test_init_builds_the_schema_and_the_first_admin_then_leaves_them(cfp):
    first = cfp("init", "--email", "Admin@Ministry.example", "--name", "First Admin",
                "--password-stdin", stdin="a long passphrase\n")
    assert first.returncode == 0, first.stderr
    assert "Administrator admin@ministry.example created" in first.stdout
    assert _admins(cfp.database_url) == [("admin@ministry.example", "admin")]

    again = cfp("init", "--email", "other@ministry.example", "--name", "Other", "--password-stdin",
                stdin="another long one\n")
    assert again.returncode == 0, again.stderr
    assert "An administrator exists already (admin@ministry.example)" in again.stdout
    assert _admins(cfp.database_url) == [("admin@ministry.example", "admin")]

    added = cfp("create-admin", "--email", "second@ministry.example", "--name", "Second",
                "--password-stdin", stdin="yet another passphrase\n")
    assert added.returncode == 0, added.stderr
    assert len(_admins(cfp.database_url)) == 2


def test_init_has_no_default_password(cfp):
    short = cfp("init", "--email", "admin@ministry.example", "--name", "Admin", "--password-stdin",
                stdin="short\n")
    assert short.returncode != 0
    assert "The password needs at least 10 characters." in short.stderr
    assert _admins(cfp.database_url) == []


def test_check_passes_on_a_working_installation_and_names_each_part(cfp):
    assert cfp("init", "--email", "a@b.example", "--name", "A", "--password-stdin",
               stdin="a long passphrase\n").returncode == 0
    result = cfp("check")
    assert result.returncode == 0, result.stdout + result.stderr
    for part in ("settings", "database", "broker", "migrations", "smtp"):
        assert f"ok   {part}:" in result.stdout
    assert "All checks passed." in result.stdout


@pytest.mark.parametrize("env, line", [
    ({"CFP_DATABASE_URL": f"postgresql+psycopg://cfp@127.0.0.1:{free_port()}/cfp"}, "FAIL database: cannot reach"),
    ({"CFP_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, "FAIL broker: cannot reach"),
    ({"CFP_SMTP_HOST": "127.0.0.1", "CFP_SMTP_PORT": str(free_port())}, "FAIL smtp: cannot use 127.0.0.1"),
    ({}, "FAIL migrations: the database has no schema: run `cfp init`"),
    ({"CFP_SECRET_KEY": "change-me"}, "FAIL settings: CFP_SECRET_KEY is weak"),
    ({"CFP_ENV": "production", "CFP_DATABASE_URL": None, "CFP_BASE_URL": "http://cfp.example.org"},
     "FAIL settings: CFP_DATABASE_URL is not set"),
], ids=["database", "broker", "smtp", "migrations", "weak key", "production"])
def test_check_names_each_misconfiguration_and_fails(cfp, env, line):
    result = cfp("check", **env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert line in result.stdout
    assert "problem(s)" in result.stdout


def test_a_production_start_refuses_each_weak_setting(monkeypatch, tmp_path, app):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CFP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CFP_ENV", "production")
    monkeypatch.setenv("CFP_SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("CFP_BASE_URL", "http://cfp.example.org")
    try:
        with pytest.raises(ConfigurationError) as refused:
            create_app()
    finally:
        app.extensions["celery"].set_current()
        app.extensions["celery"].set_default()
    message = str(refused.value)
    for setting in ("CFP_DATABASE_URL", "CFP_REDIS_URL", "CFP_SMTP_HOST", "CFP_BASE_URL"):
        assert setting in message


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_checks_database_broker_and_migrations(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ok", "database": "ok", "broker": "ok", "migrations": "ok"}


def test_readyz_answers_503_naming_only_the_failing_part(app, database_url):
    broken = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                         "SECRET_KEY": secrets.token_hex(32),
                         "CELERY": {"broker_url": f"redis://127.0.0.1:{free_port()}/0"}})
    try:
        response = broken.test_client().get("/readyz")
    finally:
        app.extensions["celery"].set_current()
        app.extensions["celery"].set_default()
        with broken.app_context():
            db.engine.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert body == {"status": "failing", "database": "ok", "broker": "failing", "migrations": "ok"}
    assert "127.0.0.1" not in response.get_data(as_text=True)  # a public probe tells no addresses


def test_each_answer_carries_a_request_id_and_a_task_keeps_it(client, app):
    from cfp.core.tasks import QueuedTask, queue_task

    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first.headers["X-Request-Id"]) == 32
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    # A proxy's id is not taken from an untrusted client.
    assert client.get("/healthz", headers={"X-Request-Id": "forged-id-1234"}).headers["X-Request-Id"] != "forged-id-1234"

    with app.test_request_context("/"):
        app.preprocess_request()
        from flask import g

        row = queue_task("tasks.relay")
        assert row.request_id == g.request_id
    assert db.session.get(QueuedTask, row.id).request_id == row.request_id
