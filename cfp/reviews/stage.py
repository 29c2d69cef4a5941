"""Writers for a side's review stage: the call's shared review settings, each side's own
(only its staff), and closing the stage (after which no review of that side is submitted
or revised). None of them commits."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.roles import Role
from cfp.core.types import utcnow


def _require_staff(actor, agency_id: int, committee_id: int) -> None:
    if not actor.has_role(Role.staff, agency_id, committee_id):
        raise NotAllowed(_("Only staff of this side may manage its reviews."))


REVIEW_SETTINGS = ("review_reminder_days_before", "review_reminder_days_after",
                   "reviewer_min_load", "reviewers_see_side_reviews", "normalise_review_scores")


def update_review_settings(actor, call, agency_id: int, values: dict):
    """The call's review settings shared by both sides (either side's staff may set them);
    each side's own are set by update_side_review_settings."""
    _require_staff(actor, agency_id, call.committee_id)
    if agency_id not in {s.agency_id for s in call.sides}:
        raise NotAllowed(_("This call has no such side."))
    before = {k: getattr(call, k) for k in REVIEW_SETTINGS}
    for key in REVIEW_SETTINGS:
        setattr(call, key, values[key])
    log_action(actor, "call.review_settings", call, before=before, after={k: getattr(call, k) for k in REVIEW_SETTINGS})
    return call


def update_side_review_settings(actor, call, agency_id: int, *, reviewers_per_proposal: int,
                                reviewer_answer_days: int, review_due_at: datetime | None):
    """One side's review settings: only that side's staff may change them. A due date of
    None means the call's; a new one must be in the future. Assignments already made keep
    their due date (staff extend each on the proposal's page)."""
    side = call.side(agency_id)
    if side is None:
        raise NotAllowed(_("This call has no such side."))
    if not actor.has_role(Role.staff, agency_id, call.committee_id):
        raise NotAllowed(_("Only staff of %(side)s may change its review settings.", side=side.agency.short_name))
    if reviewers_per_proposal < 1 or reviewer_answer_days < 1:
        raise DomainError(_("A side needs at least one reviewer per proposal and one day to answer."))
    if review_due_at is not None and review_due_at != side.review_due_at and review_due_at <= utcnow():
        raise DomainError(_("The date reviews are due must be in the future."))
    keys = ("reviewers_per_proposal", "reviewer_answer_days", "review_due_at")
    before = {k: getattr(side, k) for k in keys}
    side.reviewers_per_proposal, side.reviewer_answer_days = reviewers_per_proposal, reviewer_answer_days
    side.review_due_at = review_due_at
    log_action(actor, "call.side_review_settings", call, before={"agency_id": agency_id, **before},
               after={"agency_id": agency_id, **{k: getattr(side, k) for k in keys}})
    return side


def _call_side(actor, call, agency_id: int):
    side = call.side(agency_id)
    if side is None:
        raise NotAllowed(_("This call has no such side."))
    if not actor.has_role(Role.staff, agency_id, call.committee_id):
        raise NotAllowed(_("Only staff of %(side)s may close or reopen its review stage.",
                           side=side.agency.short_name))
    return side


def close_review_stage(actor, call, agency_id: int):
    """Close one side's review stage: its reviews can no longer be submitted or revised, its
    reviewers are no longer invited or reminded. The other side is not affected."""
    side = _call_side(actor, call, agency_id)
    if side.review_closed_at is not None:
        raise DomainError(_("The review stage of %(side)s is already closed.", side=side.agency.short_name))
    side.review_closed_at = utcnow()
    log_action(actor, "call.review_stage_close", call,
               after={"agency_id": agency_id, "review_closed_at": side.review_closed_at})
    return side


def reopen_review_stage(actor, call, agency_id: int):
    side = _call_side(actor, call, agency_id)
    if side.review_closed_at is None:
        raise DomainError(_("The review stage of %(side)s is open.", side=side.agency.short_name))
    before = side.review_closed_at
    side.review_closed_at = None
    log_action(actor, "call.review_stage_reopen", call,
               before={"agency_id": agency_id, "review_closed_at": before}, after={"agency_id": agency_id})
    return side
