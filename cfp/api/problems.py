"""Errors of the REST API as `application/problem+json` (RFC 9457): every error an API
request meets (a refusal of a view, a validation error, an unknown /api/v1 route, a
wrong method) is answered so, with `type`, `title`, `status` and `detail`."""
from __future__ import annotations

from http import HTTPStatus

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
PREFIX = "/api/v1"
# Types beyond the status code's own (about:blank): the docs page's anchors.
STALE_VERSION = f"{PREFIX}/docs#problem-stale-version"
VALIDATION = f"{PREFIX}/docs#problem-validation"
REFUSED = f"{PREFIX}/docs#problem-refused"


def is_api_request() -> bool:
    path = request.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def problem(status: int, detail: str | None = None, *, type_: str = "about:blank",
            title: str | None = None, headers: dict | None = None, **extra) -> Response:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = str(status)
    body = {"type": type_, "title": title or phrase, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_exception(error: HTTPException) -> Response:
    """An HTTPException (a view's abort, webargs' validation, Werkzeug's routing) as a problem."""
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if error.code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="cfp"')
    if getattr(error, "retry_after", None) is not None:  # 429: when to come back
        headers["Retry-After"] = str(error.retry_after)
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    errors = data.get("errors") or data.get("messages")
    if errors:  # webargs: {"json": {"field": ["message"]}}
        return problem(error.code, data.get("message") or "The request's parameters are not valid.",
                       type_=VALIDATION, errors=errors, headers=headers)
    detail = data.get("message") or (error.description if error.description else None)
    return problem(error.code or 500, detail, type_=data.get("type", "about:blank"), headers=headers)
