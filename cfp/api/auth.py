"""Who an API request is: the owner of the personal access token it carries
(`Authorization: Bearer cfp_…`), or nobody. The API never reads the session cookie, so
a browser's session can neither read nor write through it (and needs no CSRF token);
a token allows reading, or reading and writing (its scope)."""
from __future__ import annotations

import math

from flask import abort, current_app, g, request
from flask_babel import gettext as _

from cfp.auth.api_tokens import find_active_token, note_use
from cfp.auth.models import ApiScope
from cfp.auth.operations import address_wait, client_address, record_failed_token
from cfp.core.types import utcnow
from cfp.extensions import db

READING_METHODS = ("GET", "HEAD", "OPTIONS")


def authenticate() -> None:
    """Before each API request: the token's owner becomes `current_user` (Flask-Login
    reads `g._login_user`), or an anonymous user; a token that is no token any more
    answers 401, a read token asked to write 403."""
    g._login_user = current_app.login_manager.anonymous_user()
    g.api_token = None
    header = request.headers.get("Authorization")
    if header is None:
        if request.method not in READING_METHODS:  # every change needs a token, before all else
            abort(401, _("This needs a personal access token (make one on your account page)."))
        return
    now = utcnow()
    wait = address_wait(client_address(request.remote_addr), now)
    if wait:  # guessing tokens (or passwords) from this address: slowed down, nothing checked
        seconds = math.ceil(wait.total_seconds())
        abort(429, _("Too many refused attempts from your address; try again in %(s)s seconds.", s=seconds),
              retry_after=seconds)
    scheme, _sep, value = header.strip().partition(" ")
    row = find_active_token(value.strip()) if scheme.lower() == "bearer" and value.strip() else None
    if row is None:
        record_failed_token(request.remote_addr, now)
        db.session.commit()  # the failure counts, whatever the answer
        if scheme.lower() != "bearer" or not value.strip():
            abort(401, _("Send a personal access token as “Authorization: Bearer <token>”."))
        abort(401, _("This token is unknown, revoked, or its account is deactivated."))
    g._login_user, g.api_token = row.user, row
    if note_use(row):
        db.session.commit()  # the only change so far: the token's last use
    needed = ApiScope.read if request.method in READING_METHODS else ApiScope.write
    if not row.allows(needed):
        abort(403, _("This token may only read; make a token with the write scope to change data."))


def require_token() -> None:
    """The operations that are not public: 401 without a token."""
    if g.get("api_token") is None:
        abort(401, _("This needs a personal access token (make one on your account page)."))
