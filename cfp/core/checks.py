"""What an installation needs to run, checked one part at a time.

`cfp check` prints a line per check and fails on any problem; `/readyz` runs the
database, broker and migration checks and answers 503 if one fails, naming only the
part (the reason stays in the log). Each check returns a `Check`: its name, whether
it passed, and a line a person can act on.
"""
from __future__ import annotations

import functools
import logging
import smtplib
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app

from cfp.config import production_problems
from cfp.extensions import db

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
TIMEOUT = 3  # seconds: a part that does not answer this fast is not ready


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_settings(app: Flask) -> Check:
    problems = app.config.get("CFP_SETTING_PROBLEMS") or production_problems(app.config)
    if problems:
        return Check("settings", False, "; ".join(problems))
    mode = "production" if app.config.get("PRODUCTION") else "embedded or development"
    return Check("settings", True, f"{mode} settings are complete")


def check_database() -> Check:
    try:
        with db.engine.connect().execution_options(reading_only=True) as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001  (any failure is the answer)
        return Check("database", False, f"cannot reach {db.engine.url.render_as_string()}: {_short(exc)}")
    return Check("database", True, f"{db.engine.dialect.name} answers")


@functools.cache
def migration_heads() -> frozenset[str]:
    """The heads of the migrations this process was started with (read once: files that
    appear later belong to the code of the next start)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def check_migrations() -> Check:
    heads = migration_heads()
    try:
        with db.engine.connect().execution_options(reading_only=True) as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return Check("migrations", False, "the database has no schema: run `cfp init`")
            current = set(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    except Exception as exc:  # noqa: BLE001
        return Check("migrations", False, f"cannot read the schema's version: {_short(exc)}")
    if current != heads:
        return Check("migrations", False, f"the database is at {', '.join(sorted(current)) or 'nothing'}, "
                     f"the code at {', '.join(sorted(heads))}: run `flask --app wsgi db upgrade`")
    return Check("migrations", True, f"at head {', '.join(sorted(heads))}")


def check_broker() -> Check:
    celery_app = current_app.extensions["celery"]
    url = celery_app.conf.broker_url
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=TIMEOUT)
    except Exception as exc:  # noqa: BLE001
        return Check("broker", False, f"cannot reach {_safe_url(url)}: {_short(exc)}")
    return Check("broker", True, f"{_safe_url(url)} answers")


def check_smtp(app: Flask) -> Check:
    host, port = app.config.get("SMTP_HOST"), app.config.get("SMTP_PORT")
    if not host:
        if app.config.get("PRODUCTION"):
            return Check("smtp", False, "CFP_SMTP_HOST is not set")
        return Check("smtp", True, "no SMTP server set: email is kept in the outbox (the Mail page)")
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            if app.config.get("SMTP_STARTTLS"):
                smtp.starttls()
                smtp.ehlo()
            if app.config.get("SMTP_USER"):
                smtp.login(app.config["SMTP_USER"], app.config["SMTP_PASSWORD"])
            smtp.noop()
    except Exception as exc:  # noqa: BLE001
        return Check("smtp", False, f"cannot use {host}:{port}: {_short(exc)}")
    return Check("smtp", True, f"{host}:{port} answers")


def readiness() -> list[Check]:
    """What /readyz asks: can this process serve requests and queue work now."""
    return [check_database(), check_broker(), check_migrations()]


def all_checks(app: Flask) -> list[Check]:
    return [check_settings(app), *readiness(), check_smtp(app)]


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _safe_url(url: str) -> str:
    """A URL without its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001  (not a URL SQLAlchemy reads, e.g. filesystem://)
        return url.split("@")[-1] if "@" in url else url
