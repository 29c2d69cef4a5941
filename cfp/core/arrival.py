"""When a request arrived. A deadline is judged by the instant a request reached the
server, not the instant a worker process got to it (in a rush, requests wait in the
server's queue). Behind a proxy that stamps `X-Request-Start` (nginx:
`proxy_set_header X-Request-Start "t=${msec}";`), set CFP_TRUST_REQUEST_START=1 and that
instant counts; otherwise the earliest the app can tell: a WSGI middleware stamps each
request before Flask does anything with it."""
from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import current_app, has_request_context, request

from cfp.core.types import utcnow

ENVIRON_KEY = "cfp.arrived_at"


class StampArrival:
    """WSGI middleware: the instant the request came in, in its environ."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        environ.setdefault(ENVIRON_KEY, time.time())
        return self.wsgi_app(environ, start_response)


def _proxy_stamp(value: str) -> float | None:
    """X-Request-Start as seconds since the epoch: "t=1700000000.123", or in ms or µs."""
    text = value.strip().removeprefix("t=")
    try:
        number = float(text)
    except ValueError:
        return None
    for scale in (1, 1e3, 1e6):  # seconds, milliseconds, microseconds
        if number / scale < 1e10:
            return number / scale
    return None


def arrived_at() -> datetime:
    """The instant the current request arrived (now, outside a request)."""
    if not has_request_context():
        return utcnow()
    now = utcnow()
    stamp = request.environ.get(ENVIRON_KEY)
    if current_app.config.get("TRUST_REQUEST_START"):
        stamp = _proxy_stamp(request.headers.get("X-Request-Start", "")) or stamp
    if stamp is None:
        return now
    return min(datetime.fromtimestamp(stamp, UTC), now)  # never later than now
