"""Each side its own review settings (issue 10): reviewers per proposal, the period a
reviewer has to answer an invitation and the date reviews are due. Staff of a side set
their side's; staff of the other side cannot, checked on the server."""
from __future__ import annotations

from datetime import timedelta

import pytest

from cfp.calls.models import CallState
from cfp.core.errors import NotAllowed
from cfp.core.roles import Role
from cfp.core.timezones import to_zone
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import AssignmentState
from cfp.reviews.operations import expire_invitations
from cfp.reviews.stage import update_side_review_settings
from tests import factories as f


def scene():
    cn, be, committee = f.world()
    call = f.call(committee, state=CallState.in_review, closes_at=utcnow() - timedelta(days=1),
                  opens_at=utcnow() - timedelta(days=30))
    call.review_due_at = utcnow() + timedelta(days=40)
    p = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                   state=ProposalState.in_review)
    return call, cn, be, p


def local(instant, zone):
    return to_zone(instant, zone).strftime("%Y-%m-%dT%H:%M")


def test_staff_set_their_own_sides_review_settings(client):
    call, cn, be, _p = scene()
    staff = f.user(Role.staff, agency=cn)
    f.login(client, staff)
    due = (utcnow() + timedelta(days=50)).replace(second=0, microsecond=0)
    response = client.post(f"/reviews/side-settings/{call.id}/{cn.id}", data={
        "reviewers_per_proposal": "3", "reviewer_answer_days": "10",
        "review_due_at": local(due, staff.effective_timezone)})
    assert response.status_code == 302
    db.session.refresh(call)
    mine, theirs = call.side(cn), call.side(be)
    assert (mine.reviewers_per_proposal, mine.reviewer_answer_days, mine.reviews_due_at) == (3, 10, due)
    assert (theirs.reviewers_per_proposal, theirs.reviewer_answer_days) == (1, 7)
    assert theirs.reviews_due_at == call.review_due_at  # the call's date, untouched
    page = client.get(f"/reviews/dashboard/{call.id}/{cn.id}").data.decode()
    assert 'name="reviewers_per_proposal"' in page and 'value="3"' in page


def test_staff_cannot_change_the_other_sides_settings(client):
    call, cn, be, _p = scene()
    staff_be = f.user(Role.staff, agency=be)
    f.login(client, staff_be)
    response = client.post(f"/reviews/side-settings/{call.id}/{cn.id}", data={
        "reviewers_per_proposal": "5", "reviewer_answer_days": "2", "review_due_at": ""})
    assert response.status_code == 403
    db.session.refresh(call)
    assert (call.side(cn).reviewers_per_proposal, call.side(cn).reviewer_answer_days) == (1, 7)
    # Nor through the operation, whatever calls it.
    with pytest.raises(NotAllowed):
        update_side_review_settings(staff_be, call, cn.id, reviewers_per_proposal=5,
                                    reviewer_answer_days=2, review_due_at=None)
    # Their own side's page offers only their own side's settings.
    page = client.get(f"/reviews/dashboard/{call.id}/{be.id}").data.decode()
    assert f"/reviews/side-settings/{call.id}/{be.id}" in page
    assert f"/reviews/side-settings/{call.id}/{cn.id}" not in page


def test_a_side_setting_is_checked(client):
    call, cn, _be, _p = scene()
    staff = f.user(Role.staff, agency=cn)
    f.login(client, staff)
    response = client.post(f"/reviews/side-settings/{call.id}/{cn.id}", data={
        "reviewers_per_proposal": "0", "reviewer_answer_days": "7", "review_due_at": ""},
        follow_redirects=True)
    assert b"Reviewers per proposal" in response.data
    past = local(utcnow() - timedelta(days=1), staff.effective_timezone)
    response = client.post(f"/reviews/side-settings/{call.id}/{cn.id}", data={
        "reviewers_per_proposal": "2", "reviewer_answer_days": "7", "review_due_at": past},
        follow_redirects=True)
    assert b"must be in the future" in response.data
    db.session.refresh(call)
    assert call.side(cn).reviewers_per_proposal == 1


def test_each_side_gives_its_own_time_to_answer():
    call, cn, be, p = scene()
    call.side(cn).reviewer_answer_days, call.side(be).reviewer_answer_days = 3, 10
    slow_cn = f.assignment(p, f.reviewer(cn), state=AssignmentState.invited, no_conflict=False)
    slow_be = f.assignment(p, f.reviewer(be), state=AssignmentState.invited, no_conflict=False)
    for a in (slow_cn, slow_be):
        a.invited_at = utcnow() - timedelta(days=5)
    db.session.flush()
    assert expire_invitations() == [slow_cn.id]


def test_new_invitations_are_due_at_the_sides_date(client):
    call, cn, _be, p = scene()
    due = (utcnow() + timedelta(days=60)).replace(second=0, microsecond=0)
    call.side(cn).review_due_at = due
    staff = f.user(Role.staff, agency=cn)
    db.session.flush()
    f.login(client, staff)
    page = client.get(f"/reviews/assign/{p.id}").data.decode()
    assert f'value="{local(due, staff.effective_timezone)}"' in page
