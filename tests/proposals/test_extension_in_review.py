"""An individual extension stays usable after the call moved on to review (issue 10):
the late proposal is submitted, checked and sent to reviewers like the others; once the
extension has expired, submission is refused with the proposal's own deadline."""
from __future__ import annotations

from datetime import timedelta

import pytest

from cfp.calls.models import CallState
from cfp.calls.operations import move_call
from cfp.core.errors import DomainError
from cfp.core.roles import Role
from cfp.core.timezones import format_instant
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.eligibility import evaluate_rules
from cfp.proposals.models import ProposalState
from cfp.proposals.operations import (
    confirm_proposal,
    decide_eligibility,
    grant_extension,
    submit_proposal,
)
from cfp.reviews.operations import assign_reviewer
from tests import factories as f


@pytest.fixture
def late(app):
    """A call closed yesterday and moved to review; one draft with an extension to the
    day after tomorrow, confirmed by both PIs."""
    cn, be, committee = f.world()
    now = utcnow()
    call = f.call(committee, state=CallState.closed, opens_at=now - timedelta(days=30),
                  closes_at=now - timedelta(days=1))
    staff = f.user(Role.staff, agency=cn, timezone="UTC")
    pi_cn = f.user(Role.researcher, agency=cn, timezone="UTC")
    pi_be = f.user(Role.researcher, agency=be)
    proposal = f.proposal(call, pi_cn, pi_be)
    confirm_proposal(pi_cn, proposal, proposal.version)
    confirm_proposal(pi_be, proposal, proposal.version)
    grant_extension(staff, proposal, now + timedelta(days=2), "PI in hospital")
    move_call(staff, call, CallState.in_review)
    db.session.commit()
    return call, proposal, staff, pi_cn, cn, be


def test_an_extension_is_usable_after_the_call_moved_to_review(late):
    call, proposal, staff, pi_cn, cn, be = late
    assert call.state == CallState.in_review
    submit_proposal(pi_cn, proposal)
    assert proposal.state == ProposalState.submitted and proposal.reference
    assert {c.agency_id for c in proposal.eligibility_checks} == {cn.id, be.id}
    # It then goes through eligibility and review like the proposals submitted on time.
    evaluate_rules(proposal)  # what the rules task does once the submission commits
    staff_be = f.user(Role.staff, agency=be)
    for check, actor in zip(sorted(proposal.eligibility_checks, key=lambda c: c.agency_id == be.id),
                            (staff, staff_be)):
        decide_eligibility(actor, check, True)
    assert proposal.state == ProposalState.eligible
    assign_reviewer(staff, proposal, f.reviewer(cn), cn.id, utcnow() + timedelta(days=10))
    assert proposal.state == ProposalState.in_review
    assert call.state == CallState.in_review


def test_an_expired_extension_is_refused_with_its_deadline(late):
    call, proposal, _staff, pi_cn, _cn, _be = late
    after = proposal.deadline_extended_to + timedelta(seconds=1)
    with pytest.raises(DomainError) as refused:
        submit_proposal(pi_cn, proposal, now=after)
    assert format_instant(proposal.deadline_extended_to, "UTC", seconds=True) in refused.value.message
    assert proposal.state == ProposalState.draft and call.state == CallState.in_review


def test_without_an_extension_a_call_in_review_takes_no_submission(late):
    call, proposal, _staff, pi_cn, _cn, _be = late
    proposal.deadline_extended_to = None
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        submit_proposal(pi_cn, proposal)
    assert format_instant(call.closes_at, "UTC", seconds=True) in refused.value.message


def test_an_extension_does_not_reopen_a_call_in_selection(late):
    call, proposal, staff, pi_cn, _cn, _be = late
    move_call(staff, call, CallState.in_selection)
    db.session.commit()
    with pytest.raises(DomainError):
        submit_proposal(pi_cn, proposal)
    assert proposal.state == ProposalState.draft


def test_staff_still_see_the_extended_draft_once_the_call_is_in_review(late, client):
    _call, proposal, staff, _pi_cn, _cn, _be = late
    f.login(client, staff)
    page = client.get("/proposals/extensions").data.decode()
    assert proposal.title in page
