"""Absolute links for emails, built on the configured BASE_URL."""
from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for


def external_url(endpoint: str, **values) -> str:
    """An absolute link built on BASE_URL, never on the request's Host header
    (which the client chooses: an emailed link must not point at another server)."""
    base_url = current_app.config["BASE_URL"]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
    with contextlib.ExitStack() as stack:
        if not has_request_context():  # a worker, a command, a test
            stack.enter_context(current_app.test_request_context(base_url=base_url))
        return origin + url_for(endpoint, **values)  # the path includes any script root
