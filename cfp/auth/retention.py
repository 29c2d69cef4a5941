"""Retention of personal data, applied daily by the beat task `auth.apply_retention`:

- CFP_RETAIN_DRAFTS_DAYS (730): a proposal never submitted (a draft, a pre-proposal, or
  one withdrawn before submission) that nobody changed for so long is deleted with its
  documents;
- CFP_RETAIN_REVIEWER_DATA_DAYS (1825): that long after a call was decided, its reviewers'
  confidential comments (of each review and each submitted revision) and their conflict
  declarations are erased; scores, recommendations and comments to the applicants stay;
- the confirmation sent to a deleted account keeps the old address only until it is sent.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from cfp.auth.models import User
from cfp.core.audit import log_action
from cfp.core.outbox import MessageStatus, OutboxMessage
from cfp.core.types import utcnow
from cfp.extensions import db


def erase_reviewer_data(before: datetime) -> tuple[int, int]:
    """Erase confidential comments and conflict declarations of the calls decided before
    `before`; returns (reviews, conflict declarations) erased."""
    from cfp.calls.models import Call, CallState
    from cfp.proposals.models import Proposal
    from cfp.reviews.models import Assignment, Review, ReviewRevision

    calls = db.session.scalars(sa.select(Call).where(
        Call.state.in_([CallState.decided, CallState.archived]),
        sa.func.coalesce(Call.decided_at, Call.updated_at) < before).order_by(Call.id)).all()
    total_reviews = total_conflicts = 0
    for call in calls:
        assignments = sa.select(Assignment.id).join(Proposal).where(Proposal.call_id == call.id)
        reviews = db.session.scalars(sa.select(Review).where(
            Review.assignment_id.in_(assignments),
            sa.or_(Review.confidential_comments != "",
                   Review.id.in_(sa.select(ReviewRevision.review_id)
                                 .where(ReviewRevision.confidential_comments != ""))))).all()
        for review in reviews:
            review.confidential_comments = ""
            for revision in review.revisions:
                revision.confidential_comments = ""
        conflicts = db.session.scalars(sa.select(Assignment).where(
            Assignment.id.in_(assignments), Assignment.conflict_reason.is_not(None))).all()
        for assignment in conflicts:
            assignment.conflict_reason = None
        if reviews or conflicts:
            log_action(None, "call.reviewer_data_erased", call,
                       after={"reviews": len(reviews), "conflict_declarations": len(conflicts)})
        total_reviews += len(reviews)
        total_conflicts += len(conflicts)
    return total_reviews, total_conflicts


def forget_sent_confirmations() -> int:
    """The confirmation of a deletion, once sent, forgets the address it went to."""
    sent = db.session.scalars(sa.select(OutboxMessage).join(User, OutboxMessage.recipient_user_id == User.id)
                              .where(OutboxMessage.template == "account_deleted",
                                     OutboxMessage.status == MessageStatus.sent,
                                     OutboxMessage.recipient != User.email)).all()
    for message in sent:
        message.recipient, message.body = message.recipient_user.email, ""
    return len(sent)


def apply_retention(now: datetime | None = None) -> dict:
    """Apply the retention periods (see the module's docstring); returns what it did."""
    from cfp.proposals.retention import delete_stale_drafts

    now = now or utcnow()
    config = current_app.config
    drafts = delete_stale_drafts(now - timedelta(days=config["RETAIN_DRAFTS_DAYS"]))
    reviews, conflicts = erase_reviewer_data(now - timedelta(days=config["RETAIN_REVIEWER_DATA_DAYS"]))
    return {"drafts_deleted": drafts, "reviews_erased": reviews, "conflicts_erased": conflicts,
            "confirmations_forgotten": forget_sent_confirmations()}
