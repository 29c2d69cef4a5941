"""Reviewer pool, assignments, reviews with a score per criterion, rankings."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.roles import Role
from cfp.core.states import StateEnum, labels
from cfp.core.types import IdMixin, TimestampMixin, UTCDateTime, enum_column, utcnow
from cfp.extensions import db


class ReviewerProfile(IdMixin, db.Model):
    __tablename__ = "reviewer_profiles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    keywords: Mapped[str] = mapped_column(sa.String(500), default="")
    expertise: Mapped[str] = mapped_column(sa.Text, default="")
    max_load: Mapped[int] = mapped_column(default=8)
    conflicts: Mapped[str] = mapped_column(sa.Text, default="")  # declared collaborations
    # The country of the reviewer's institution (ISO 3166 alpha-2), for the diversity rule
    # "at most one reviewer of a country per proposal"; None: not given.
    country: Mapped[str | None] = mapped_column(sa.String(2))
    # A period the reviewer cannot review in (no automatic invitation meanwhile).
    unavailable_from: Mapped[date | None] = mapped_column(sa.Date)
    unavailable_until: Mapped[date | None] = mapped_column(sa.Date)

    user = relationship("User", lazy="joined")
    agency = relationship("Agency")

    __table_args__ = (
        sa.CheckConstraint("max_load >= 0", name="load_not_negative"),
        sa.CheckConstraint("unavailable_until IS NULL OR unavailable_from IS NULL"
                           " OR unavailable_from <= unavailable_until", name="unavailable_order"),
    )

    def available_on(self, day: date) -> bool:
        if self.unavailable_from is None and self.unavailable_until is None:
            return True
        start = self.unavailable_from or date.min
        end = self.unavailable_until or date.max
        return not (start <= day <= end)

    def can_edit(self, user) -> bool:
        return user.is_authenticated and (user.id == self.user_id or user.has_role(Role.staff, self.agency_id))


class ReviewerInvitation(IdMixin, db.Model):
    """Staff invite an expert into their side's pool; the account (if none) is created when
    the expert follows the emailed link. Only the token's hash is stored."""

    __tablename__ = "reviewer_invitations"

    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    name: Mapped[str] = mapped_column(sa.String(200))
    affiliation: Mapped[str] = mapped_column(sa.String(300), default="")
    keywords: Mapped[str] = mapped_column(sa.String(500), default="")
    expertise: Mapped[str] = mapped_column(sa.Text, default="")
    max_load: Mapped[int] = mapped_column(default=8)
    country: Mapped[str | None] = mapped_column(sa.String(2))  # ISO 3166 alpha-2, for the profile
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    agency = relationship("Agency")

    __table_args__ = (sa.CheckConstraint("max_load >= 0", name="invited_load_not_negative"),)


class AssignmentState(StateEnum):
    invited = "invited"
    accepted = "accepted"
    declined = "declined"
    conflict = "conflict"
    submitted = "submitted"
    overdue = "overdue"
    replaced = "replaced"


labels(
    {
        AssignmentState.invited: _l("invited"),
        AssignmentState.accepted: _l("accepted"),
        AssignmentState.declined: _l("declined"),
        AssignmentState.conflict: _l("conflict declared"),
        AssignmentState.submitted: _l("review submitted"),
        AssignmentState.overdue: _l("overdue"),
        AssignmentState.replaced: _l("replaced"),
    }
)

A = AssignmentState
ASSIGNMENT_TRANSITIONS: dict[AssignmentState, set[AssignmentState]] = {
    A.invited: {A.accepted, A.declined, A.replaced, A.overdue},
    A.accepted: {A.submitted, A.conflict, A.overdue, A.replaced},
    A.overdue: {A.submitted, A.replaced, A.accepted},
    A.submitted: set(),
    A.declined: set(),
    A.conflict: set(),
    A.replaced: set(),
}
ACTIVE_ASSIGNMENT_STATES = {A.invited, A.accepted, A.overdue, A.submitted}
# Asked and not yet done: what a reviewer still owes (their load).
OPEN_ASSIGNMENT_STATES = {A.invited, A.accepted, A.overdue}


class AssignmentMethod(StateEnum):
    manual = "manual"
    automatic = "automatic"


labels({AssignmentMethod.manual: _l("manual"), AssignmentMethod.automatic: _l("automatic")})


