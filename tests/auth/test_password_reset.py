"""Password reset by an emailed link: the same answer for any address, a link
that expires and works once."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.auth import operations as ops
from cfp.auth.models import AccountToken
from cfp.core.audit import AuditEntry
from cfp.core.types import utcnow
from cfp.extensions import db
from tests import factories as f
from tests.auth.helpers import emailed_path, messages

NEW = "a brand new password"


@pytest.fixture
def user():
    cn, _be, _committee = f.world()
    return f.user(agency=cn, email="anne.dupont@uclouvain.example", email_verified_at=None)


def ask(client, email, **kw):
    return client.post("/reset-password", data={"email": email}, **kw)


def logs_in(client, email, password) -> bool:
    response = client.post("/login", data={"email": email, "password": password})
    if response.status_code == 302:
        client.post("/logout")
        return True
    return False


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(client, user):
    known = ask(client, user.email)
    known_page = client.get(known.location).data.decode()
    unknown = ask(client, "nobody@uclouvain.example")
    unknown_page = client.get(unknown.location).data.decode()

    assert (known.status_code, known.location) == (unknown.status_code, unknown.location) == (302, "/login")
    assert known_page.replace(user.email, "ADDRESS") == unknown_page.replace("nobody@uclouvain.example", "ADDRESS")
    assert "a link to choose a new password is on its way" in known_page
    assert len(messages("reset_password", user.email)) == 1
    assert messages("reset_password", "nobody@uclouvain.example") == []


def test_the_link_sets_a_new_password_once(client, user):
    ask(client, user.email)
    path = emailed_path("reset_password", user.email)
    form = client.get(path)
    assert form.status_code == 200 and user.email in form.data.decode()
    assert form.headers["Referrer-Policy"] == "no-referrer"

    response = client.post(path, data={"password": NEW, "confirm": NEW})
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/account").status_code == 200  # logged in by the link
    client.post("/logout")
    assert logs_in(client, user.email, NEW)
    assert not logs_in(client, user.email, f.PASSWORD)
    assert db.session.scalar(sa.select(AuditEntry).filter_by(action="user.reset_password", object_id=user.id))

    assert client.get(path).status_code == 400
    assert client.post(path, data={"password": "yet another password", "confirm": "yet another password"}).status_code == 400
    assert logs_in(client, user.email, NEW)


def test_the_form_keeps_the_link_usable_until_the_password_is_valid(client, user):
    ask(client, user.email)
    path = emailed_path("reset_password", user.email)
    response = client.post(path, data={"password": "short", "confirm": "short"})
    assert response.status_code == 200 and "At least 10 characters" in response.data.decode()
    response = client.post(path, data={"password": NEW, "confirm": "something else"})
    assert "The passwords differ" in response.data.decode()
    assert client.post(path, data={"password": NEW, "confirm": NEW}).status_code == 302


def test_an_expired_link_is_refused(client, user):
    ops.request_password_reset(user.email, now=utcnow() - ops.RESET_PASSWORD_LIFETIME - timedelta(seconds=1))
    db.session.commit()
    path = emailed_path("reset_password", user.email)
    assert client.get(path).status_code == 400
    assert client.post(path, data={"password": NEW, "confirm": NEW}).status_code == 400
    assert logs_in(client, user.email, f.PASSWORD)


def test_the_link_works_for_one_hour(user):
    sent = utcnow()
    ops.request_password_reset(user.email, now=sent)
    token = emailed_path("reset_password", user.email).rsplit("/", 1)[1]
    with pytest.raises(ops.InvalidLink):
        ops.reset_password(token, NEW, now=sent + timedelta(hours=1))
    assert ops.reset_password(token, NEW, now=sent + timedelta(minutes=59, seconds=59)) is user
    assert user.password_changed_at == sent + timedelta(minutes=59, seconds=59)


def test_using_one_link_kills_the_others(client, user):
    ask(client, user.email)
    first = emailed_path("reset_password", user.email)
    ask(client, user.email)
    second = emailed_path("reset_password", user.email)
    assert first != second
    assert client.post(second, data={"password": NEW, "confirm": NEW}).status_code == 302
    assert client.get(first).status_code == 400


def test_changing_the_password_kills_the_links(client, user):
    ask(client, user.email)
    path = emailed_path("reset_password", user.email)
    f.login(client, user)
    response = client.post("/account/password", data={"current": f.PASSWORD, "new": NEW, "confirm": NEW})
    assert response.status_code == 302
    assert client.get(path).status_code == 400


def test_the_link_is_built_on_the_configured_address_not_the_requests_host(client, user):
    ask(client, user.email, headers={"Host": "attacker.example"})
    [message] = messages("reset_password", user.email)
    assert "attacker.example" not in message.body
    assert "http://localhost/reset-password/" in message.body


def test_at_most_three_links_an_hour_and_the_same_answer(client, user):
    answers = {(r.status_code, r.location) for r in (ask(client, user.email) for _ in range(5))}
    assert answers == {(302, "/login")}
    assert len(messages("reset_password", user.email)) == ops.RESET_REQUESTS_PER_HOUR
    ops.request_password_reset(user.email, now=utcnow() + timedelta(hours=1, seconds=1))
    assert len(messages("reset_password", user.email)) == ops.RESET_REQUESTS_PER_HOUR + 1


def test_a_disabled_account_gets_no_link(client, user):
    user.active = False
    db.session.commit()
    assert ask(client, user.email).location == "/login"
    assert messages("reset_password", user.email) == []


def test_resetting_verifies_the_address(client, user):
    assert user.email_verified_at is None
    ask(client, user.email)
    client.post(emailed_path("reset_password", user.email), data={"password": NEW, "confirm": NEW})
    db.session.refresh(user)
    assert user.email_verified


def test_only_a_hash_of_the_token_is_stored(client, user):
    ask(client, user.email)
    token = emailed_path("reset_password", user.email).rsplit("/", 1)[1]
    row = db.session.scalar(sa.select(AccountToken).filter_by(user_id=user.id))
    assert len(row.token_hash) == 64 and token != row.token_hash
    assert row.expires_at - row.created_at == ops.RESET_PASSWORD_LIFETIME and row.used_at is None
