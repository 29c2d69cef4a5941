"""Registration, and the verification of the address by an emailed link."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.auth import operations as ops
from cfp.auth.models import AccountToken, TokenPurpose, User
from cfp.core.audit import AuditEntry
from cfp.core.errors import DomainError
from cfp.core.outbox import MessageStatus
from cfp.core.types import utcnow
from cfp.extensions import db
from tests import factories as f
from tests.auth.helpers import emailed_path, messages

EMAIL = "li.wei@tsinghua.example"


@pytest.fixture
def sides():
    cn, be, _committee = f.world()
    return cn, be


def register(client, cn, **overrides):
    data = {"name": "Li Wei", "name_original": "李伟", "email": EMAIL, "agency_id": cn.id,
            "affiliation": "Tsinghua University", "password": "a long password",
            "confirm": "a long password", **overrides}
    return client.post("/register", data=data)


def account(email=EMAIL) -> User:
    return db.session.scalar(sa.select(User).filter_by(email=email))


def test_registering_creates_an_unverified_account_and_emails_a_link(client, sides):
    response = register(client, sides[0])
    assert response.status_code == 302
    user = account()
    assert user.email_verified_at is None and not user.email_verified and not user.can_apply()
    [message] = messages("verify_email", EMAIL)
    assert message.status == MessageStatus.sent  # delivered after the commit (eager worker)
    assert message.recipient_user_id == user.id
    assert "Verify your email address" in message.subject
    path = emailed_path("verify_email", EMAIL)
    assert path.startswith("/verify-email/")
    # Only a hash of the token is stored.
    token = path.rsplit("/", 1)[1]
    [row] = db.session.scalars(sa.select(AccountToken).filter_by(user_id=user.id)).all()
    assert row.purpose == TokenPurpose.verify_email and token not in (row.token_hash, row.email)
    # The new user logs in and is told what waits for the verification.
    client.post("/login", data={"email": EMAIL, "password": "a long password"})
    page = client.get("/account").data.decode()
    assert "not verified" in page and "Send me a new link" in page


def test_an_unverified_account_may_log_in_and_see_pages(client, sides):
    register(client, sides[0])
    response = client.post("/login", data={"email": EMAIL, "password": "a long password"})
    assert response.status_code == 302
    for path in ("/", "/calls/", "/account", "/mail"):
        assert client.get(path).status_code == 200, path


def test_the_link_verifies_the_address_once(client, sides):
    register(client, sides[0])
    path = emailed_path("verify_email", EMAIL)
    client.post("/logout")  # the link works logged out

    response = client.get(path)
    assert response.status_code == 302 and response.location == "/login"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    user = account()
    verified_at = user.email_verified_at
    assert verified_at is not None and user.can_apply()
    audit = db.session.scalars(sa.select(AuditEntry).filter_by(action="user.verify_email")).all()
    assert [(a.actor_id, a.object_id) for a in audit] == [(user.id, user.id)]

    again = client.get(path)
    assert again.status_code == 400
    assert "This link does not work" in again.data.decode()
    db.session.refresh(user)
    assert user.email_verified_at == verified_at


def test_an_expired_link_is_refused(client, sides):
    sent = utcnow() - ops.VERIFY_EMAIL_LIFETIME - timedelta(seconds=1)
    ops.register_researcher(email=EMAIL, password="a long password", name="Li Wei",
                            agency_id=sides[0].id, affiliation="Tsinghua University", now=sent)
    db.session.commit()
    response = client.get(emailed_path("verify_email", EMAIL))
    assert response.status_code == 400
    assert account().email_verified_at is None


def test_a_link_works_until_its_last_second(sides):
    sent = utcnow()
    user = ops.register_researcher(email=EMAIL, password="a long password", name="Li Wei",
                                   agency_id=sides[0].id, affiliation="Tsinghua University", now=sent)
    token = emailed_path("verify_email", EMAIL).rsplit("/", 1)[1]
    expiry = sent + ops.VERIFY_EMAIL_LIFETIME
    with pytest.raises(ops.InvalidLink):
        ops.verify_email(token, now=expiry)
    assert ops.verify_email(token, now=expiry - timedelta(seconds=1)) is user
    assert user.email_verified_at == expiry - timedelta(seconds=1)


def test_a_link_sent_to_a_former_address_is_refused(sides):
    user = ops.register_researcher(email=EMAIL, password="a long password", name="Li Wei",
                                   agency_id=sides[0].id, affiliation="Tsinghua University")
    token = emailed_path("verify_email", EMAIL).rsplit("/", 1)[1]
    user.email = "someone.else@example.org"
    with pytest.raises(ops.InvalidLink):
        ops.verify_email(token)
    assert user.email_verified_at is None


def test_an_unknown_link_is_refused(client):
    assert client.get("/verify-email/no-such-token").status_code == 400


def test_resending_the_link(client, sides):
    register(client, sides[0])
    client.post("/login", data={"email": EMAIL, "password": "a long password"})
    first = emailed_path("verify_email", EMAIL)

    response = client.post("/account/verify-email")
    assert response.status_code == 302 and response.location == "/account"
    assert "A link was sent a moment ago" in client.get("/account").data.decode()
    assert len(messages("verify_email", EMAIL)) == 1  # not twice within two minutes

    user = account()
    ops.resend_verification(user, now=utcnow() + ops.RESEND_VERIFICATION_INTERVAL + timedelta(seconds=1))
    db.session.commit()
    assert len(messages("verify_email", EMAIL)) == 2
    second = emailed_path("verify_email", EMAIL)
    assert second != first
    # Either link verifies; the address is verified once.
    assert client.get(first).status_code == 302
    assert account().email_verified
    assert client.post("/account/verify-email").status_code == 302
    assert "already verified" in client.get("/account").data.decode()


def test_a_verified_account_gets_no_new_link(sides):
    user = f.user(agency=sides[0])
    with pytest.raises(DomainError):
        ops.resend_verification(user)


def test_can_apply_needs_an_active_account_with_a_verified_address(sides):
    user = f.user(agency=sides[0], email_verified_at=None)
    assert not user.can_apply()
    user.email_verified_at = utcnow()
    assert user.can_apply()
    user.active = False
    assert not user.can_apply()


def test_a_name_in_latin_script_is_required_and_the_form_keeps_what_was_typed(client, sides):
    response = register(client, sides[0], name="李伟", affiliation="Tsinghua University, Beijing")
    assert response.status_code == 200
    page = response.data.decode()
    assert "Write this name in Latin letters" in page
    assert 'value="Tsinghua University, Beijing"' in page and f'value="{EMAIL}"' in page
    assert account() is None
    assert register(client, sides[0], name="Zoë Lefèvre-D'Haene").status_code == 302


def test_registering_an_existing_address_answers_as_for_a_new_one(app, sides):
    owner = f.user(agency=sides[0], email=EMAIL, name="Li Wei")
    db.session.commit()
    other = "zhang.min@tsinghua.example"

    def answer(email):
        """The answer to a registration and the page it leads to, the typed address taken out."""
        browser = app.test_client()
        response = register(browser, sides[0], email=email)
        page = browser.get(response.location).data.decode()
        logged_in = browser.get("/account").status_code == 200
        page = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)  # new each page
        return response.status_code, response.location, page.replace(email, "ADDRESS"), logged_in

    taken, new = answer(EMAIL.upper()), answer(other)
    assert taken == new
    assert taken[0] == 302 and not taken[3]  # nobody is logged in by registering
    assert "we have sent a message to ADDRESS" in taken[2]
    # Nothing changed for the owner, who is told by email; the newcomer got a link.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).filter_by(email=EMAIL)) == 1
    assert owner.check_password(f.PASSWORD) and owner.name == "Li Wei"
    assert messages("verify_email", EMAIL) == [] and len(messages("verify_email", other)) == 1
    [notice] = messages("account_exists", EMAIL)
    assert notice.recipient_user_id == owner.id
    assert "already has an account" in notice.body
    assert "http://localhost/reset-password" in notice.body and "http://localhost/login" in notice.body
    # Asking again within the hour sends nothing more to the owner.
    answer(EMAIL)
    assert len(messages("account_exists", EMAIL)) == 1


def test_the_notice_to_an_existing_account_is_in_its_language(sides):
    f.user(agency=sides[0], email=EMAIL, locale="fr")
    assert ops.register_researcher(email=EMAIL, password="a long password", name="Li Wei",
                                   agency_id=sides[0].id, affiliation="Tsinghua University") is None
    [notice] = messages("account_exists", EMAIL)
    assert notice.language == "fr"