class Assignment(IdMixin, TimestampMixin, db.Model):
    """A reviewer of one side asked to review one proposal."""

    __tablename__ = "assignments"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    state: Mapped[AssignmentState] = mapped_column(
        enum_column(AssignmentState), default=AssignmentState.invited
    )
    method: Mapped[AssignmentMethod] = mapped_column(
        enum_column(AssignmentMethod), default=AssignmentMethod.manual
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    no_conflict_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conflict_reason: Mapped[str | None] = mapped_column(sa.Text)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The assignment that took over when this one was declined, released or replaced.
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignments.id"))

    proposal = relationship("Proposal", lazy="joined")
    reviewer = relationship("User", foreign_keys=[reviewer_id], lazy="joined")
    replaced_by = relationship("Assignment", remote_side="Assignment.id", foreign_keys=[replaced_by_id])
    agency = relationship("Agency")
    review: Mapped[Review | None] = relationship(back_populates="assignment", uselist=False)

    __table_args__ = (sa.UniqueConstraint("proposal_id", "reviewer_id"),)

    def is_reviewer(self, user) -> bool:
        return user.is_authenticated and user.id == self.reviewer_id

    def can_answer(self, user) -> bool:
        return self.is_reviewer(user) and self.state in (A.invited,)

    def can_see_proposal(self, user) -> bool:
        """Only after accepting and declaring no conflict of interest."""
        return (
            self.is_reviewer(user)
            and self.state in (A.accepted, A.overdue, A.submitted)
            and self.no_conflict_declared_at is not None
        )

    def can_review(self, user) -> bool:
        """Write, submit, and once submitted revise the review (the side's review stage,
        checked by save_review, decides until when)."""
        return self.can_see_proposal(user)

    def can_manage(self, user) -> bool:
        return user.is_authenticated and user.has_role(Role.staff, self.agency_id,
                                                        self.proposal.call.committee_id)

    def can_see_side_reviews(self, user) -> bool:
        """Mirror review: the other reviews of the same side (never the other side's), only
        once this reviewer submitted their own, and only if the call allows it."""
        return (self.is_reviewer(user) and self.state == A.submitted
                and bool(self.proposal.call.reviewers_see_side_reviews))


class ReviewState(StateEnum):
    draft = "draft"
    submitted = "submitted"


class Recommendation(StateEnum):
    fund = "fund"
    fund_if_possible = "fund_if_possible"
    do_not_fund = "do_not_fund"


labels(
    {
        ReviewState.draft: _l("draft"),
        ReviewState.submitted: _l("submitted"),
        Recommendation.fund: _l("fund"),
        Recommendation.fund_if_possible: _l("fund if budget allows"),
        Recommendation.do_not_fund: _l("do not fund"),
    }
)


class Review(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "reviews"

    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"), unique=True)
    state: Mapped[ReviewState] = mapped_column(enum_column(ReviewState), default=ReviewState.draft)
    comments_to_applicants: Mapped[str] = mapped_column(sa.Text, default="")
    confidential_comments: Mapped[str] = mapped_column(sa.Text, default="")
    recommendation: Mapped[Recommendation | None] = mapped_column(enum_column(Recommendation))
    weighted_score: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 3))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignment: Mapped[Assignment] = relationship(back_populates="review")
    scores: Mapped[list[ReviewScore]] = relationship(
        back_populates="review", cascade="all, delete-orphan", lazy="selectin"
    )
    revisions: Mapped[list[ReviewRevision]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewRevision.number"
    )

    def score_for(self, criterion) -> Decimal | None:
        cid = getattr(criterion, "id", criterion)
        return next((s.score for s in self.scores if s.criterion_id == cid), None)


class ReviewScore(IdMixin, db.Model):
    __tablename__ = "review_scores"

    review_id: Mapped[int] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("review_criteria.id"))
    score: Mapped[Decimal] = mapped_column(sa.Numeric(4, 1))

    review: Mapped[Review] = relationship(back_populates="scores")
    criterion = relationship("ReviewCriterion")

    __table_args__ = (sa.UniqueConstraint("review_id", "criterion_id"),)


class ReviewRevision(IdMixin, db.Model):
    """What the reviewer submitted, each time: the first submission is revision 1, each
    revision of the submitted review the next. Never changed afterwards."""

    __tablename__ = "review_revisions"

    review_id: Mapped[int] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"))
    number: Mapped[int]
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scores: Mapped[dict] = mapped_column(sa.JSON)  # {criterion id: score}, as text
    weighted_score: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 3))
    comments_to_applicants: Mapped[str] = mapped_column(sa.Text, default="")
    confidential_comments: Mapped[str] = mapped_column(sa.Text, default="")
    recommendation: Mapped[Recommendation | None] = mapped_column(enum_column(Recommendation))

    review: Mapped[Review] = relationship(back_populates="revisions")

    __table_args__ = (
        sa.UniqueConstraint("review_id", "number"),
        sa.CheckConstraint("number >= 1", name="revision_number_positive"),
    )

    def score_for(self, criterion) -> Decimal | None:
        value = (self.scores or {}).get(str(getattr(criterion, "id", criterion)))
        return Decimal(value) if value is not None else None


class RankingEntry(IdMixin, db.Model):
    """A side's ranking of a call's proposals, from that side's reviews only.
    Recomputed (by a Celery task) whenever a review of that side is submitted."""

    __tablename__ = "ranking_entries"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"))
    reviews_count: Mapped[int] = mapped_column(default=0)
    mean_score: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 3))
    rank: Mapped[int | None]
    passed: Mapped[bool] = mapped_column(default=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    proposal = relationship("Proposal", lazy="joined")

    __table_args__ = (sa.UniqueConstraint("call_id", "agency_id", "proposal_id"),
                      sa.Index("ix_ranking_entries_side_rank", "call_id", "agency_id", "rank"))
