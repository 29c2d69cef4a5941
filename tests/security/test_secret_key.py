"""Defect 1 of issue 9: no key that appears in the source may sign anything.

The embedded mode makes a random key once and keeps it in the instance folder
(mode 0600) for every later start, web and worker alike; a production start
without a strong CFP_SECRET_KEY refuses to start."""
from __future__ import annotations

import contextlib
import secrets
import stat

import pytest
from flask.sessions import SecureCookieSessionInterface

from cfp import create_app
from cfp.config import ConfigurationError
from cfp.extensions import db

SETTINGS = ("CFP_SECRET_KEY", "CFP_DATABASE_URL", "CFP_REDIS_URL", "CFP_ENV", "CFP_SMTP_HOST",
            "CFP_BASE_URL", "CFP_CSRF_ENABLED")
# The rest of a complete production configuration (tests/test_production_settings.py
# checks that each is required); no server is reached by starting the app.
PRODUCTION = {"CFP_ENV": "production", "CFP_DATABASE_URL": "postgresql+psycopg://cfp@127.0.0.1:5432/cfp",
              "CFP_REDIS_URL": "redis://127.0.0.1:6379/0", "CFP_SMTP_HOST": "127.0.0.1",
              "CFP_BASE_URL": "https://cfp.example.org"}


@pytest.fixture
def start(app, monkeypatch, tmp_path):
    """Start the app as `create_app()` does in a fresh process: the environment
    alone decides (an embedded instance folder of its own, no setting unless given)."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CFP_INSTANCE_PATH", str(tmp_path / "instance"))
    started = []

    def start(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        other = create_app()
        started.append(other)
        return other

    yield start
    app.extensions["celery"].set_default()  # create_app made the new app's Celery the default
    for other in started:
        with other.app_context(), contextlib.suppress(Exception):
            db.engine.dispose()


def forged_session_cookie(key: str) -> str:
    """What anyone who reads the source could sign: the session of user 1."""
    from flask import Flask

    forger = Flask("forger")
    forger.secret_key = key
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps({"_user_id": "1"})


def test_the_embedded_mode_signs_with_a_random_key_kept_in_the_instance_folder(start, tmp_path):
    app = start()
    key_file = tmp_path / "instance" / "secret_key"
    assert app.secret_key == key_file.read_text().strip()
    assert len(app.secret_key) >= 64 and app.secret_key != "dev-only-change-me"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # A session signed with the key the source used to fall back to is not one.
    with app.test_request_context(headers={
            "Cookie": f"session={forged_session_cookie('dev-only-change-me')}"}):
        from flask import session

        assert "_user_id" not in session


def test_every_later_start_reuses_the_key_so_web_and_worker_agree(start):
    web, worker = start(), start()
    assert web.secret_key == worker.secret_key


def test_a_key_file_readable_by_others_is_made_private_again(start, tmp_path):
    first = start()
    key_file = tmp_path / "instance" / "secret_key"
    key_file.chmod(0o644)
    assert start().secret_key == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("env", [
    {"CFP_ENV": "production"},
    {"CFP_DATABASE_URL": "postgresql+psycopg://cfp@127.0.0.1:5432/cfp"},
    {"CFP_REDIS_URL": "redis://127.0.0.1:6379/0"},
], ids=["CFP_ENV", "PostgreSQL", "Redis"])
def test_a_production_start_without_a_key_refuses_to_start(start, tmp_path, env):
    with pytest.raises(ConfigurationError, match="CFP_SECRET_KEY is not set"):
        start(**env)
    assert not (tmp_path / "instance" / "secret_key").exists()  # nothing of its own either


@pytest.mark.parametrize("key, reason", [
    ("dev-only-change-me", "placeholder"),
    ("please-change-me-please-change-me-please", "placeholder"),
    ("your-secret-key-here-your-secret-key-here", "placeholder"),
    ("s3cr3t-but-short", "at least 32 bytes"),
    ("a" * 64, "too few different characters"),
    ("0101010101010101010101010101010101010101", "too few different characters"),
])
def test_a_production_start_with_a_weak_key_refuses_to_start(start, key, reason):
    with pytest.raises(ConfigurationError, match=reason):
        start(CFP_ENV="production", CFP_SECRET_KEY=key)


def test_a_weak_key_is_refused_in_the_embedded_mode_too(start):
    with pytest.raises(ConfigurationError, match="placeholder"):
        start(CFP_SECRET_KEY="dev-only-change-me")


def test_a_production_start_with_a_strong_key_uses_it(start, tmp_path):
    key = secrets.token_hex(32)
    assert start(**PRODUCTION, CFP_SECRET_KEY=key).secret_key == key
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_a_key_passed_by_configuration_wins(app):
    """The tests pass their own key, as any caller of create_app may."""
    assert app.secret_key.startswith("test-")
