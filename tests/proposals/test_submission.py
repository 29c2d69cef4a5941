"""Submission rules: the exact deadline, both PIs' confirmation, stale saves,
and transitions the workflow does not allow."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.core.errors import DomainError
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.proposals.operations import AlreadySubmitted, confirm_proposal, submit_proposal
from tests import factories as f


@pytest.fixture
def ready(app):
    """An open call and a complete draft confirmed by both PIs."""
    cn, be, committee = f.world()
    call = f.call(committee, closes_at=f.utc(2031, 3, 1, 9, 0, 0), opens_at=f.utc(2020, 1, 1))
    pi_cn = f.user(Role.researcher, agency=cn, timezone="Asia/Shanghai")
    pi_be = f.user(Role.researcher, agency=be, timezone="Europe/Brussels")
    proposal = f.proposal(call, pi_cn, pi_be)
    confirm_proposal(pi_cn, proposal, proposal.version)
    confirm_proposal(pi_be, proposal, proposal.version)
    db.session.commit()
    return call, proposal, pi_cn, pi_be


def test_one_second_before_the_deadline_is_accepted(ready):
    call, proposal, pi_cn, _ = ready
    submit_proposal(pi_cn, proposal, now=call.closes_at - timedelta(seconds=1))
    assert proposal.state == ProposalState.submitted
    assert proposal.reference == f"{call.reference}-001"


@pytest.mark.parametrize("who, shown", [
    ("cn", "2031-03-01 17:00:00 CST"),  # 09:00 UTC in Shanghai
    ("be", "2031-03-01 10:00:00 CET"),  # and in Brussels
])
def test_one_second_after_the_deadline_is_refused_with_the_deadline_in_the_users_zone(ready, who, shown):
    call, proposal, pi_cn, pi_be = ready
    actor = pi_cn if who == "cn" else pi_be
    with pytest.raises(DomainError) as refused:
        submit_proposal(actor, proposal, now=call.closes_at + timedelta(seconds=1))
    assert shown in refused.value.message
    assert proposal.state == ProposalState.draft


def test_late_submission_through_the_web_is_refused_and_nothing_is_sent(ready, client):
    call, proposal, pi_cn, _ = ready
    call.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    f.login(client, pi_cn)
    response = client.post(f"/proposals/{proposal.id}/submit", follow_redirects=True)
    page = response.data.decode()
    assert "Submissions closed at" in page
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.draft and proposal.reference is None
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_submission_needs_both_confirmations_of_the_current_version(ready, client):
    _call, proposal, _pi_cn, pi_be = ready
    f.login(client, pi_be)
    # The BE PI edits after both confirmed: the confirmations no longer count.
    response = client.post(f"/proposals/{proposal.id}/edit", data={
        "version": proposal.version, "title": proposal.title, "acronym": "PSC2",
        "abstract": proposal.abstract, "keywords": proposal.keywords,
        "priority_area_id": proposal.priority_area_id, "duration_months": "24",
        "institution_a": "Tsinghua University", "amount_a": "200000",
        "institution_b": "UCLouvain", "amount_b": "20000",
    })
    assert response.status_code == 302
    db.session.refresh(proposal)
    assert proposal.version == 2 and not proposal.both_confirmed
    page = client.post(f"/proposals/{proposal.id}/submit", follow_redirects=True).data.decode()
    assert "confirmation of version 2" in page
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.draft


def test_a_stale_save_is_refused_and_keeps_what_the_user_typed(ready, client):
    _call, proposal, pi_cn, pi_be = ready
    form = {
        "title": proposal.title, "acronym": "PSC", "abstract": proposal.abstract,
        "keywords": proposal.keywords, "priority_area_id": proposal.priority_area_id,
        "duration_months": "24", "institution_a": "Tsinghua University", "amount_a": "200000",
        "institution_b": "UCLouvain", "amount_b": "20000",
    }
    f.login(client, pi_be)
    client.post(f"/proposals/{proposal.id}/edit", data={**form, "version": "1", "abstract": "Partner's abstract."})
    client.post("/logout")
    f.login(client, pi_cn)
    response = client.post(f"/proposals/{proposal.id}/edit",
                           data={**form, "version": "1", "abstract": "My own abstract, typed at length."})
    page = response.data.decode()
    assert response.status_code == 422
    assert "Your partner saved this proposal" in page
    assert "My own abstract, typed at length." in page  # the user's text is kept
    assert "Partner&#39;s abstract." in page  # and what changed is shown
    db.session.refresh(proposal)
    assert proposal.abstract == "Partner's abstract." and proposal.version == 2


def test_a_transition_the_workflow_does_not_allow_is_refused_with_a_reason(ready, client):
    call, proposal, pi_cn, _ = ready
    submit_proposal(pi_cn, proposal, now=call.closes_at - timedelta(minutes=1))
    db.session.commit()
    with pytest.raises(AlreadySubmitted) as refused:  # the other PI's click, say
        submit_proposal(pi_cn, proposal, now=call.closes_at - timedelta(seconds=30))
    assert f"already submitted, reference {proposal.reference}" in refused.value.message
    # Through the web: the secretariat cannot recommend a proposal that was never reviewed.
    secretariat = f.user(Role.secretariat)
    db.session.commit()
    f.login(client, secretariat)
    page = client.post(f"/selection/joint/outcome/{proposal.id}", data={"outcome": "recommended"},
                       follow_redirects=True).data.decode()
    assert "does not pass both sides" in page
    page = client.post(f"/selection/joint/outcome/{proposal.id}", data={"outcome": "not_recommended"},
                       follow_redirects=True).data.decode()
    assert "cannot go from “submitted” to “not recommended”" in page
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.submitted


def test_withdrawal_notifies_the_partner(ready, client):
    _call, proposal, pi_cn, pi_be = ready
    f.login(client, pi_cn)
    assert client.post(f"/proposals/{proposal.id}/withdraw", data={"reason": ""}).status_code == 302
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.draft  # no reason, no withdrawal
    client.post(f"/proposals/{proposal.id}/withdraw", data={"reason": "The partner moved."})
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.withdrawn
    message = db.session.scalar(sa.select(OutboxMessage).filter_by(template="proposal_withdrawn"))
    assert message.recipient == pi_be.email and "The partner moved." in message.body


def test_the_refusal_gives_both_instants_to_the_second(ready):
    call, proposal, _pi_cn, pi_be = ready
    with pytest.raises(DomainError) as refused:
        submit_proposal(pi_be, proposal, now=call.closes_at + timedelta(seconds=1))
    assert "closed at 2031-03-01 10:00:00 CET" in refused.value.message
    assert "arrived at 2031-03-01 10:00:01 CET" in refused.value.message


def test_the_deadline_is_judged_when_the_request_arrived_not_when_a_worker_took_it(ready, app, client):
    """Behind a proxy that stamps X-Request-Start (trusted by CFP_TRUST_REQUEST_START), a
    request that reached the server a second before the closing instant is accepted even
    if a worker process picks it up after; the arrival is recorded on the proposal."""
    call, proposal, pi_cn, _pi_be = ready
    call.closes_at = utcnow() - timedelta(seconds=2)  # the worker picks it up now: too late
    db.session.commit()
    arrived = call.closes_at - timedelta(seconds=1)
    f.login(client, pi_cn)
    app.config["TRUST_REQUEST_START"] = True
    try:
        response = client.post(f"/proposals/{proposal.id}/submit", data={"submit": "y"},
                               headers={"X-Request-Start": f"t={arrived.timestamp():.3f}"})
    finally:
        app.config["TRUST_REQUEST_START"] = False
    assert response.status_code == 302
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.submitted
    assert abs((proposal.submitted_at - arrived).total_seconds()) < 0.01


def test_a_request_that_arrived_in_time_is_accepted_after_the_beat_closed_the_call(ready, app, client):
    """The beat closes the call at its instant; requests that arrived before it and still
    wait in the server's queue are accepted all the same (the deadline rush lost 206 of 300
    this way once the call's row was no longer locked by the submissions before them)."""
    from cfp.calls.models import CallState
    from cfp.calls.operations import open_and_close_due_calls

    call, proposal, pi_cn, _pi_be = ready
    call.closes_at = utcnow() - timedelta(seconds=2)
    db.session.commit()
    assert open_and_close_due_calls()["closed"] == 1
    db.session.commit()
    assert call.state == CallState.closed
    arrived = call.closes_at - timedelta(seconds=1)
    f.login(client, pi_cn)
    app.config["TRUST_REQUEST_START"] = True
    try:
        client.post(f"/proposals/{proposal.id}/submit", data={"submit": "y"},
                    headers={"X-Request-Start": f"t={arrived.timestamp():.3f}"})
    finally:
        app.config["TRUST_REQUEST_START"] = False
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.submitted and proposal.reference


def test_a_call_staff_closed_before_its_instant_refuses_submissions(ready):
    """Closed by staff ahead of its closing instant (open → closed by hand): not the
    deadline's doing, so even a request that arrived before the instant is refused."""
    from cfp.calls.models import CallState

    call, proposal, pi_cn, _pi_be = ready
    call.state = CallState.closed
    db.session.commit()
    with pytest.raises(DomainError):
        submit_proposal(pi_cn, proposal, now=utcnow())


def test_an_untrusted_request_start_header_is_ignored(ready, client):
    call, proposal, pi_cn, _pi_be = ready
    call.closes_at = utcnow() - timedelta(seconds=2)
    db.session.commit()
    f.login(client, pi_cn)
    forged = (call.closes_at - timedelta(hours=1)).timestamp()
    client.post(f"/proposals/{proposal.id}/submit", data={"submit": "y"},
                headers={"X-Request-Start": f"t={forged:.3f}"})
    db.session.refresh(proposal)
    assert proposal.state == ProposalState.draft
