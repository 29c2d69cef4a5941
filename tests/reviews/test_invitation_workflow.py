"""The invitation workflow (Celery eager in tests): replacement after a decline, a declared
conflict or no answer; reminders once each; overdue marking; staff extend and replace."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from cfp.calls.models import CallState
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import Assignment, AssignmentState, ReviewerProfile
from cfp.reviews.operations import remind_reviewers
from tests import factories as f
from workers.reviews import expire_invitations, send_review_reminders


def setup():
    cn, be, committee = f.world()
    call = f.call(committee, state=CallState.in_review, closes_at=utcnow() - timedelta(days=1),
                  opens_at=utcnow() - timedelta(days=30))
    staff = f.user(Role.staff, agency=be)
    p = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                   state=ProposalState.in_review, title="Perovskite solar cells")
    p.abstract, p.keywords = "perovskite photovoltaic stability", "perovskite, solar"
    experts = {}
    for name, keywords in [("First", "perovskite solar cells"), ("Second", "solar photovoltaic"),
                           ("Unrelated", "medieval history")]:
        r = f.reviewer(be, name=name)
        db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=r.id)).keywords = keywords
        experts[name] = r
    db.session.flush()
    return call, be, staff, p, experts


def invite(p, reviewer, days=20):
    return f.assignment(p, reviewer, state=AssignmentState.invited, no_conflict=False, due_in_days=days)


def invited_reviewers(p):
    return db.session.scalars(sa.select(Assignment.reviewer_id).filter_by(
        proposal_id=p.id, state=AssignmentState.invited)).all()


def test_a_decline_invites_the_next_best_reviewer(client):
    _call, _be, _staff, p, experts = setup()
    a = invite(p, experts["First"])
    f.login(client, experts["First"])
    response = client.post(f"/reviews/assignments/{a.id}/answer", data={"decline": "Decline"})
    assert response.status_code == 302
    db.session.refresh(a)
    assert a.state == AssignmentState.declined
    assert a.replaced_by is not None and a.replaced_by.reviewer_id == experts["Second"].id
    assert invited_reviewers(p) == [experts["Second"].id]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.recipient_user_id == experts["Second"].id)) == 1


def test_a_declared_conflict_releases_and_replaces(client):
    _call, _be, _staff, p, experts = setup()
    a = f.assignment(p, experts["First"], no_conflict=False)
    f.login(client, experts["First"])
    client.post(f"/reviews/assignments/{a.id}/interests", data={"conflict": "yes", "reason": "My student"})
    db.session.refresh(a)
    assert a.state == AssignmentState.conflict
    # The proposal stays hidden from the conflicted reviewer.
    page = client.get(f"/reviews/assignments/{a.id}")
    assert b"perovskite photovoltaic stability" not in page.data
    assert a.replaced_by.reviewer_id == experts["Second"].id


def test_unanswered_invitations_expire_and_are_replaced():
    call, be, _staff, p, experts = setup()
    old = invite(p, experts["First"])
    old.invited_at = utcnow() - timedelta(days=call.side(be).reviewer_answer_days, minutes=1)
    fresh_p = f.proposal(call, f.user(Role.researcher), state=ProposalState.in_review, title="Other")
    fresh = invite(fresh_p, experts["Second"])
    db.session.flush()
    assert expire_invitations.delay().get() == 1
    db.session.refresh(old)
    db.session.refresh(fresh)
    assert old.state == AssignmentState.replaced and old.replaced_by.reviewer_id == experts["Second"].id
    assert fresh.state == AssignmentState.invited
    # Running again changes nothing.
    assert expire_invitations.delay().get() == 0
    assert len(invited_reviewers(p)) == 1


def test_no_reviewer_left_means_no_replacement():
    _call, _be, _staff, p, experts = setup()
    for r in experts.values():
        invite(p, r).state = AssignmentState.declined
    db.session.flush()
    a = db.session.scalars(sa.select(Assignment).filter_by(proposal_id=p.id)).first()
    from workers.reviews import replace_assignment

    assert replace_assignment.delay(a.id).get() is None
    assert invited_reviewers(p) == []


def test_reminders_before_and_after_are_sent_once_each():
    _call, _be, _staff, p, experts = setup()
    soon = f.assignment(p, experts["First"], due_in_days=2)  # within the 3 days before
    late = f.assignment(p, experts["Second"], due_in_days=-3)  # 3 days late, reminder after 2
    far = f.assignment(p, experts["Unrelated"], due_in_days=20)
    db.session.flush()
    assert send_review_reminders.delay().get() == 2
    assert send_review_reminders.delay().get() == 0
    db.session.refresh(late)
    assert late.state == AssignmentState.overdue
    keys = set(db.session.scalars(sa.select(OutboxMessage.idempotency_key).where(
        OutboxMessage.template.in_(["review_reminder", "review_overdue"]))))
    assert keys == {f"reminder-{soon.id}-before-3d", f"reminder-{late.id}-after-2d"}
    assert far.state == AssignmentState.accepted
    # A day later, still nothing new for the same reasons.
    assert remind_reviewers(utcnow() + timedelta(hours=12)) == 0


def test_staff_extend_a_due_date_and_replace_a_reviewer(app, client):
    call, _be, staff, p, experts = setup()
    late = f.assignment(p, experts["First"], due_in_days=-1)
    late.state = AssignmentState.overdue
    db.session.flush()
    f.login(client, staff)
    page = client.get(f"/reviews/assign/{p.id}")
    assert page.status_code == 200 and b"overdue" in page.data
    from cfp.core.timezones import to_zone

    local = to_zone(utcnow() + timedelta(days=10), staff.effective_timezone).strftime("%Y-%m-%dT%H:%M")
    client.post(f"/reviews/assignments/{late.id}/extend", data={"due_at": local})
    db.session.refresh(late)
    assert late.state == AssignmentState.accepted and late.due_at > utcnow() + timedelta(days=9)
    client.post(f"/reviews/assignments/{late.id}/replace")
    db.session.refresh(late)
    assert late.state == AssignmentState.replaced and late.replaced_by.reviewer_id == experts["Second"].id
    # The other side's staff cannot touch it.
    other = f.user(Role.staff, agency=call.sides[0].agency)
    other_client = app.test_client()
    f.login(other_client, other)
    assert other_client.post(f"/reviews/assignments/{late.replaced_by_id}/replace").status_code == 404
