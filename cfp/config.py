"""Settings read from the environment, with safe defaults for the embedded mode.

Nothing here touches the network or the disk at import time: `load_config` is
called by the app factory.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from datetime import timedelta
from pathlib import Path

SECRET_KEY_FILE = "secret_key"  # in the instance folder, embedded mode only
MIN_SECRET_KEY_BYTES = 32
MIN_SECRET_KEY_DISTINCT = 10  # fewer different characters than this is a pattern, not randomness
# Words of the values people leave in place ("change-me", "your-secret-key-here", the
# old embedded default): a key containing one is a placeholder, however long.
PLACEHOLDER_WORDS = ("changeme", "changethis", "devonly", "replaceme", "yoursecret", "secretkeyhere",
                     "notsecret", "notasecret", "insecure", "placeholder", "example")
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


class ConfigurationError(RuntimeError):
    """A setting that makes it unsafe to start; the message says what to set."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _positive_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def _whole_number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit():
        raise ConfigurationError(f"{name} must be a whole number (0 or more), not {value!r}")
    return int(value)


def load_config(instance_path: str) -> dict:
    instance = Path(instance_path)
    env = os.environ
    # A session ends after this long without a request, and this long after logging in
    # (OWASP ASVS level 2: 30 minutes idle, 12 hours in all), checked by cfp/auth/sessions.py.
    idle_minutes = _positive_int("CFP_SESSION_IDLE_MINUTES", 30)
    max_hours = _positive_int("CFP_SESSION_MAX_HOURS", 12)
    database_url = env.get("CFP_DATABASE_URL") or f"sqlite:///{instance / 'cfp.sqlite3'}"
    redis_url = env.get("CFP_REDIS_URL", "")
    broker_dir = instance / "broker"
    if redis_url:
        # A request relays its tasks after commit: with Redis down it must fail at once
        # (one connection attempt, a second to connect) and leave the rows to the sweep,
        # rather than wait through kombu's retries (about 6 s per task by default).
        broker = {"broker_url": redis_url, "broker_transport_options": {"max_retries": 0},
                  "broker_connection_timeout": 1}
    else:
        # Embedded mode: kombu's filesystem transport needs no server.
        broker = {
            "broker_url": "filesystem://",
            "broker_transport_options": {
                "data_folder_in": str(broker_dir / "queue"),
                "data_folder_out": str(broker_dir / "queue"),
                "processed_folder": str(broker_dir / "processed"),
                "control_folder": str(broker_dir / "control"),
                "store_processed": False,
            },
        }
    production = env.get("CFP_ENV", "").strip().lower() == "production"
    return {
        # None: the embedded mode makes one (see `resolve_secret_key`); production must set it.
        "SECRET_KEY": env.get("CFP_SECRET_KEY") or None,
        # Production is served over HTTPS: Secure cookies and HSTS (cfp/core/headers.py).
        "PRODUCTION": production,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "UPLOAD_FOLDER": env.get("CFP_UPLOAD_FOLDER", str(instance / "uploads")),
        "MAX_CONTENT_LENGTH": int(env.get("CFP_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024))),
        "BASE_URL": env.get("CFP_BASE_URL", "http://127.0.0.1:5000"),
        "MAIL_FROM": env.get("CFP_MAIL_FROM", "cfp@localhost"),
        # A TrueType font with Chinese glyphs that PDFs embed (default: one Debian installs).
        "CJK_FONT_PATH": env.get("CFP_CJK_FONT", ""),
        "SMTP_HOST": env.get("CFP_SMTP_HOST", ""),
        "SMTP_PORT": int(env.get("CFP_SMTP_PORT", "25")),
        "SMTP_USER": env.get("CFP_SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("CFP_SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env.get("CFP_SMTP_STARTTLS")),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        # The offered languages, by the name of their catalog folder in cfp/translations
        # (also what users.locale and agencies.locale store); en is the source language.
        "LANGUAGES": ["en", "fr", "zh_Hans"],
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent / "translations"),
        "BOOTSTRAP_SERVE_LOCAL": True,
        "WTF_CSRF_ENABLED": _bool(env.get("CFP_CSRF_ENABLED"), True),
        # How long the work a worker took is trusted to be in hand: past it, the worker is
        # taken for dead and the work is handed out again (cfp/core/tasks.py, outbox.py).
        "TASK_LEASE_SECONDS": _positive_int("CFP_TASK_LEASE_SECONDS", 15 * 60),
        "MAIL_CLAIM_LEASE_SECONDS": _positive_int("CFP_MAIL_CLAIM_LEASE_SECONDS", 3 * 60),
        # Messages a delivery sends over one SMTP connection: its own and others waiting.
        "MAIL_BATCH": _positive_int("CFP_MAIL_BATCH", 50),
        # Rows per page of every list (cfp/core/listing.py); `?per_page=` may ask for
        # fewer or more, up to MAX_PAGE_SIZE.
        "PAGE_SIZE": _positive_int("CFP_PAGE_SIZE", 50),
        "MAX_PAGE_SIZE": _positive_int("CFP_MAX_PAGE_SIZE", 200),
        # A CSV/XLSX export of more rows than this is built by a background job
        # (cfp/core/exports.py), into EXPORT_FOLDER (instance/exports by default).
        "EXPORT_INLINE_ROWS": _whole_number("CFP_EXPORT_INLINE_ROWS", 5000),
        "EXPORT_FOLDER": env.get("CFP_EXPORT_FOLDER", str(instance / "exports")),
        # A built export file (personal data) is deleted so many hours after its job ended.
        "EXPORT_KEEP_HOURS": _positive_int("CFP_EXPORT_KEEP_HOURS", 72),
        # Retention of personal data (cfp/auth/retention.py, applied daily): drafts never
        # submitted and unchanged for so many days are deleted; reviewers' confidential
        # comments and conflict declarations go so many days after their call was decided.
        "RETAIN_DRAFTS_DAYS": _positive_int("CFP_RETAIN_DRAFTS_DAYS", 730),
        "RETAIN_REVIEWER_DATA_DAYS": _positive_int("CFP_RETAIN_REVIEWER_DATA_DAYS", 1825),
        "SESSION_IDLE_MINUTES": idle_minutes,
        "SESSION_MAX_HOURS": max_hours,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=max_hours),  # also the signature's max age
        "REMEMBER_COOKIE_DURATION": timedelta(hours=max_hours),
        # How many proxies in front of the app add to X-Forwarded-For (and -Proto): the
        # client address (throttling of logins) is read that many hops back. 0: no proxy,
        # the headers are ignored (a client could forge them).
        "TRUSTED_PROXIES": _whole_number("CFP_TRUSTED_PROXIES", 0),
        # The proxy stamps X-Request-Start: a deadline is judged at that instant.
        "TRUST_REQUEST_START": _bool(env.get("CFP_TRUST_REQUEST_START")),
        # Every log line a JSON object (cfp.core.logs), for a log collector.
        "LOG_JSON": _bool(env.get("CFP_LOG_JSON")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "CELERY": {
            **broker,
            "result_backend": None,
            "task_ignore_result": True,
            "task_serializer": "json",
            "accept_content": ["json"],
            "result_serializer": "json",
            "timezone": "UTC",
            "task_acks_late": True,
            "worker_prefetch_multiplier": 1,
            "broker_connection_retry_on_startup": True,
            # Set by tests and the demo when no worker should be needed.
            "task_always_eager": _bool(env.get("CFP_CELERY_EAGER")),
            "beat_schedule_filename": str(instance / "celerybeat-schedule"),
        },
    }


def production_problems(config: dict) -> list[str]:
    """Settings a production start (CFP_ENV=production) refuses, each with what to set."""
    if not config.get("PRODUCTION"):
        return []
    problems = []
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        problems.append("CFP_DATABASE_URL is not set: production needs PostgreSQL "
                        "(postgresql+psycopg://user@host/db), not the embedded SQLite file")
    if not config.get("REDIS_URL"):
        problems.append("CFP_REDIS_URL is not set: production needs Redis as the Celery broker "
                        "(redis://host:6379/0), not the embedded filesystem broker")
    if not config.get("SMTP_HOST"):
        problems.append("CFP_SMTP_HOST is not set: production sends email through an SMTP server")
    if not str(config.get("BASE_URL", "")).startswith("https://"):
        problems.append(f"CFP_BASE_URL is {config.get('BASE_URL')!r}: production is served over "
                        "HTTPS, and links in emails must say so (https://cfp.example.org)")
    if not config.get("WTF_CSRF_ENABLED", True):
        problems.append("CFP_CSRF_ENABLED is off: production keeps CSRF protection on")
    return problems


# The secret key, which signs sessions and every token: never one that appears in the source.

def weak_key_reason(key: str) -> str | None:
    """Why `key` is not fit to sign anything, or None if it is."""
    words = re.sub(r"[^a-z0-9]", "", key.lower())
    if any(word in words for word in PLACEHOLDER_WORDS):
        return "it is a placeholder, not a secret"
    size = len(key.encode())
    if size < MIN_SECRET_KEY_BYTES:
        return f"it is {size} bytes long, and it needs at least {MIN_SECRET_KEY_BYTES} bytes"
    if len(set(key)) < MIN_SECRET_KEY_DISTINCT:
        return "it has too few different characters to be random"
    return None


def production_reasons(config: dict) -> list[str]:
    """Why this start is a production one, which must be given its key (several
    machines share none of the instance folder): empty in the embedded mode."""
    reasons = []
    if config.get("PRODUCTION"):
        reasons.append("CFP_ENV=production")
    if not str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        reasons.append("a database server")
    broker = str((config.get("CELERY") or {}).get("broker_url", ""))
    if config.get("REDIS_URL") or broker.startswith(("redis", "rediss")):
        reasons.append("a Redis broker")
    return reasons


def resolve_secret_key(config: dict, instance_path: str) -> str:
    """The key to sign with: the configured one if it is strong; otherwise, in the
    embedded mode only, the instance folder's own. Raises ConfigurationError."""
    key = config.get("SECRET_KEY")
    if key:
        reason = weak_key_reason(key)
        if reason is not None:
            raise ConfigurationError(
                f"CFP_SECRET_KEY is weak: {reason}. Set it to at least {MIN_SECRET_KEY_BYTES} "
                f"random bytes, the same for every web and worker process, e.g. from: {MAKE_A_KEY}")
        return key
    reasons = production_reasons(config)
    if reasons:
        raise ConfigurationError(
            f"CFP_SECRET_KEY is not set, and this is a production start ({', '.join(reasons)}). "
            f"Set it to at least {MIN_SECRET_KEY_BYTES} random bytes, the same for every web and "
            f"worker process, e.g. from: {MAKE_A_KEY}")
    return _instance_secret_key(Path(instance_path))


def _instance_secret_key(instance: Path) -> str:
    """A random key made by the first start and kept in the instance folder (mode
    0600), so that later starts, web and worker alike, sign with the same one."""
    path = instance / SECRET_KEY_FILE
    instance.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = instance / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(MIN_SECRET_KEY_BYTES) + "\n")
            with contextlib.suppress(FileExistsError):  # of two processes starting at once, one wins
                os.link(draft, path)  # never replaces
        finally:
            draft.unlink(missing_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
    key = path.read_text().strip()
    reason = weak_key_reason(key)
    if reason is not None:
        raise ConfigurationError(f"The secret key in {path} is weak: {reason}. Delete the file "
                                 "and start again to have a new one made (every session ends).")
    return key
