"""Settings read from the environment, with safe defaults for the embedded mode.

Nothing here touches the network or the disk at import time: `load_config` is
called by the app factory.
"""
from __future__ import annotations

import os
from pathlib import Path


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _whole_number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number (0 or more), not {value!r}")
    return int(value)


def load_config(instance_path: str) -> dict:
    instance = Path(instance_path)
    env = os.environ
    database_url = env.get("CFP_DATABASE_URL") or f"sqlite:///{instance / 'cfp.sqlite3'}"
    redis_url = env.get("CFP_REDIS_URL", "")
    broker_dir = instance / "broker"
    if redis_url:
        broker = {"broker_url": redis_url}
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
    return {
        "SECRET_KEY": env.get("CFP_SECRET_KEY", "dev-only-change-me"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "UPLOAD_FOLDER": env.get("CFP_UPLOAD_FOLDER", str(instance / "uploads")),
        "MAX_CONTENT_LENGTH": int(env.get("CFP_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024))),
        "BASE_URL": env.get("CFP_BASE_URL", "http://127.0.0.1:5000"),
        "MAIL_FROM": env.get("CFP_MAIL_FROM", "cfp@localhost"),
        "SMTP_HOST": env.get("CFP_SMTP_HOST", ""),
        "SMTP_PORT": int(env.get("CFP_SMTP_PORT", "25")),
        "SMTP_USER": env.get("CFP_SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("CFP_SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env.get("CFP_SMTP_STARTTLS")),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": ["en", "fr", "zh"],
        "BOOTSTRAP_SERVE_LOCAL": True,
        "WTF_CSRF_ENABLED": _bool(env.get("CFP_CSRF_ENABLED"), True),
        # How many proxies in front of the app add to X-Forwarded-For (and -Proto): the
        # client address (throttling of logins) is read that many hops back. 0: no proxy,
        # the headers are ignored (a client could forge them).
        "TRUSTED_PROXIES": _whole_number("CFP_TRUSTED_PROXIES", 0),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
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
