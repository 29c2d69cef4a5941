"""The partner PI's invitation works only for a verified account with the invited address,
and nobody who runs the committee (its staff, secretariat, co-chairs) becomes a PI on its
calls, by an invitation or by starting a proposal."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from cfp.auth.models import User
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import PartnerInvitation, Proposal
from tests import factories as f
from tests.auth.helpers import emailed_path

ANNE = "anne@uclouvain.example"


@pytest.fixture
def scene():
    cn, be, committee = f.world()
    pi = f.user(Role.researcher, agency=cn, name="Li Wei")
    call = f.call(committee)
    draft = f.proposal(call, pi, title="Unsubmitted draft")
    token = f.partner_invitation(draft, ANNE, be, invited_by=pi)
    db.session.commit()
    return {"cn": cn, "be": be, "call": call, "draft": draft, "path": f"/proposals/join/{token}"}


def joined(scene, user) -> bool:
    db.session.refresh(scene["draft"])
    return scene["draft"].side(scene["be"]).pi_user_id == user.id


def test_the_invited_verified_account_joins(client, scene):
    anne = f.user(Role.researcher, agency=scene["be"], email=ANNE)
    f.login(client, anne)
    assert client.post(scene["path"]).status_code == 302
    assert joined(scene, anne)


def test_another_account_holding_the_link_is_refused(client, scene):
    other = f.user(Role.researcher, agency=scene["be"], email="someone.else@uclouvain.example")
    f.login(client, other)
    page = client.post(scene["path"], follow_redirects=True).data.decode()
    assert "This invitation was sent to another address" in page
    assert not joined(scene, other)
    invitation = db.session.scalar(sa.select(PartnerInvitation))
    assert invitation.accepted_at is None


def test_an_unverified_account_with_the_invited_address_verifies_first(client, scene):
    client.post("/register", data={"name": "Anne Dupont", "email": ANNE, "agency_id": scene["be"].id,
                                   "affiliation": "UCLouvain", "password": "a long password",
                                   "confirm": "a long password"})
    client.post("/login", data={"email": ANNE, "password": "a long password"})
    anne = db.session.scalar(sa.select(User).filter_by(email=ANNE))
    page = client.post(scene["path"], follow_redirects=True).data.decode()
    assert "Verify your email address first" in page
    assert not joined(scene, anne)
    client.get(emailed_path("verify_email", ANNE))
    assert client.post(scene["path"]).status_code == 302  # the link stayed usable
    assert joined(scene, anne)


@pytest.mark.parametrize("role", [Role.staff, Role.cochair, Role.secretariat])
def test_who_runs_the_committee_cannot_join_as_pi(client, scene, role):
    insider = f.user(Role.researcher, role, agency=scene["be"], email=ANNE)
    f.login(client, insider)
    page = client.post(scene["path"], follow_redirects=True).data.decode()
    assert "cannot be a principal investigator" in page
    assert not joined(scene, insider)


@pytest.mark.parametrize("role", [Role.staff, Role.cochair, Role.secretariat])
def test_who_runs_the_committee_cannot_start_a_proposal(client, scene, role):
    insider = f.user(Role.researcher, role, agency=scene["cn"])
    f.login(client, insider)
    call = scene["call"]
    response = client.post(f"/proposals/new/{call.id}", data={
        "title": "An inside job", "priority_area_id": call.priority_areas[0].id,
        "amount_a": "1000", "amount_b": "100"}, follow_redirects=True)
    assert "cannot be a principal investigator" in response.data.decode()
    assert db.session.scalar(sa.select(Proposal).filter_by(title="An inside job")) is None


def test_staff_of_another_committee_may_apply(client, scene):
    """Roles are held per side: staff of an agency outside this call's committee apply freely."""
    from cfp.calls.models import Agency

    it = Agency(code="IT", short_name="MUR", name="Ministry of University and Research",
                country="Italy", currency="EUR", timezone="Europe/Rome", locale="en")
    db.session.add(it)
    db.session.flush()
    anne = f.user(Role.researcher, agency=scene["be"], email=ANNE)
    anne.grant(Role.staff, it)
    db.session.commit()
    f.login(client, anne)
    assert client.post(scene["path"]).status_code == 302
    assert joined(scene, anne)


def test_the_pending_invitations_show_only_to_a_verified_owner(client, scene):
    client.post("/register", data={"name": "Anne Dupont", "email": ANNE, "agency_id": scene["be"].id,
                                   "affiliation": "UCLouvain", "password": "a long password",
                                   "confirm": "a long password"})
    client.post("/login", data={"email": ANNE, "password": "a long password"})
    assert "Unsubmitted draft" not in client.get("/proposals/mine").data.decode()
    client.get(emailed_path("verify_email", ANNE))
    assert "Unsubmitted draft" in client.get("/proposals/mine").data.decode()
