"""Two-stage calls: a pre-proposal by the first closing instant, staff invite it to the
full stage, the full proposal keeps the consortium of stage 1 and closes at the second."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.calls.models import CallState, Stages
from cfp.core.errors import DomainError
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import Proposal, ProposalState
from cfp.proposals.operations import confirm_proposal, submit_proposal
from tests import factories as f


@pytest.fixture
def two_stage(app):
    cn, be, committee = f.world()
    call = f.call(committee)
    call.stages = Stages.two
    call.full_closes_at = call.closes_at + timedelta(days=60)
    pi_cn = f.user(Role.researcher, agency=cn)
    pi_be = f.user(Role.researcher, agency=be)
    staff_be = f.user(Role.staff, agency=be)
    db.session.commit()
    return call, cn, be, pi_cn, pi_be, staff_be


def test_the_whole_two_stage_path(two_stage, client):
    call, _cn, _be, pi_cn, pi_be, staff_be = two_stage
    f.login(client, pi_cn)
    response = client.post(f"/proposals/new/{call.id}", data={
        "title": "Dust storms", "abstract": "Joint work.", "priority_area_id": call.priority_areas[0].id,
        "duration_months": "24", "institution_a": "Peking University", "institution_b": ""})
    assert response.status_code == 302
    proposal = db.session.scalar(sa.select(Proposal).filter_by(title="Dust storms"))
    assert proposal.state == ProposalState.pre_proposal
    proposal.sides[1].pi_user_id = pi_be.id
    proposal.sides[1].institution = "ULB"
    confirm_proposal(pi_cn, proposal, proposal.version)
    confirm_proposal(pi_be, proposal, proposal.version)
    db.session.commit()
    # Stage 1: submitted without budget or documents; staff may see it, it is read-only now.
    assert client.post(f"/proposals/{proposal.id}/submit").status_code == 302
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.pre_proposal and proposal.pre_submitted_at is not None
    assert proposal.reference is None
    assert client.get(f"/proposals/{proposal.id}/edit").status_code == 403
    client.post("/logout")
    f.login(client, staff_be)
    assert "Dust storms" in client.get("/proposals/staff").data.decode()
    assert client.post(f"/proposals/{proposal.id}/invite-full-stage").status_code == 302
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.invited
    invitations = db.session.scalars(sa.select(OutboxMessage).filter_by(template="full_stage_invitation")).all()
    assert len(invitations) == 2
    client.post("/logout")
    # The full stage: the consortium is frozen.
    f.login(client, pi_cn)
    assert client.post(f"/proposals/{proposal.id}/start-full").status_code == 302
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.draft and not proposal.both_confirmed
    data = {"version": proposal.version, "title": "Dust storms", "abstract": "Joint work, in full.",
            "priority_area_id": call.priority_areas[0].id, "duration_months": "24",
            "institution_a": "Tsinghua University", "institution_b": "ULB"}
    page = client.post(f"/proposals/{proposal.id}/edit", data=data, follow_redirects=True).data.decode()
    assert "The consortium is frozen since the pre-proposal" in page
    data["institution_a"] = "Peking University"
    assert client.post(f"/proposals/{proposal.id}/edit", data=data).status_code == 302
    db.session.refresh(proposal)
    assert proposal.abstract == "Joint work, in full."
    # The full proposal closes at the second instant, even once the call itself has closed.
    confirm_proposal(pi_cn, proposal, proposal.version)
    confirm_proposal(pi_be, proposal, proposal.version)
    call.state = CallState.closed
    db.session.commit()
    with pytest.raises(DomainError):
        submit_proposal(pi_cn, proposal, now=call.full_closes_at + timedelta(seconds=1))
    submit_proposal(pi_cn, proposal, now=call.full_closes_at - timedelta(seconds=1))
    assert proposal.state == ProposalState.submitted and proposal.reference


def test_a_pre_proposal_is_due_by_the_first_closing_instant(two_stage):
    call, _cn, _be, pi_cn, pi_be, _ = two_stage
    proposal = f.proposal(call, pi_cn, pi_be, state=ProposalState.pre_proposal)
    confirm_proposal(pi_cn, proposal, proposal.version)
    confirm_proposal(pi_be, proposal, proposal.version)
    with pytest.raises(DomainError) as refused:
        submit_proposal(pi_cn, proposal, now=call.closes_at + timedelta(seconds=1))
    assert "Submissions closed at" in refused.value.message
    assert proposal.pre_submitted_at is None


def test_a_two_stage_call_needs_the_second_closing_instant(app):
    from decimal import Decimal

    from cfp.calls.operations import CallTerms, CriterionTerms, SideTerms, draft_call

    cn, be, committee = f.world()
    staff = f.user(Role.staff, agency=cn)
    c = f.call(committee)
    terms = CallTerms(
        reference="CN-BE-2099", title="Two stages", opens_at=c.opens_at, closes_at=c.closes_at,
        priority_areas=["Water"], criteria=[CriterionTerms(name="Excellence", weight=Decimal(1))],
        sides=[SideTerms(agency_id=a.id, budget_envelope=Decimal(1000), max_request=Decimal(100)) for a in (cn, be)],
        stages=Stages.two,
    )
    with pytest.raises(DomainError, match="closing instant for full proposals"):
        draft_call(staff, committee, cn.id, terms)
