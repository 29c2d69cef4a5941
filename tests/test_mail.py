"""Mail belongs to an account (a user id), never to whoever holds an address string; the
messages that carry a personal link are private to their recipient, admins included."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from markupsafe import escape

from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.reviews.pool import invite_reviewer
from tests import factories as f

EXPERT = "expert@ulb.example"


@pytest.fixture
def sides():
    return f.world()


def register(client, agency, email=EXPERT, password="a long password"):
    response = client.post("/register", data={
        "name": "Squatter", "email": email, "agency_id": agency.id, "affiliation": "Nowhere",
        "password": password, "confirm": password})
    assert response.status_code == 302
    client.post("/login", data={"email": email, "password": password})


def test_registering_an_invited_address_does_not_show_its_mail(client, sides):
    _cn, be, _committee = sides
    staff = f.user(Role.staff, agency=be)
    invite_reviewer(staff, be.id, EXPERT, "Claire Expert")
    db.session.commit()
    [invitation] = db.session.scalars(
        sa.select(OutboxMessage).filter_by(template="reviewer_pool_invitation")).all()

    register(client, be)  # the address of the invited expert, never verified
    page = client.get("/mail").data.decode()
    assert escape(invitation.subject) not in page
    assert client.get(f"/mail/{invitation.id}").status_code == 404


def test_verifying_the_address_brings_the_mail_sent_to_it_before(client, sides):
    """The partner invited at a new address registers with it: once the address is verified
    (the link proves it is theirs), the invitation is in their *Mail*, as it would be in
    their mailbox; the embedded mode has no other mailbox."""
    from tests.auth.helpers import emailed_path

    _cn, be, _committee = sides
    staff = f.user(Role.staff, agency=be)
    invite_reviewer(staff, be.id, EXPERT, "Claire Expert")
    db.session.commit()
    [invitation] = db.session.scalars(
        sa.select(OutboxMessage).filter_by(template="reviewer_pool_invitation")).all()
    register(client, be, email=EXPERT.upper())
    assert client.get(f"/mail/{invitation.id}").status_code == 404  # not verified yet

    client.get(emailed_path("verify_email", EXPERT))
    client.post("/login", data={"email": EXPERT, "password": "a long password"})
    # (its subject is in the invited side's language: French for WBI)
    assert escape(invitation.subject) in client.get("/mail").data.decode()
    assert "/reviews/pool/join/" in client.get(f"/mail/{invitation.id}").data.decode()


def test_a_message_to_the_address_of_an_account_is_not_that_accounts(client, sides):
    cn, _be, _committee = sides
    owner = f.user(Role.researcher, agency=cn)
    stray = OutboxMessage(idempotency_key="stray", recipient=owner.email.upper(), template="test",
                          subject="Addressed by string only", body="Hello")
    db.session.add(stray)
    db.session.commit()
    f.login(client, owner)
    assert "Addressed by string only" not in client.get("/mail").data.decode()
    assert client.get(f"/mail/{stray.id}").status_code == 404


def test_an_invitation_to_a_verified_account_is_in_its_mail(client, sides):
    _cn, be, _committee = sides
    staff = f.user(Role.staff, agency=be)
    expert = f.user(Role.researcher, agency=be, email=EXPERT)
    invite_reviewer(staff, be.id, EXPERT.upper(), "Claire Expert")
    db.session.commit()
    [message] = db.session.scalars(
        sa.select(OutboxMessage).filter_by(template="reviewer_pool_invitation")).all()
    assert message.recipient_user_id == expert.id
    f.login(client, expert)
    assert "/reviews/pool/join/" in client.get(f"/mail/{message.id}").data.decode()


@pytest.mark.parametrize("template, link", [
    ("reviewer_pool_invitation", "/reviews/pool/join/"),
    ("partner_invitation", "/proposals/join/"),
])
def test_admins_cannot_read_the_links_of_invitations(client, sides, template, link):
    from cfp.proposals.operations import invite_partner

    cn, be, committee = sides
    staff = f.user(Role.staff, agency=be)
    pi = f.user(Role.researcher, agency=cn)
    admin = f.user(Role.admin)
    if template == "reviewer_pool_invitation":
        invite_reviewer(staff, be.id, EXPERT, "Claire Expert")
    else:
        invite_partner(pi, f.proposal(f.call(committee), pi), EXPERT)
    db.session.commit()
    [message] = db.session.scalars(sa.select(OutboxMessage).filter_by(template=template)).all()
    assert link in message.body  # the message is complete; only its display is withheld
    f.login(client, admin)
    assert "Invitation" in client.get("/mail").data.decode()  # admins see that it exists
    page = client.get(f"/mail/{message.id}").data.decode()
    assert link not in page and "only its recipient may read it" in page

