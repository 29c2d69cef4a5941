"""Closing a call's selection for good ends the reserve list."""
from __future__ import annotations

import sqlalchemy as sa

from cfp.calls.models import CallState
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from tests import factories as f


def test_closing_the_selection_rejects_the_reserve_and_tells_its_pis(client):
    cn, be, committee = f.world()
    call = f.call(committee, state=CallState.decided)
    pi_cn, pi_be = f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be)
    reserve = f.proposal(call, pi_cn, pi_be, state=ProposalState.reserve)
    funded = f.proposal(call, f.user(Role.researcher, agency=cn), None, state=ProposalState.funded)
    secretariat = f.user(Role.secretariat)
    db.session.commit()
    f.login(client, secretariat)
    assert client.post(f"/selection/calls/{call.id}/archive").status_code == 302
    db.session.refresh(call)
    db.session.refresh(reserve)
    db.session.refresh(funded)
    assert call.state == CallState.archived
    assert reserve.state == ProposalState.rejected and funded.state == ProposalState.funded
    notices = db.session.scalars(sa.select(OutboxMessage).filter_by(template="reserve_closed")).all()
    assert sorted(m.recipient for m in notices) == sorted([pi_cn.email, pi_be.email])
    # Closing twice is refused with a reason, and tells nobody twice.
    page = client.post(f"/selection/calls/{call.id}/archive", follow_redirects=True).data.decode()
    assert "cannot go from “archived” to “archived”" in page
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).filter_by(template="reserve_closed")) == 2


def test_an_open_call_cannot_be_closed_for_good(client):
    _cn, _be, committee = f.world()
    call = f.call(committee)  # open
    secretariat = f.user(Role.secretariat)
    db.session.commit()
    f.login(client, secretariat)
    page = client.post(f"/selection/calls/{call.id}/archive", follow_redirects=True).data.decode()
    assert "cannot go from “open” to “archived”" in page
    db.session.refresh(call)
    assert call.state == CallState.open
