"""Logs: a request id for every web request, carried into the tasks it queues.

Each request gets an id (a trusted proxy's `X-Request-Id`, else a new one), sent back
in the `X-Request-Id` header; gunicorn's access log writes one line per request with
it (gunicorn.conf.py). A task queued by the request keeps the id on its outbox row and
carries it to the worker, which logs one line per task with it. With `CFP_LOG_JSON=1`
every line is a JSON object."""
from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, g, request

current_request_id: ContextVar[str | None] = ContextVar("cfp_request_id", default=None)
HEADER = "X-Request-Id"
VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")  # what a proxy's id may look like to be kept
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Gives every record the id of the request or task it belongs to ("-" outside)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    FIELDS = ("request_id", "task", "task_id", "status", "duration_ms", "method", "path")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        entry |= {key: getattr(record, key) for key in self.FIELDS if getattr(record, key, None) is not None}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(json_lines: bool, level: int = logging.INFO) -> None:
    """Root logging: one handler on stderr, text or JSON lines, with request ids."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def register(app: Flask) -> None:
    if app.config.get("LOG_JSON"):
        setup_logging(json_lines=True)
    trust_header = bool(app.config.get("TRUSTED_PROXIES"))

    @app.before_request
    def stamp_request_id() -> None:
        given = request.headers.get(HEADER, "") if trust_header else ""
        g.request_id = given if VALID.match(given) else uuid.uuid4().hex
        g.request_id_token = current_request_id.set(g.request_id)

    @app.after_request
    def send_request_id(response):
        if "request_id" in g:
            response.headers[HEADER] = g.request_id
        return response

    @app.teardown_request
    def forget_request_id(exc=None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            current_request_id.reset(token)
