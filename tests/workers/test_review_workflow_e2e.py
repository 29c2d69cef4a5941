"""The review workflow against a real Celery worker over Redis: a decline leads to the
next best reviewer being invited, and a reminder is sent exactly once even when the beat
task runs twice. Uses the worker fixtures of test_worker_e2e (its own Redis database via
CFP_TEST_WORKER_REDIS_URL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from cfp.calls.models import CallState
from cfp.core.outbox import MessageStatus, OutboxMessage
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import Assignment, AssignmentState, ReviewerProfile
from tests import factories as f
from tests.workers.test_worker_e2e import enqueuing_to, succeeded, wait_for

pytestmark = pytest.mark.real_commits


def _review_stage():
    cn, be, committee = f.world()
    call = f.call(committee, state=CallState.in_review, opens_at=utcnow() - timedelta(days=30),
                  closes_at=utcnow() - timedelta(days=1))
    proposal = f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                          state=ProposalState.in_review, title="Perovskite solar cells")
    proposal.abstract, proposal.keywords = "perovskite photovoltaic stability", "perovskite, solar"
    experts = {}
    for name, keywords in [("First", "perovskite solar cells"), ("Second", "solar photovoltaic"),
                           ("Unrelated", "medieval history")]:
        r = f.reviewer(be, name=name)
        db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=r.id)).keywords = keywords
        experts[name] = r
    return proposal, experts


def test_a_decline_has_the_worker_invite_the_next_best_reviewer(app, web, worker):
    proposal, experts = _review_stage()
    invitation = f.assignment(proposal, experts["First"], state=AssignmentState.invited, no_conflict=False)
    db.session.commit()
    invitation_id, second_id = invitation.id, experts["Second"].id
    log_start = len(worker.output())

    client = web.test_client()
    f.login(client, experts["First"])
    with enqueuing_to(web, app):
        response = client.post(f"/reviews/assignments/{invitation_id}/answer", data={"decline": "Decline"})
    assert response.status_code == 302

    replacement = wait_for(worker, "the replacement invitation", lambda: db.session.scalar(
        sa.select(Assignment).filter_by(reviewer_id=second_id, proposal_id=proposal.id)))
    assert replacement.state == AssignmentState.invited
    declined = db.session.get(Assignment, invitation_id)
    assert declined.state == AssignmentState.declined and declined.replaced_by_id == replacement.id
    message = wait_for(worker, "the invitation to be sent", lambda: db.session.scalar(
        sa.select(OutboxMessage).filter_by(idempotency_key=f"review-invitation-{replacement.id}",
                                           status=MessageStatus.sent)))
    assert message.recipient_user_id == second_id
    assert succeeded(worker, "reviews.replace_assignment", log_start, 1) == [str(replacement.id)]
    # Nobody else was invited.
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 2


def test_a_reminder_is_sent_exactly_once_when_the_beat_task_runs_twice(app, web, worker):
    from workers.reviews import send_review_reminders

    proposal, experts = _review_stage()
    due_soon = f.assignment(proposal, experts["First"], due_in_days=2)
    db.session.commit()
    key = f"reminder-{due_soon.id}-before-3d"
    log_start = len(worker.output())

    with enqueuing_to(web, app):
        send_review_reminders.delay()
        send_review_reminders.delay()

    def both_runs():
        runs = worker.succeeded("reviews.send_review_reminders", log_start)
        return runs if len(runs) == 2 else None

    runs = wait_for(worker, "both runs of the beat task", both_runs)
    assert sorted(runs) == ["0", "1"]
    rows = wait_for(worker, "the reminder to be sent", lambda: [
        r for r in db.session.scalars(sa.select(OutboxMessage).filter_by(idempotency_key=key))
        if r.status == MessageStatus.sent])
    assert len(rows) == 1 and rows[0].recipient_user_id == experts["First"].id
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))
                             .where(OutboxMessage.template == "review_reminder")) == 1
    assert succeeded(worker, "mail.deliver_email", log_start, 1) == ["'sent'"]
