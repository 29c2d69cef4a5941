"""Amending an approved or open call (issue 10): proposed by one side's staff, applied only
when the other side's staff approve, versioned, shown on the call's page, and told by
email to the applicants whose proposals are not yet submitted."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.calls.amendments import (
    approve_call_amendment,
    propose_call_amendment,
    reject_call_amendment,
    side_key,
    withdraw_call_amendment,
)
from cfp.calls.models import AmendmentState, CallAmendment, CallState
from cfp.core.audit import AuditEntry
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.timezones import format_instant, to_zone
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from tests import factories as f


@pytest.fixture
def scene(app):
    cn, be, committee = f.world()
    call = f.call(committee)
    staff_cn = f.user(Role.staff, agency=cn, name="Staff MOST")
    staff_be = f.user(Role.staff, agency=be, name="Staff WBI", timezone="Europe/Brussels")
    db.session.commit()
    return call, staff_cn, staff_be, cn, be


def _later(call, days=7):
    return call.closes_at + timedelta(days=days)


def test_the_other_side_approves_and_the_call_changes_with_a_new_version(scene):
    call, staff_cn, staff_be, cn, be = scene
    old_closes = call.closes_at
    new_closes = _later(call)
    amendment = propose_call_amendment(
        staff_cn, call, {"closes_at": new_closes, "title": call.title,
                         side_key(be.id, "required_documents"): ["CV", "Letter of support"]},
        "Holiday week in China")
    db.session.commit()
    assert amendment.version == 1 and amendment.state == AmendmentState.proposed
    assert amendment.proposed_by_agency_id == cn.id
    assert set(amendment.changes) == {"closes_at", side_key(be.id, "required_documents")}  # the title did not change
    assert call.closes_at == old_closes  # nothing applied before the other side says yes

    approve_call_amendment(staff_be, amendment)
    db.session.commit()
    assert call.closes_at == new_closes and call.side(be).required_documents == ["CV", "Letter of support"]
    assert call.version == 1 and amendment.applied_version == 1
    assert amendment.state == AmendmentState.approved and amendment.decided_by_id == staff_be.id
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="call.amend"))
    assert entry.actor_id == staff_be.id and entry.object_id == call.id
    assert entry.before["closes_at"] == old_closes.isoformat()
    assert entry.after["closes_at"] == new_closes.isoformat() and entry.after["version"] == 1

    second = propose_call_amendment(staff_be, call, {"closes_at": _later(call, 1)}, "One more day")
    assert second.version == 2


def test_only_the_other_sides_staff_approve_never_the_proposer(scene):
    call, staff_cn, staff_be, cn, _be = scene
    amendment = propose_call_amendment(staff_cn, call, {"closes_at": _later(call)}, "More time")
    colleague = f.user(Role.staff, agency=cn)
    researcher = f.user(Role.researcher, agency=cn)
    for actor in (staff_cn, colleague, researcher):
        assert not amendment.can_approve(actor)
        with pytest.raises(NotAllowed):
            approve_call_amendment(actor, amendment)
    assert amendment.can_approve(staff_be) and amendment.can_withdraw(colleague)
    assert not amendment.can_withdraw(staff_be)


def test_a_rejection_needs_a_reason_and_leaves_the_call_unchanged(scene):
    call, staff_cn, staff_be, _cn, _be = scene
    closes = call.closes_at
    amendment = propose_call_amendment(staff_cn, call, {"closes_at": _later(call)}, "More time")
    with pytest.raises(DomainError):
        reject_call_amendment(staff_be, amendment, "  ")
    with pytest.raises(NotAllowed):
        reject_call_amendment(staff_cn, amendment, "No")
    reject_call_amendment(staff_be, amendment, "Our evaluators start on the 1st")
    db.session.commit()
    assert amendment.state == AmendmentState.rejected
    assert amendment.rejection_reason == "Our evaluators start on the 1st"
    assert call.closes_at == closes and call.version == 0
    with pytest.raises(NotAllowed):
        approve_call_amendment(staff_be, amendment)
    # The call may be amended again; the next amendment gets the next number.
    assert call.can_propose_amendment(staff_cn)
    assert propose_call_amendment(staff_cn, call, {"closes_at": _later(call, 3)}, "Less").version == 2


def test_the_proposing_side_withdraws_its_amendment(scene):
    call, staff_cn, staff_be, _cn, _be = scene
    amendment = propose_call_amendment(staff_cn, call, {"title": "A better title"}, "Typo")
    with pytest.raises(NotAllowed):
        withdraw_call_amendment(staff_be, amendment)
    withdraw_call_amendment(staff_cn, amendment)
    assert amendment.state == AmendmentState.withdrawn and call.title == "Joint call"


def test_one_amendment_at_a_time_and_refused_values_say_why(scene):
    call, staff_cn, staff_be, _cn, _be = scene
    now = utcnow()
    refusals = [
        ({"closes_at": call.closes_at}, "More time", "Nothing changes"),
        ({"closes_at": _later(call)}, " ", "Say why"),
        ({"closes_at": now - timedelta(hours=1)}, "Earlier", "already past"),
        ({"review_due_at": call.closes_at - timedelta(days=1)}, "Reviews", "Reviews must be due after"),
        ({"full_closes_at": _later(call)}, "Full stage", "Only a two-stage call"),
        ({"title": "  "}, "No title", "needs a title"),
        ({"state": "closed"}, "Sneaky", "cannot be amended"),
    ]
    for changes, reason, message in refusals:
        with pytest.raises(DomainError) as refused:
            propose_call_amendment(staff_cn, call, changes, reason)
        assert message in refused.value.message, (changes, refused.value.message)
    propose_call_amendment(staff_cn, call, {"closes_at": _later(call)}, "More time")
    with pytest.raises(DomainError) as refused:
        propose_call_amendment(staff_be, call, {"title": "Other"}, "Mine too")
    assert "one amendment at a time" in refused.value.message


@pytest.mark.parametrize("state, allowed", [
    (CallState.draft, False), (CallState.approved, True), (CallState.open, True),
    (CallState.closed, False), (CallState.in_review, False),
])
def test_only_an_approved_or_open_call_is_amended(scene, state, allowed):
    call, staff_cn, _staff_be, _cn, _be = scene
    call.state = state
    assert call.can_propose_amendment(staff_cn) is allowed
    if not allowed:
        with pytest.raises(NotAllowed):
            propose_call_amendment(staff_cn, call, {"closes_at": _later(call)}, "More time")


def test_a_closing_instant_passed_before_the_approval_is_refused_then(scene):
    call, staff_cn, staff_be, _cn, _be = scene
    soon = utcnow() + timedelta(hours=1)
    amendment = propose_call_amendment(staff_cn, call, {"closes_at": soon}, "Close early")
    with pytest.raises(DomainError) as refused:
        approve_call_amendment(staff_be, amendment, now=soon + timedelta(minutes=1))
    assert "already past" in refused.value.message


def test_applicants_with_unfinished_proposals_get_one_email_each_and_the_others_none(scene):
    call, staff_cn, staff_be, cn, be = scene
    pi_cn = f.user(Role.researcher, agency=cn, name="Li Wei", timezone="Asia/Shanghai")
    pi_be = f.user(Role.researcher, agency=be, name="Anne Dupont", locale="fr")
    late_pi = f.user(Role.researcher, agency=cn, name="Done Early")
    f.proposal(call, pi_cn, pi_be, title="First draft")
    f.proposal(call, pi_cn, title="Second draft of the same PI")
    f.proposal(call, late_pi, pi_be, state=ProposalState.submitted, title="Already in")
    new_closes = _later(call)
    amendment = propose_call_amendment(staff_be, call, {"closes_at": new_closes}, "Server outage")
    notices = db.session.scalars(sa.select(OutboxMessage).filter_by(template="call_amendment_proposed")).all()
    assert [m.recipient_user_id for m in notices] == [staff_cn.id]
    approve_call_amendment(staff_cn, amendment)
    db.session.commit()
    mails = db.session.scalars(sa.select(OutboxMessage).filter_by(template="call_amended")).all()
    assert sorted(m.recipient_user_id for m in mails) == sorted([pi_cn.id, pi_be.id])
    to_cn = next(m for m in mails if m.recipient_user_id == pi_cn.id)
    assert call.reference in to_cn.subject
    assert format_instant(new_closes, "Asia/Shanghai") in to_cn.body  # in the PI's own zone
    assert f"http://localhost/calls/{call.id}" in to_cn.body and "Server outage" in to_cn.body
    # Queued once: the same amendment applied again (a retry) sends nothing more.
    from cfp.calls.amendments import _tell_the_applicants

    _tell_the_applicants(amendment)
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))
                             .filter_by(template="call_amended")) == 2


def test_staff_propose_from_the_call_page_and_the_other_side_approves_there(scene, client):
    call, staff_cn, staff_be, cn, be = scene
    pi = f.user(Role.researcher, agency=cn)
    f.proposal(call, pi, title="Draft")
    db.session.commit()
    f.login(client, staff_cn)
    page = client.get(f"/calls/{call.id}").data.decode()
    assert f"/calls/{call.id}/amendments/new" in page
    form = client.get(f"/calls/{call.id}/amendments/new").data.decode()
    assert call.title in form  # prefilled with the call as it stands
    tz = staff_cn.effective_timezone
    typed = {"timezone": tz, "closes_at": to_zone(call.closes_at, tz).strftime("%Y-%m-%dT%H:%M"),
             "title": call.title, "description": call.description,
             "side_a-required_documents": "", "side_a-eligibility_rules": "",
             "side_b-required_documents": "CV\r\nLetter of the host institution",
             "side_b-eligibility_rules": "", "reason": ""}
    refused = client.post(f"/calls/{call.id}/amendments/new", data=typed)
    assert refused.status_code == 422  # no reason: the form comes back with what was typed
    assert "Letter of the host institution" in refused.data.decode()
    nothing = client.post(f"/calls/{call.id}/amendments/new", data={**typed, "side_b-required_documents": "",
                                                                    "reason": "No change"})
    assert nothing.status_code == 422 and "Nothing changes" in nothing.data.decode()
    assert client.post(f"/calls/{call.id}/amendments/new",
                       data={**typed, "reason": "WBI asks for a host letter"}).status_code == 302
    amendment = db.session.scalar(sa.select(CallAmendment))
    assert list(amendment.changes) == [side_key(be.id, "required_documents")]  # the instant did not change
    page = client.get(f"/calls/{call.id}").data.decode()
    assert "Amendment 1" in page and "Letter of the host institution" in page and "WBI asks for a host letter" in page
    assert f"/amendments/{amendment.id}/withdraw" in page and f"/amendments/{amendment.id}/approve" not in page
    client.post("/logout")

    f.login(client, staff_be)
    page = client.get(f"/calls/{call.id}").data.decode()
    assert f"/amendments/{amendment.id}/approve" in page and f"/amendments/{amendment.id}/reject" in page
    assert client.post(f"/calls/{call.id}/amendments/{amendment.id}/reject", data={"reason": ""}).status_code == 422
    assert client.post(f"/calls/{call.id}/amendments/{amendment.id}/approve").status_code == 302
    page = client.get(f"/calls/{call.id}").data.decode()
    assert "Amended 1 time; version 1" in page and "made version 1" in page
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).filter_by(template="call_amended")) == 1


def test_a_rejected_amendment_shows_its_reason_to_everyone(scene, client):
    call, staff_cn, staff_be, _cn, _be = scene
    amendment = propose_call_amendment(staff_cn, call, {"closes_at": _later(call)}, "More time")
    db.session.commit()
    f.login(client, staff_be)
    assert client.post(f"/calls/{call.id}/amendments/{amendment.id}/reject",
                       data={"reason": "Our panel meets on the 3rd"}).status_code == 302
    client.post("/logout")
    page = client.get(f"/calls/{call.id}").data.decode()  # anonymous: the call is public
    assert "Our panel meets on the 3rd" in page and "Amended" not in page
