"""Aggregation per side and the staff dashboard."""
from __future__ import annotations

from decimal import Decimal

from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.aggregation import side_statistics
from cfp.reviews.models import AssignmentState
from tests import factories as f
from tests.reviews.test_mirror_review import submitted_review


def scene(normalise=False):
    cn, be, committee = f.world()
    call = f.call(committee, criteria=(("Excellence", "2", "3"), ("Impact", "1", None)), overall_threshold="3")
    call.normalise_review_scores = normalise
    harsh, lenient, third, foreign = f.reviewer(cn), f.reviewer(cn), f.reviewer(cn), f.reviewer(be)
    pi_cn, pi_be = f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be)
    a = f.proposal(call, pi_cn, pi_be, state=ProposalState.in_review, title="A")
    b = f.proposal(call, pi_cn, pi_be, state=ProposalState.in_review, title="B")
    submitted_review(f.assignment(a, harsh), "2.0", "x")
    submitted_review(f.assignment(a, lenient), "4.5", "x")  # spread 2.5: strong disagreement
    submitted_review(f.assignment(b, harsh), "1.0", "x")
    submitted_review(f.assignment(b, third), "3.0", "x")
    f.assignment(b, lenient, state=AssignmentState.accepted, due_in_days=-2)  # overdue
    submitted_review(f.assignment(a, foreign), "0.5", "other side")
    db.session.flush()
    return call, cn, a, b


def test_weighted_means_spread_thresholds_and_progress():
    call, cn, a, b = scene()
    stats, distribution = side_statistics(call, cn.id)
    by = {s.proposal.id: s for s in stats}
    assert by[a.id].mean == Decimal("3.250") and by[b.id].mean == Decimal("2.000")
    assert by[a.id].spread == Decimal("2.5") and by[a.id].disagreement is True
    assert by[b.id].spread == Decimal("2.0") and by[b.id].disagreement is True
    excellence = call.criteria[0]
    assert by[a.id].criterion_means[excellence.id] == Decimal("3.250")
    assert by[a.id].passed is True and by[b.id].passed is False
    assert by[b.id].progress == {"invited": 3, "accepted": 3, "submitted": 2, "overdue": 1}
    assert distribution["reviews"] == 4  # the other side's review is not counted
    assert dict(distribution["bins"])[Decimal("4.5")] == 1


def test_z_scores_correct_a_harsh_reviewer():
    call, cn, a, b = scene(normalise=True)
    stats, _ = side_statistics(call, cn.id)
    by = {s.proposal.id: s for s in stats}
    # Harsh scored A above B; the lenient and the third reviewer have one review each.
    assert by[a.id].normalised > by[b.id].normalised
    assert [s.proposal.id for s in stats] == [a.id, b.id]


def test_staff_dashboard_shows_their_side(client):
    call, cn, _a, _b = scene()
    staff = f.user(Role.staff, agency=cn)
    f.login(client, staff)
    page = client.get(f"/reviews/dashboard/{call.id}/{cn.id}")
    assert page.status_code == 200
    assert b"strong disagreement" in page.data and b"<svg" in page.data
    assert b"3.250" in page.data
    be_id = call.sides[1].agency_id
    assert client.get(f"/reviews/dashboard/{call.id}/{be_id}").status_code == 403


def test_staff_set_the_calls_review_settings(client):
    call, cn, _a, _b = scene()
    staff = f.user(Role.staff, agency=cn)
    f.login(client, staff)
    response = client.post(f"/reviews/settings/{call.id}/{cn.id}", data={
        "review_reminder_days_before": "5", "review_reminder_days_after": "1",
        "reviewer_min_load": "1", "reviewers_see_side_reviews": "y", "normalise_review_scores": "y"})
    assert response.status_code == 302
    db.session.refresh(call)
    assert (call.review_reminder_days_before, call.review_reminder_days_after,
            call.reviewer_min_load) == (5, 1, 1)
    assert call.reviewers_see_side_reviews and call.normalise_review_scores
    bad = client.post(f"/reviews/settings/{call.id}/{cn.id}", data={"review_reminder_days_before": "-1"},
                      follow_redirects=True)
    assert b"Remind reviewers" in bad.data
    db.session.refresh(call)
    assert call.review_reminder_days_before == 5


def test_the_ranking_follows_normalised_scores_when_the_call_says_so():
    from cfp.reviews.operations import compute_side_ranking

    cn, be, committee = f.world()
    call = f.call(committee)
    harsh, lenient = f.reviewer(cn), f.reviewer(cn)
    pi_cn, pi_be = f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be)
    a, b, c = (f.proposal(call, pi_cn, pi_be, state=ProposalState.in_review, title=t) for t in "ABC")
    # Harsh: A 3.0, C 1.0 (A is their best); lenient: B 3.5, C 5.0 (B is their worst).
    # Raw means put B above A; z-scores put A first (+1), then C (0), then B (-1).
    submitted_review(f.assignment(a, harsh), "3.0", "x")
    submitted_review(f.assignment(c, harsh), "1.0", "x")
    submitted_review(f.assignment(b, lenient), "3.5", "x")
    submitted_review(f.assignment(c, lenient), "5.0", "x")
    raw = {e.proposal_id: e.rank for e in compute_side_ranking(call.id, cn.id)}
    assert raw[b.id] < raw[a.id]
    call.normalise_review_scores = True
    normalised = {e.proposal_id: e.rank for e in compute_side_ranking(call.id, cn.id)}
    assert (normalised[a.id], normalised[c.id], normalised[b.id]) == (1, 2, 3)
