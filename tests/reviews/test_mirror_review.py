"""Mirror review: a reviewer sees the other reviews of their side only after submitting
their own and only if the call allows it; never the other side's; reviews freeze at the
deadline; a declared conflict keeps the proposal hidden."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import AssignmentState, Review, ReviewScore, ReviewState
from tests import factories as f


def submitted_review(assignment, score, comment):
    call = assignment.proposal.call
    with db.session.no_autoflush:
        review = Review(state=ReviewState.submitted, comments_to_applicants=comment,
                        weighted_score=Decimal(score), submitted_at=utcnow())
        review.scores = [ReviewScore(criterion_id=c.id, score=Decimal(score)) for c in call.criteria]
        db.session.add(review)
        review.assignment = assignment
        assignment.state = AssignmentState.submitted
    db.session.flush()
    return review


def scene(allow=True):
    cn, be, committee = f.world()
    call = f.call(committee)
    call.reviewers_see_side_reviews = allow
    p = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                   state=ProposalState.in_review)
    me, colleague, foreign = f.reviewer(cn), f.reviewer(cn), f.reviewer(be)
    mine = f.assignment(p, me)
    submitted_review(f.assignment(p, colleague), "4.0", "Colleague: strong consortium.")
    submitted_review(f.assignment(p, foreign), "2.0", "Other side: weak budget.")
    return call, p, me, mine


def test_a_reviewer_sees_their_sides_reviews_only_after_submitting(client):
    _call, _p, me, mine = scene()
    f.login(client, me)
    before = client.get(f"/reviews/assignments/{mine.id}").data
    assert b"Colleague: strong consortium." not in before
    submitted_review(mine, "3.5", "Mine.")
    after = client.get(f"/reviews/assignments/{mine.id}").data
    assert b"Colleague: strong consortium." in after
    # Never the other side's review, and never a reviewer's name.
    assert b"Other side: weak budget." not in after
    assert b"Reviewer 1" in after


def test_a_call_can_keep_the_sides_reviews_hidden(client):
    _call, _p, me, mine = scene(allow=False)
    submitted_review(mine, "3.5", "Mine.")
    f.login(client, me)
    assert b"Colleague: strong consortium." not in client.get(f"/reviews/assignments/{mine.id}").data


def test_a_reviewer_cannot_read_the_other_sides_review(client):
    _call, _p, me, mine = scene()
    submitted_review(mine, "3.5", "Mine.")
    foreign_assignment = db.session.scalars(
        sa.select(Review).where(Review.comments_to_applicants.like("Other side%"))).one().assignment
    f.login(client, me)
    assert client.get(f"/reviews/assignments/{foreign_assignment.id}").status_code == 404


def test_a_review_freezes_when_staff_close_the_sides_review_stage(client):
    """Not at the due date (an overdue reviewer may still submit, see test_review_stage)."""
    call, _p, me, mine = scene()
    mine.due_at = utcnow() - timedelta(minutes=1)
    call.review_due_at = utcnow() - timedelta(minutes=1)
    call.side(me.agency_id).review_closed_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    f.login(client, me)
    excellence, impact = call.criteria
    response = client.post(f"/reviews/assignments/{mine.id}/review", data={
        f"score_{excellence.id}": "4", f"score_{impact.id}": "3", "comments_to_applicants": "Late.",
        "save": "save"}, follow_redirects=True)
    assert b"the review is frozen" in response.data
    assert db.session.scalar(sa.select(Review).filter_by(assignment_id=mine.id)) is None
