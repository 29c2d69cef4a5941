"""A pending invitation of the partner PI is shown to the proposal's PIs, with its address
and date, and can be sent again (a new link; the old one stops working) or cancelled."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from cfp.core.errors import NotAllowed
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.timezones import format_instant
from cfp.extensions import db
from cfp.proposals.models import PartnerInvitation
from cfp.proposals.operations import cancel_invitation, resend_invitation
from tests import factories as f

ANNE = "anne@uclouvain.example"


@pytest.fixture
def scene(app, client):
    cn, be, committee = f.world()
    pi = f.user(Role.researcher, agency=cn, name="Li Wei")
    draft = f.proposal(f.call(committee), pi, title="Unsubmitted draft")
    db.session.commit()
    f.login(client, pi)
    assert client.post(f"/proposals/{draft.id}/invite", data={"email": ANNE}).status_code == 302
    invitation = db.session.scalar(sa.select(PartnerInvitation))
    return {"be": be, "pi": pi, "draft": draft, "invitation": invitation}


def _links() -> list[str]:
    mails = db.session.scalars(sa.select(OutboxMessage).filter_by(template="partner_invitation")
                               .order_by(OutboxMessage.id)).all()
    return [re.search(r"/proposals/join/[\w-]+", m.body).group(0) for m in mails]


def test_a_pending_invitation_is_shown_to_the_pis_with_its_address_and_date(scene, client):
    page = client.get(f"/proposals/{scene['draft'].id}").data.decode()
    assert "Invitation pending" in page and ANNE in page
    sent = format_instant(scene["invitation"].created_at, scene["pi"].effective_timezone)
    assert f"Sent to {ANNE} on {sent} by Li Wei." in page
    base = f"/proposals/{scene['draft'].id}/invitations/{scene['invitation'].id}"
    assert f'action="{base}/resend"' in page and f'action="{base}/cancel"' in page
    assert "The link already sent to anne@uclouvain.example will stop working." in page  # the dialog


def test_resending_sends_a_new_link_and_the_old_one_stops_working(scene, client):
    draft, invitation = scene["draft"], scene["invitation"]
    [old_link] = _links()
    response = client.post(f"/proposals/{draft.id}/invitations/{invitation.id}/resend", follow_redirects=True)
    assert f"A new invitation is on its way to {ANNE}" in response.data.decode()
    assert len(_links()) == 2 and _links()[1] != old_link
    anne = f.user(Role.researcher, agency=scene["be"], email=ANNE)
    client.post("/logout")
    f.login(client, anne)
    page = client.post(old_link, follow_redirects=True).data.decode()
    assert "This invitation was cancelled" in page
    assert client.post(_links()[1]).status_code == 302
    db.session.refresh(draft)
    assert draft.side(scene["be"]).pi_user_id == anne.id


def test_a_cancelled_invitation_no_longer_works_nor_shows(scene, client):
    draft, invitation = scene["draft"], scene["invitation"]
    response = client.post(f"/proposals/{draft.id}/invitations/{invitation.id}/cancel", follow_redirects=True)
    page = response.data.decode()
    assert f"The invitation to {ANNE} is cancelled" in page
    assert "Invitation pending" not in page
    assert "Invite the partner PI" in page  # another one may be sent
    anne = f.user(Role.researcher, agency=scene["be"], email=ANNE)
    client.post("/logout")
    f.login(client, anne)
    assert "Unsubmitted draft" not in client.get("/proposals/mine").data.decode()
    page = client.post(_links()[0], follow_redirects=True).data.decode()
    assert "This invitation was cancelled" in page
    db.session.refresh(draft)
    assert draft.side(scene["be"]).pi_user_id is None


def test_only_a_pi_of_the_draft_resends_or_cancels_and_only_a_pending_invitation(scene):
    stranger = f.user(Role.researcher, agency=scene["be"])
    with pytest.raises(NotAllowed):
        cancel_invitation(stranger, scene["invitation"])
    with pytest.raises(NotAllowed):
        resend_invitation(stranger, scene["invitation"])
    cancel_invitation(scene["pi"], scene["invitation"])
    with pytest.raises(NotAllowed):
        resend_invitation(scene["pi"], scene["invitation"])
