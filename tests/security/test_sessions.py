"""Defect 5 of issue 9: sessions can be ended, and do not last forever.

A copied session cookie used to work after logout and after a password change,
for 31 days. Now logout, a password change or reset, a role change and "log out
everywhere" (the user's own, or an admin's) end every earlier session of the
user; a session also ends after CFP_SESSION_IDLE_MINUTES without a request and
CFP_SESSION_MAX_HOURS after logging in, checked on the server."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from cfp.auth import operations as ops
from cfp.config import ConfigurationError, load_config
from cfp.core.audit import AuditEntry
from cfp.core.errors import NotAllowed
from cfp.core.roles import Role
from cfp.extensions import db
from tests import factories as f


@pytest.fixture
def sides():
    cn, be, _committee = f.world()
    return cn, be


@pytest.fixture
def user(sides):
    return f.user(Role.staff, agency=sides[0], email="staff@most.example")


def copy_of(app, client):
    """Another browser holding a copy of `client`'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def logged_in(browser) -> bool:
    response = browser.get("/account")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_a_copied_cookie_works_while_the_session_lasts(app, client, user):
    f.login(client, user)
    assert logged_in(copy_of(app, client))


def test_logout_ends_a_copied_cookie(app, client, user):
    f.login(client, user)
    thief = copy_of(app, client)
    assert client.post("/logout").status_code == 302
    assert not logged_in(thief)
    assert not logged_in(client)


def test_logout_ends_the_other_sessions_of_the_user(app, user):
    laptop, phone = app.test_client(), app.test_client()
    f.login(laptop, user)
    f.login(phone, user)
    phone.post("/logout")
    assert not logged_in(laptop)


def test_a_password_change_ends_every_other_session_but_not_this_one(app, client, user):
    f.login(client, user)
    thief = copy_of(app, client)
    other_device = app.test_client()
    f.login(other_device, user)
    response = client.post("/account/password", data={
        "current": f.PASSWORD, "new": "another long password", "confirm": "another long password"})
    assert response.status_code == 302
    assert logged_in(client)  # whoever changed it carries on
    assert not logged_in(thief)
    assert not logged_in(other_device)


def test_a_password_reset_ends_every_earlier_session(app, client, user):
    f.login(client, user)
    thief = copy_of(app, client)
    ops.request_password_reset(user.email)
    from tests.auth.helpers import emailed_path

    path = emailed_path("reset_password", user.email)
    db.session.commit()
    browser = app.test_client()
    response = browser.post(path, data={"password": "a brand new password",
                                        "confirm": "a brand new password"})
    assert response.status_code == 302
    assert logged_in(browser)
    assert not logged_in(thief) and not logged_in(client)


def test_a_role_taken_away_ends_every_session(app, client, user, sides):
    f.login(client, user)
    thief = copy_of(app, client)
    user.revoke(Role.staff, sides[0])
    db.session.commit()
    assert not logged_in(thief) and not logged_in(client)


def test_a_role_given_ends_every_session(app, client, user):
    f.login(client, user)
    user.grant(Role.secretariat)
    db.session.commit()
    assert not logged_in(client)


def test_a_role_the_user_already_has_changes_nothing(app, client, user, sides):
    f.login(client, user)
    user.grant(Role.staff, sides[0])
    db.session.commit()
    assert logged_in(client)


def test_log_out_everywhere_from_the_account_page(app, client, user):
    f.login(client, user)
    page = client.get("/account").data.decode()
    assert 'action="/account/sessions/end"' in page
    thief = copy_of(app, client)
    response = client.post("/account/sessions/end")
    assert response.status_code == 302 and response.location == "/login"
    assert not logged_in(client) and not logged_in(thief)
    assert db.session.scalar(sa.select(AuditEntry).filter_by(action="user.end_sessions",
                                                             actor_id=user.id))
    f.login(client, user)  # logging in again works
    assert logged_in(client)


def test_an_admin_can_end_every_session_of_a_user(app, client, user):
    admin = f.user(Role.admin)
    f.login(client, user)
    ops.end_sessions(admin, user)
    db.session.commit()
    assert not logged_in(client)
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="user.end_sessions"))
    assert entry.actor_id == admin.id and entry.object_id == user.id


def test_nobody_else_can_end_a_users_sessions(user):
    with pytest.raises(NotAllowed):
        ops.end_sessions(f.user(Role.secretariat), user)


def test_a_cookie_of_the_old_kind_is_no_session(app, client, user):
    """Before this change the session held the bare user id."""
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session["_auth_at"] = session["_seen_at"] = int(time.time())
    assert not logged_in(client)


# Idle and absolute lifetimes, checked on the server from the signed session.

def shift(client, key: str, seconds: int) -> None:
    with client.session_transaction() as session:
        session[key] -= seconds


def test_a_session_idle_too_long_ends(app, client, user):
    f.login(client, user)
    shift(client, "_seen_at", app.config["SESSION_IDLE_MINUTES"] * 60 + 5)
    assert not logged_in(client)
    # and the copy is empty of the user now
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_a_request_within_the_idle_time_keeps_the_session(app, client, user):
    f.login(client, user)
    shift(client, "_seen_at", app.config["SESSION_IDLE_MINUTES"] * 60 - 60)
    assert logged_in(client)
    shift(client, "_seen_at", 120)  # counted from the last request, not from the login
    assert logged_in(client)


def test_a_session_ends_after_its_absolute_lifetime_however_busy(app, client, user):
    f.login(client, user)
    shift(client, "_auth_at", app.config["SESSION_MAX_HOURS"] * 3600 + 5)
    assert not logged_in(client)


def test_a_session_without_its_instants_is_no_session(app, client, user):
    f.login(client, user)
    with client.session_transaction() as session:
        del session["_auth_at"]
    assert not logged_in(client)


def test_the_lifetimes_are_settings_with_safe_defaults(monkeypatch, tmp_path):
    config = load_config(str(tmp_path))
    assert (config["SESSION_IDLE_MINUTES"], config["SESSION_MAX_HOURS"]) == (30, 12)
    assert config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 12 * 3600
    monkeypatch.setenv("CFP_SESSION_IDLE_MINUTES", "60")
    monkeypatch.setenv("CFP_SESSION_MAX_HOURS", "8")
    config = load_config(str(tmp_path))
    assert (config["SESSION_IDLE_MINUTES"], config["SESSION_MAX_HOURS"]) == (60, 8)
    monkeypatch.setenv("CFP_SESSION_IDLE_MINUTES", "0")
    with pytest.raises(ConfigurationError, match="CFP_SESSION_IDLE_MINUTES"):
        load_config(str(tmp_path))
