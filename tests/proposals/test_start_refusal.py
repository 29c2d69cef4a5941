"""Who may not start a proposal is told before the form, not after filling it in."""
from __future__ import annotations

import sqlalchemy as sa

from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import Proposal
from tests import factories as f

VERIFY = "Verify your email address first"


def test_an_unverified_researcher_is_told_to_verify_before_the_form(app, client):
    cn, _be, committee = f.world()
    call = f.call(committee)
    newcomer = f.user(Role.researcher, agency=cn, email_verified_at=None)
    db.session.commit()
    f.login(client, newcomer)
    page = client.get(f"/calls/{call.id}").data.decode()
    assert VERIFY in page
    page = client.get(f"/proposals/new/{call.id}").data.decode()
    assert VERIFY in page and 'id="proposal-editor"' not in page
    assert 'action="/account/verify-email"' in page  # a new link, from there
    # Posting anyway is still refused by the operation.
    client.post(f"/proposals/new/{call.id}", data={"title": "An idea", "priority_area_id": "0"})
    assert db.session.scalar(sa.select(sa.func.count(Proposal.id))) == 0


def test_staff_of_the_committee_are_told_before_the_form(app, client):
    cn, _be, committee = f.world()
    call = f.call(committee)
    staff = f.user(Role.researcher, Role.staff, agency=cn)
    db.session.commit()
    f.login(client, staff)
    page = client.get(f"/proposals/new/{call.id}").data.decode()
    assert "cannot be a principal investigator on its calls" in page and 'id="proposal-editor"' not in page


def test_a_verified_researcher_gets_the_form(app, client):
    cn, _be, committee = f.world()
    call = f.call(committee)
    pi = f.user(Role.researcher, agency=cn)
    db.session.commit()
    f.login(client, pi)
    page = client.get(f"/proposals/new/{call.id}").data.decode()
    assert 'id="proposal-editor"' in page and VERIFY not in page
