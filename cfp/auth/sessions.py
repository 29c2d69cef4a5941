"""Sessions: whose they are, and how long they last, checked on the server.

A session (a cookie signed with the secret key) holds the user's id and session
generation (`User.get_id`), the instant of logging in (`_auth_at`) and of the
last request (`_seen_at`). It is no session any more once the generation moved
on (logout, a password change or reset, a role change, "log out everywhere"),
after SESSION_IDLE_MINUTES without a request, or SESSION_MAX_HOURS after logging
in, whichever comes first."""
from __future__ import annotations

import re
import time

from flask import Flask, current_app, g, session
from flask_login import user_logged_in

from cfp.core.params import MAX_ID
from cfp.extensions import db, login_manager

_SESSION_ID = re.compile(r"([0-9]{1,10}):([0-9]{1,10})")
SEEN_GRANULARITY = 60  # seconds: `_seen_at` is rewritten (and the cookie re-sent) at most this often
_KEYS = ("_user_id", "_fresh", "_id", "_auth_at", "_seen_at")


def register(app: Flask) -> None:
    login_manager.user_loader(load_user)
    user_logged_in.connect(start_session, app)
    app.after_request(keep_session)


def load_user(session_id: str):
    """The user of this session, or None (anonymous) if it is none any more."""
    from cfp.auth.models import User

    match = _SESSION_ID.fullmatch(session_id or "")
    user = None
    if match and int(match[1]) <= MAX_ID and _within_lifetimes():
        user = db.session.get(User, int(match[1]))
        if user is not None and user.session_generation != int(match[2]):
            user = None
    if user is None:
        for key in _KEYS:  # what is left of it is forgotten
            session.pop(key, None)
    return user


def _within_lifetimes() -> bool:
    auth_at, seen_at = session.get("_auth_at"), session.get("_seen_at")
    if not isinstance(auth_at, int) or not isinstance(seen_at, int):
        return False
    now = int(time.time())
    config = current_app.config
    return (now - seen_at <= config["SESSION_IDLE_MINUTES"] * 60
            and now - auth_at <= config["SESSION_MAX_HOURS"] * 3600)


def start_session(sender, user, **extra) -> None:
    """On every login_user(): the instants the lifetimes are counted from."""
    session["_auth_at"] = session["_seen_at"] = int(time.time())


def keep_session(response):
    """After a request of a logged-in user: note that it was seen, and if the
    request itself ended the user's sessions (their own password change, a role
    they took), carry this session over to the new generation."""
    user = g.get("_login_user")
    if user is None or not user.is_authenticated or g.get("api_token") is not None:
        return response  # an API request (a token's) has no session: no cookie is set
    if user.keeps_current_session and session.get("_user_id") != user.get_id():
        session["_user_id"] = user.get_id()
    now = int(time.time())
    if now - session.get("_seen_at", 0) >= SEEN_GRANULARITY:
        session["_seen_at"] = now
    return response
