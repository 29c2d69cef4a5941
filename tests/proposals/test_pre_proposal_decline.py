"""Two-stage calls: staff of the call decline a submitted pre-proposal with a reason; both
PIs are emailed the reason once, the proposal shows it and can no longer move."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.calls.models import Agency, Stages
from cfp.core.audit import AuditEntry
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.proposals.operations import decline_pre_proposal, submit_proposal
from tests import factories as f

REASON = "Outside the priority areas of this call."


@pytest.fixture
def submitted_pre(app):
    """A two-stage call and a pre-proposal both PIs submitted at stage 1."""
    cn, be, committee = f.world()
    call = f.call(committee)
    call.stages = Stages.two
    call.full_closes_at = call.closes_at + timedelta(days=60)
    pi_cn = f.user(Role.researcher, agency=cn, name="Li Wei")
    pi_be = f.user(Role.researcher, agency=be, name="Sophie Lambert")
    staff_be = f.user(Role.staff, agency=be)
    proposal = f.proposal(call, pi_cn, pi_be, state=ProposalState.pre_proposal, title="Dust storms")
    proposal.pre_submitted_at = utcnow()
    db.session.commit()
    return proposal, pi_cn, pi_be, staff_be


def _agency(code):
    agency = Agency(code=code, short_name=code, name=code, country=code, currency="EUR",
                    timezone="Europe/Rome")
    db.session.add(agency)
    db.session.flush()
    return agency


def _declines():
    return db.session.scalars(sa.select(OutboxMessage).filter_by(template="pre_proposal_declined")
                              .order_by(OutboxMessage.recipient)).all()


def test_staff_decline_with_a_reason_and_both_pis_are_told_once(submitted_pre, client):
    proposal, pi_cn, pi_be, staff_be = submitted_pre
    f.login(client, staff_be)
    listing = client.get("/proposals/staff").data.decode()
    assert f'href="/proposals/{proposal.id}/decline"' in listing
    page = client.get(f"/proposals/{proposal.id}/decline").data.decode()
    assert 'name="reason"' in page and "data-confirm=" in page
    response = client.post(f"/proposals/{proposal.id}/decline", data={"reason": REASON})
    assert response.status_code == 302
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.rejected
    assert proposal.decline_reason == REASON
    messages = _declines()
    assert sorted(m.recipient for m in messages) == sorted([pi_cn.email, pi_be.email])
    assert all(REASON in m.body and "Dust storms" in m.body for m in messages)
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="proposal.decline_pre_proposal"))
    assert entry.actor_id == staff_be.id and entry.after["reason"] == REASON
    # Declining again is refused with the reason, and nobody is emailed twice.
    again = client.post(f"/proposals/{proposal.id}/decline", data={"reason": REASON})
    assert again.status_code == 422
    assert "is no longer a pre-proposal waiting for a decision" in again.data.decode()
    assert len(_declines()) == 2
    assert "Dust storms" not in client.get("/proposals/staff").data.decode().split("Pre-proposals")[-1]


def test_a_reason_is_required_and_the_form_comes_back(submitted_pre, client):
    proposal, _pi_cn, _pi_be, staff_be = submitted_pre
    f.login(client, staff_be)
    response = client.post(f"/proposals/{proposal.id}/decline", data={"reason": "   "})
    assert response.status_code == 422
    assert "Give the reason for declining the pre-proposal." in response.data.decode()
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.pre_proposal and not _declines()


@pytest.mark.parametrize("who", ["pi", "secretariat", "other_staff"])
def test_only_staff_of_the_call_may_decline(submitted_pre, client, who):
    proposal, pi_cn, _pi_be, _staff = submitted_pre
    user = {"pi": lambda: pi_cn, "secretariat": lambda: f.user(Role.secretariat),
            "other_staff": lambda: f.user(Role.staff, agency=_agency("IT"))}[who]()
    db.session.commit()
    f.login(client, user)
    assert client.post(f"/proposals/{proposal.id}/decline", data={"reason": REASON}).status_code in (403, 404)
    assert client.get(f"/proposals/{proposal.id}/decline").status_code in (403, 404)
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.pre_proposal and not _declines()
    with pytest.raises(NotAllowed):
        decline_pre_proposal(user, proposal, REASON)


def test_a_pi_gets_403_on_the_decline_page(submitted_pre, client):
    proposal, pi_cn, _pi_be, _staff = submitted_pre
    f.login(client, pi_cn)
    assert client.get(f"/proposals/{proposal.id}/decline").status_code == 403


def test_a_pre_proposal_not_yet_submitted_or_already_invited_cannot_be_declined(submitted_pre):
    proposal, _pi_cn, _pi_be, staff_be = submitted_pre
    proposal.pre_submitted_at = None
    with pytest.raises(DomainError, match="not submitted yet"):
        decline_pre_proposal(staff_be, proposal, REASON)
    proposal.pre_submitted_at = utcnow()
    proposal.state = ProposalState.invited
    with pytest.raises(DomainError, match="no longer a pre-proposal waiting for a decision"):
        decline_pre_proposal(staff_be, proposal, REASON)
    assert not _declines()


def test_the_pis_see_the_declined_state_the_reason_and_the_event(submitted_pre, client):
    proposal, pi_cn, _pi_be, staff_be = submitted_pre
    decline_pre_proposal(staff_be, proposal, REASON)
    db.session.commit()
    f.login(client, pi_cn)
    page = client.get(f"/proposals/{proposal.id}").data.decode()
    assert "pre-proposal declined" in page and REASON in page
    mine = client.get("/proposals/mine").data.decode()
    assert "Pre-proposal declined" in mine and "pre-proposal declined" in mine
    # Read-only from now on: neither edited nor submitted.
    assert client.get(f"/proposals/{proposal.id}/edit").status_code == 403
    with pytest.raises(DomainError):
        submit_proposal(pi_cn, proposal)
    db.session.rollback()
    assert proposal.state == ProposalState.rejected
