"""Staff manage who is in their side's pool (issue 10): they edit a reviewer's load and
expertise, and remove a reviewer, whose past reviews stay; a reviewer who still owes
reviews is not removed, and staff are told what to do first. A reviewer reaches their
own profile from *My reviews*."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.calls.models import CallState
from cfp.core.errors import DomainError
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import Assignment, AssignmentState, ReviewerProfile
from cfp.reviews.operations import compute_side_ranking
from cfp.reviews.pool import remove_from_pool
from tests import factories as f
from tests.reviews.test_mirror_review import submitted_review


def scene():
    cn, be, committee = f.world()
    call = f.call(committee, state=CallState.in_review, closes_at=utcnow() - timedelta(days=1),
                  opens_at=utcnow() - timedelta(days=30))
    p = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                   state=ProposalState.in_review)
    reviewer = f.reviewer(cn, name="Dr Leaving")
    staff = f.user(Role.staff, agency=cn)
    return call, cn, be, p, reviewer, staff


def profile_of(user):
    return db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=user.id))


def test_staff_remove_a_reviewer_and_the_past_reviews_stay(client):
    call, cn, _be, p, reviewer, staff = scene()
    done = f.assignment(p, reviewer)
    submitted_review(done, "4.0", "Done before leaving.")
    f.login(client, staff)
    page = client.get(f"/reviews/pool/{cn.id}").data.decode()
    assert f"/reviews/pool/{cn.id}/reviewers/{reviewer.id}" in page
    page = client.get(f"/reviews/pool/{cn.id}/reviewers/{reviewer.id}").data.decode()
    assert f"/reviews/pool/{cn.id}/reviewers/{reviewer.id}/remove" in page and "data-confirm=" in page
    response = client.post(f"/reviews/pool/{cn.id}/reviewers/{reviewer.id}/remove")
    assert response.status_code == 302
    db.session.expire_all()
    assert profile_of(reviewer) is None and not reviewer.has_role(Role.reviewer, cn)
    page = client.get(f"/reviews/pool/{cn.id}").data.decode()
    assert "Dr Leaving is no longer in the pool of MOST" in page
    assert "Dr Leaving" not in page[page.index('id="pool"'):]
    # The review stays, and still counts in the side's ranking.
    assert db.session.get(Assignment, done.id).review.comments_to_applicants == "Done before leaving."
    [entry] = compute_side_ranking(call.id, cn.id)
    assert entry.reviews_count == 1


def test_a_reviewer_who_still_owes_reviews_is_not_removed(client):
    _call, cn, _be, p, reviewer, staff = scene()
    f.assignment(p, reviewer, state=AssignmentState.accepted)
    f.login(client, staff)
    response = client.post(f"/reviews/pool/{cn.id}/reviewers/{reviewer.id}/remove", follow_redirects=True)
    page = response.data.decode()
    assert "still has 1 open review" in page and p.reference in page and "Replace" in page
    db.session.expire_all()
    assert profile_of(reviewer) is not None and reviewer.has_role(Role.reviewer, cn)
    with pytest.raises(DomainError):
        remove_from_pool(staff, profile_of(reviewer))


def test_staff_of_the_other_side_cannot_remove_or_edit(client):
    _call, cn, be, _p, reviewer, _staff = scene()
    f.login(client, f.user(Role.staff, agency=be))
    assert client.post(f"/reviews/pool/{cn.id}/reviewers/{reviewer.id}/remove").status_code == 403
    assert client.get(f"/reviews/pool/{cn.id}/reviewers/{reviewer.id}").status_code == 403
    # Through their own side's address, the reviewer is not in their pool.
    assert client.post(f"/reviews/pool/{be.id}/reviewers/{reviewer.id}/remove").status_code == 404
    db.session.expire_all()
    assert profile_of(reviewer) is not None


def test_staff_raise_a_reviewers_maximum_load(client):
    _call, cn, _be, _p, reviewer, staff = scene()
    f.login(client, staff)
    response = client.post(f"/reviews/pool/{cn.id}/reviewers/{reviewer.id}", data={
        "keywords": "perovskite", "expertise": "Solar cells.", "max_load": "12"})
    assert response.status_code == 302
    db.session.expire_all()
    profile = profile_of(reviewer)
    assert (profile.max_load, profile.keywords) == (12, "perovskite")


def test_a_reviewer_reaches_their_profile_from_my_reviews(client):
    _call, _cn, _be, _p, reviewer, _staff = scene()
    f.login(client, reviewer)
    page = client.get("/reviews/mine").data.decode()
    assert 'href="/reviews/profile"' in page
