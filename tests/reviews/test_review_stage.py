"""One rule for when a review can be submitted (issue 10): until staff close their side's
review stage. A due date is a target reminders refer to, not a lock: an overdue reviewer
reminded to submit can submit. Once a side's stage is closed its reviews are frozen, no
reviewer of that side is invited or reminded, and the other side is not affected."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.calls.models import CallState
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import AssignmentState, Review, ReviewState
from cfp.reviews.operations import assign_reviewer, remind_reviewers
from cfp.reviews.stage import close_review_stage
from tests import factories as f


def scene():
    cn, be, committee = f.world()
    call = f.call(committee, state=CallState.in_review, closes_at=utcnow() - timedelta(days=40),
                  opens_at=utcnow() - timedelta(days=80))
    call.review_due_at = utcnow() - timedelta(days=3)
    p = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                   state=ProposalState.in_review)
    late_cn = f.assignment(p, f.reviewer(cn), state=AssignmentState.overdue, due_in_days=-3)
    late_be = f.assignment(p, f.reviewer(be), state=AssignmentState.overdue, due_in_days=-3)
    return call, cn, be, p, late_cn, late_be


def review_data(call, submit=True):
    excellence, impact = call.criteria
    data = {f"score_{excellence.id}": "4", f"score_{impact.id}": "3.5",
            "comments_to_applicants": "A sound plan.", "recommendation": "fund"}
    data["submit" if submit else "save"] = "submit" if submit else "save"
    return data


def test_an_overdue_reviewer_can_still_submit(client):
    call, _cn, _be, _p, late_cn, _late_be = scene()
    f.login(client, late_cn.reviewer)
    page = client.get(f"/reviews/assignments/{late_cn.id}").data.decode()
    assert "your review until the staff of MOST close the review stage of this call" in page
    response = client.post(f"/reviews/assignments/{late_cn.id}/review", data=review_data(call))
    assert response.status_code == 302
    db.session.refresh(late_cn)
    assert late_cn.state == AssignmentState.submitted
    assert late_cn.review.state == ReviewState.submitted


def test_once_staff_close_their_sides_stage_its_reviews_are_frozen(client):
    call, cn, be, _p, late_cn, late_be = scene()
    staff = f.user(Role.staff, agency=cn)
    f.login(client, staff)
    page = client.get(f"/reviews/dashboard/{call.id}/{cn.id}").data.decode()
    assert f"/reviews/stage/{call.id}/{cn.id}/close" in page and "data-confirm=" in page
    assert client.post(f"/reviews/stage/{call.id}/{cn.id}/close").status_code == 302
    db.session.refresh(call)
    assert call.side(cn).review_closed_at is not None and call.side(be).review_closed_at is None
    client.post("/logout")

    f.login(client, late_cn.reviewer)
    page = client.get(f"/reviews/assignments/{late_cn.id}").data.decode()
    assert "The staff of MOST closed the review stage" in page
    response = client.post(f"/reviews/assignments/{late_cn.id}/review", data=review_data(call, submit=False),
                           follow_redirects=True)
    assert b"the review is frozen" in response.data
    assert db.session.scalar(sa.select(Review).filter_by(assignment_id=late_cn.id)) is None
    client.post("/logout")

    # The other side's reviewers are not affected.
    f.login(client, late_be.reviewer)
    assert client.post(f"/reviews/assignments/{late_be.id}/review", data=review_data(call)).status_code == 302
    db.session.refresh(late_be)
    assert late_be.state == AssignmentState.submitted


def test_staff_close_and_reopen_only_their_own_sides_stage(client):
    call, cn, be, _p, _late_cn, _late_be = scene()
    staff_be = f.user(Role.staff, agency=be)
    f.login(client, staff_be)
    assert client.post(f"/reviews/stage/{call.id}/{cn.id}/close").status_code == 403
    with pytest.raises(NotAllowed):
        close_review_stage(staff_be, call, cn.id)
    db.session.refresh(call)
    assert call.side(cn).review_closed_at is None
    assert client.post(f"/reviews/stage/{call.id}/{be.id}/close").status_code == 302
    db.session.refresh(call)
    assert call.side(be).review_closed_at is not None
    assert client.post(f"/reviews/stage/{call.id}/{be.id}/reopen").status_code == 302
    db.session.refresh(call)
    assert call.side(be).review_closed_at is None


def test_a_closed_side_invites_and_reminds_nobody():
    call, cn, _be, p, _late_cn, late_be = scene()
    staff = f.user(Role.staff, agency=cn)
    close_review_stage(staff, call, cn.id)
    with pytest.raises(DomainError, match="review stage"):
        assign_reviewer(staff, p, f.reviewer(cn), cn.id, utcnow() + timedelta(days=5))
    remind_reviewers(utcnow() + timedelta(days=1))
    reminded = set(db.session.scalars(sa.select(OutboxMessage.recipient_user_id).where(
        OutboxMessage.template == "review_overdue")))
    assert reminded == {late_be.reviewer_id}


def test_reminders_state_the_rule():
    _call, _cn, be, p, _late_cn, late_be = scene()
    soon = f.assignment(p, f.reviewer(be), due_in_days=1)
    remind_reviewers()
    for assignment, template in ((late_be, "review_overdue"), (soon, "review_reminder")):
        body = db.session.scalar(sa.select(OutboxMessage.body).filter_by(
            recipient_user_id=assignment.reviewer_id, template=template))
        assert "until the staff of WBI close the review stage" in " ".join(body.split()), template
