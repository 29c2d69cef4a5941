"""Agencies (the two sides), their agreement and Joint Committee, and calls."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.roles import Role
from cfp.core.states import StateEnum, labels
from cfp.core.types import MONEY, IdMixin, TimestampMixin, UTCDateTime, enum_column, utcnow
from cfp.extensions import db


class Agency(IdMixin, db.Model):
    """One side of the cooperation, e.g. MOST (CN) or WBI (BE)."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(sa.String(8), unique=True)  # side code: CN, BE
    short_name: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    country: Mapped[str] = mapped_column(sa.String(100))
    currency: Mapped[str] = mapped_column(sa.String(3))
    timezone: Mapped[str] = mapped_column(sa.String(60))
    locale: Mapped[str] = mapped_column(sa.String(10), default="en")

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"


class Agreement(IdMixin, db.Model):
    __tablename__ = "agreements"

    title: Mapped[str] = mapped_column(sa.String(300))
    agency_a_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    agency_b_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    signed_on: Mapped[date | None]

    agency_a: Mapped[Agency] = relationship(foreign_keys=[agency_a_id])
    agency_b: Mapped[Agency] = relationship(foreign_keys=[agency_b_id])

    __table_args__ = (sa.CheckConstraint("agency_a_id <> agency_b_id", name="two_sides"),)

    @property
    def agencies(self) -> list[Agency]:
        return [self.agency_a, self.agency_b]

    def other_side(self, agency: Agency) -> Agency:
        return self.agency_b if agency.id == self.agency_a_id else self.agency_a


class JointCommittee(IdMixin, db.Model):
    __tablename__ = "joint_committees"

    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreements.id"), unique=True)
    name: Mapped[str] = mapped_column(sa.String(300))

    agreement: Mapped[Agreement] = relationship()

    @property
    def agencies(self) -> list[Agency]:
        return self.agreement.agencies

    @property
    def audit_committee_id(self) -> int:
        """Its own entries in the audit log (its settings) are its own."""
        return self.id

    @staticmethod
    def of_user(user, *roles: Role) -> list[JointCommittee]:
        """The committees `user` works in through `roles` (every role of a committee if
        none is named), in the order they were created."""
        from cfp.core.scope import within

        return list(db.session.scalars(sa.select(JointCommittee)
                                       .where(within(user, JointCommittee.id, *roles))
                                       .order_by(JointCommittee.id)))

    @staticmethod
    def drafting_for(user) -> list[JointCommittee]:
        """The committees in which `user` may draft a call: staff of one of their sides."""
        return [c for c in JointCommittee.of_user(user, Role.staff)
                if any(user.has_role(Role.staff, a, c.id) for a in c.agencies)]

    @staticmethod
    def chosen(user, requested: int | None, *roles: Role) -> JointCommittee | None:
        """The committee a page works on: the one asked for (`?committee=`) if the user
        works in it, else the user's first; None if the user works in none."""
        mine = JointCommittee.of_user(user, *roles)
        return next((c for c in mine if c.id == requested), mine[0] if mine else None)


class CallState(StateEnum):
    draft = "draft"
    approved = "approved"
    open = "open"
    closed = "closed"
    in_review = "in_review"
    in_selection = "in_selection"
    decided = "decided"
    archived = "archived"


labels(
    {
        CallState.draft: _l("draft"),
        CallState.approved: _l("approved by both sides"),
        CallState.open: lazy_pgettext("call state", "open"),
        CallState.closed: lazy_pgettext("call state", "closed"),
        CallState.in_review: _l("in review"),
        CallState.in_selection: _l("in selection"),
        CallState.decided: _l("decided"),
        CallState.archived: _l("archived"),
    }
)

CALL_TRANSITIONS: dict[CallState, set[CallState]] = {
    CallState.draft: {CallState.approved},
    CallState.approved: {CallState.open, CallState.draft},
    CallState.open: {CallState.closed},
    CallState.closed: {CallState.in_review, CallState.open},
    CallState.in_review: {CallState.in_selection},
    CallState.in_selection: {CallState.decided, CallState.in_review},
    CallState.decided: {CallState.archived},
    CallState.archived: set(),
}


AMENDABLE_STATES = (CallState.approved, CallState.open)


class Instrument(StateEnum):
    joint_research = "joint_research"
    mobility = "mobility"


class Stages(StateEnum):
    single = "single"
    two = "two"


labels(
    {
        Instrument.joint_research: _l("joint research project"),
        Instrument.mobility: _l("personnel exchange (mobility)"),
        Stages.single: _l("single stage"),
        Stages.two: _l("two stages"),
    }
)


@dataclass(frozen=True)
class TextLimit:
    """How many characters a proposal's free text may hold under a call: the call sets it,
    from 1 up to `ceiling`, the size of the column that stores it (a call cannot allow
    more than the database keeps); a call that sets nothing has `default`."""

    label: object  # a lazy string
    default: int
    ceiling: int


# The proposal's long free texts whose length each call sets (team members' names and
# institutions keep their columns' sizes). Read by the call form, the editor and submission.
TEXT_LIMITS: dict[str, TextLimit] = {
    "title": TextLimit(_l("Title"), 300, 300),
    "acronym": TextLimit(_l("Acronym"), 40, 40),
    "abstract": TextLimit(_l("Abstract"), 20000, 20000),
    "keywords": TextLimit(_l("Keywords"), 500, 500),
}
ABSTRACT_WORDS_DEFAULT = 300
ABSTRACT_WORDS_CEILING = 5000


class Call(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "calls"

    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("joint_committees.id"))
    launched_by_decision_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("decisions.id")
    )
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    instrument: Mapped[Instrument] = mapped_column(
        enum_column(Instrument), default=Instrument.joint_research
    )
    stages: Mapped[Stages] = mapped_column(enum_column(Stages), default=Stages.single)
    state: Mapped[CallState] = mapped_column(enum_column(CallState), default=CallState.draft)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Two-stage calls: `closes_at` ends the pre-proposal stage; this ends the full stage.
    full_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the committee's decision settled the call: reviewers' data is kept so long from then.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_months: Mapped[int] = mapped_column(default=24)
    abstract_word_limit: Mapped[int] = mapped_column(default=ABSTRACT_WORDS_DEFAULT)
    # {field: most characters} for the fields of TEXT_LIMITS; a field left out has its default.
    text_limits: Mapped[dict | None] = mapped_column(sa.JSON)
    overall_threshold: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    # Review settings (issue 4): reminders N days before and after a review's due date;
    # whether a reviewer sees the other reviews of their side once theirs is submitted;
    # a minimum load per reviewer for automatic assignment; z-score normalisation.
    review_reminder_days_before: Mapped[int] = mapped_column(default=3, server_default="3")
    review_reminder_days_after: Mapped[int] = mapped_column(default=2, server_default="2")
    reviewers_see_side_reviews: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    reviewer_min_load: Mapped[int] = mapped_column(default=0, server_default="0")
    normalise_review_scores: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Numbering of submitted proposals (CN-BE-2021-017); bumped under a row lock.
    submitted_count: Mapped[int] = mapped_column(default=0)
    # How many amendments both sides applied since the call was approved (issue 10).
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    drafted_by_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    committee: Mapped[JointCommittee] = relationship()
    drafted_by_agency: Mapped[Agency] = relationship(foreign_keys=[drafted_by_agency_id])
    launched_by_decision = relationship("Decision", foreign_keys=[launched_by_decision_id])
    sides: Mapped[list[CallSide]] = relationship(
        back_populates="call", cascade="all, delete-orphan", lazy="selectin",
        order_by="CallSide.agency_id",
    )
    priority_areas: Mapped[list[PriorityArea]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="PriorityArea.position"
    )
    criteria: Mapped[list[ReviewCriterion]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="ReviewCriterion.position"
    )
    amendments: Mapped[list[CallAmendment]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallAmendment.version"
    )

    # (full_closes_at > closes_at is checked by the call's operations: adding a CHECK to
    # `calls` would make SQLite copy the table, which the rows referring to it forbid.)
    __table_args__ = (
        sa.CheckConstraint("opens_at < closes_at", name="opens_before_closes"),
        sa.CheckConstraint("review_reminder_days_before >= 0 AND review_reminder_days_after >= 0"
                           " AND reviewer_min_load >= 0", name="review_settings_not_negative"),
    )

    def __repr__(self) -> str:
        return f"<Call {self.reference}>"

    @property
    def agencies(self) -> list[Agency]:
        return self.committee.agencies

    @property
    def project_years(self) -> int:
        """The project years its funded projects run over (a started year counts)."""
        return max(1, -(-self.duration_months // 12))

    def side(self, agency) -> CallSide | None:
        agency_id = getattr(agency, "id", agency)
        return next((s for s in self.sides if s.agency_id == agency_id), None)

    def text_limit(self, name: str) -> int:
        """The most characters the proposal's field `name` (of TEXT_LIMITS) may hold on submission."""
        return (self.text_limits or {}).get(name) or TEXT_LIMITS[name].default

    def accepts_submissions(self, now: datetime | None = None) -> bool:
        """Whether a submission that arrived at `now` is in time. A call the beat closed
        at its instant still takes the requests that arrived before it and were waiting
        in the server's queue; a call closed by hand before its instant takes none."""
        now = now or utcnow()
        closed_by_its_instant = self.state == CallState.closed and self.closes_at <= utcnow()
        return (self.state == CallState.open or closed_by_its_instant) and self.opens_at <= now < self.closes_at

    def is_staff(self, user) -> bool:
        return any(user.has_role(Role.staff, a, self.committee_id) for a in self.agencies)

    def is_run_by(self, user) -> bool:
        """Whether the user runs the call's committee: staff or co-chair of one of its
        sides, or its secretariat. They judge its proposals, so they may not be a PI on it."""
        return user.has_role(Role.secretariat, committee=self.committee_id) or any(
            user.has_role(role, a, self.committee_id)
            for role in (Role.staff, Role.cochair) for a in self.agencies
        )

    def works_on(self, user) -> bool:
        """The user works in the call's committee (staff of a side, secretariat, co-chair)
        or is an admin: the committee's internal pages about the call answer 404 to others."""
        return user.is_authenticated and (user.is_admin or self.is_run_by(user))

    def can_view(self, user) -> bool:
        """Approved calls are announced (upcoming); drafts stay with the agencies."""
        if self.state != CallState.draft:
            return True
        return user.is_authenticated and (
            self.is_staff(user) or user.has_role(Role.secretariat, committee=self.committee_id)
            or user.is_admin
        )

    def can_edit(self, user) -> bool:
        return self.state == CallState.draft and user.has_role(Role.staff, self.drafted_by_agency_id,
                                                                self.committee_id)

    def can_approve(self, user) -> bool:
        if self.state != CallState.draft:
            return False
        return any(
            user.has_role(Role.staff, s.agency_id, self.committee_id) and s.approved_at is None
            for s in self.sides
        )

    def can_propose_amendment(self, user) -> bool:
        """Staff of either side, while the call is approved or open, one amendment at a time."""
        return (user.is_authenticated and self.state in AMENDABLE_STATES and self.is_staff(user)
                and self.pending_amendment is None)

    @property
    def pending_amendment(self) -> CallAmendment | None:
        return next((a for a in self.amendments if a.state == AmendmentState.proposed), None)

    @property
    def total_weight(self) -> Decimal:
        return sum((c.weight for c in self.criteria), Decimal(0))


class CallSide(IdMixin, db.Model):
    """What one side funds and requires under a call."""

    __tablename__ = "call_sides"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    currency: Mapped[str] = mapped_column(sa.String(3))
    budget_envelope: Mapped[Decimal] = mapped_column(MONEY)
    max_request: Mapped[Decimal] = mapped_column(MONEY)
    per_diem: Mapped[Decimal | None] = mapped_column(MONEY)
    travel_cap: Mapped[Decimal | None] = mapped_column(MONEY)
    eligibility_rules: Mapped[str] = mapped_column(sa.Text, default="")
    required_documents: Mapped[list | None] = mapped_column(sa.JSON)
    # Limits on each uploaded document of this side (None: the app's upload limit only).
    max_document_pages: Mapped[int | None]
    max_document_bytes: Mapped[int | None]
    # The automatic eligibility rules of this side, evaluated on submission, e.g.
    # [{"rule": "pi_has_phd"}, {"rule": "duration_within", "min": 12, "max": 36}].
    eligibility_rule_config: Mapped[list | None] = mapped_column(sa.JSON)
    # The side's review settings (issue 10), set by that side's staff only: reviewers per
    # proposal, days a reviewer has to answer an invitation, and the date its reviews are
    # due (None: the call's date).
    reviewers_per_proposal: Mapped[int] = mapped_column(default=2)
    reviewer_answer_days: Mapped[int] = mapped_column(default=7, server_default="7")
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When that side's staff closed its review stage: from then on none of its reviews is
    # submitted or revised, and none of its reviewers invited or reminded (None: open).
    review_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Fairness of this side's automatic assignment (issue 16; None: off): each
    # (proposal, reviewer) pair is drawn with probability at most this percentage.
    assignment_random_cap: Mapped[int | None]
    # A floor for every proposal: the assignment maximises the lowest affinity of any pair
    # it chooses first, then the total (off by default; not with the randomised option).
    assignment_floor: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Diversity: at most one reviewer of the same group per proposal (None: off;
    # "institution": the reviewers' affiliation, or their email domain without one).
    assignment_diversity: Mapped[str | None] = mapped_column(sa.String(20))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call: Mapped[Call] = relationship(back_populates="sides")
    agency: Mapped[Agency] = relationship(lazy="joined")
    approved_by = relationship("User")

    __table_args__ = (
        sa.UniqueConstraint("call_id", "agency_id"),
        sa.CheckConstraint("budget_envelope >= 0", name="envelope_not_negative"),
        sa.CheckConstraint("max_request >= 0", name="max_request_not_negative"),
        sa.CheckConstraint("reviewers_per_proposal >= 1", name="at_least_one_reviewer"),
        sa.CheckConstraint("reviewer_answer_days >= 1", name="answer_days_positive"),
        sa.CheckConstraint("max_document_pages > 0", name="positive_document_pages"),
        sa.CheckConstraint("max_document_bytes > 0", name="positive_document_bytes"),
        sa.CheckConstraint("assignment_random_cap >= 1 AND assignment_random_cap <= 100",
                           name="random_cap_percent"),
        sa.CheckConstraint("assignment_diversity IN ('institution', 'country')", name="assignment_diversity_known"),
    )

    @property
    def reviews_due_at(self) -> datetime | None:
        """When this side's reviews are due: its own date, or else the call's."""
        return self.review_due_at or self.call.review_due_at

    @property
    def review_stage_open(self) -> bool:
        return self.review_closed_at is None


class PriorityArea(IdMixin, db.Model):
    __tablename__ = "priority_areas"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))

    call: Mapped[Call] = relationship(back_populates="priority_areas")

    __table_args__ = (sa.UniqueConstraint("call_id", "name"),)


class ReviewCriterion(IdMixin, db.Model):
    """One question of a call's review form: weight, scale and optional threshold."""

    __tablename__ = "review_criteria"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    weight: Mapped[Decimal] = mapped_column(sa.Numeric(6, 3), default=Decimal(1))
    scale_min: Mapped[Decimal] = mapped_column(sa.Numeric(4, 1), default=Decimal(0))
    scale_max: Mapped[Decimal] = mapped_column(sa.Numeric(4, 1), default=Decimal(5))
    scale_step: Mapped[Decimal] = mapped_column(sa.Numeric(4, 2), default=Decimal("0.5"))
    threshold: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))

    call: Mapped[Call] = relationship(back_populates="criteria")

    __table_args__ = (
        sa.UniqueConstraint("call_id", "position"),
        sa.CheckConstraint("weight > 0", name="positive_weight"),
        sa.CheckConstraint("scale_min < scale_max", name="scale_order"),
        sa.CheckConstraint("scale_step > 0", name="positive_step"),
    )

    def valid_score(self, score: Decimal) -> bool:
        if score < self.scale_min or score > self.scale_max:
            return False
        steps = (score - self.scale_min) / self.scale_step
        return steps == steps.to_integral_value()


class AmendmentState(StateEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


labels(
    {
        AmendmentState.proposed: _l("waiting for the other side"),
        AmendmentState.approved: _l("approved by both sides and applied"),
        AmendmentState.rejected: _l("rejected"),
        AmendmentState.withdrawn: _l("withdrawn"),
    }
)

AMENDMENT_TRANSITIONS: dict[AmendmentState, set[AmendmentState]] = {
    AmendmentState.proposed: {AmendmentState.approved, AmendmentState.rejected, AmendmentState.withdrawn},
    AmendmentState.approved: set(),
    AmendmentState.rejected: set(),
    AmendmentState.withdrawn: set(),
}


class CallAmendment(IdMixin, db.Model):
    """A change to an approved or open call, proposed by one side's staff and applied
    only once the other side's staff approve it. `changes` holds, for each changed
    field, its value before and the value proposed: {"closes_at": [old, new], ...};
    instants as ISO 8601 in UTC, a side's field under "side.<agency id>.<field>"."""

    __tablename__ = "call_amendments"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]  # 1, 2, … per call, in the order proposed
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    proposed_by_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(sa.Text)
    changes: Mapped[dict] = mapped_column(sa.JSON)
    state: Mapped[AmendmentState] = mapped_column(enum_column(AmendmentState), default=AmendmentState.proposed)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    # The call's version this amendment made, once applied.
    applied_version: Mapped[int | None]

    call: Mapped[Call] = relationship(back_populates="amendments")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    proposed_by_agency: Mapped[Agency] = relationship(foreign_keys=[proposed_by_agency_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    __table_args__ = (sa.UniqueConstraint("call_id", "version"),)

    def __repr__(self) -> str:
        return f"<CallAmendment {self.call_id} #{self.version}>"

    def can_view(self, user) -> bool:
        return self.call.can_view(user)

    def _other_side_staff(self, user) -> bool:
        return user.is_authenticated and user.id != self.proposed_by_id and any(
            user.has_role(Role.staff, a, self.call.committee_id)
            for a in self.call.agencies if a.id != self.proposed_by_agency_id)

    def can_approve(self, user) -> bool:
        """Staff of the side that did not propose it (never the proposer)."""
        return (self.state == AmendmentState.proposed and self.call.state in AMENDABLE_STATES
                and self._other_side_staff(user))

    def can_reject(self, user) -> bool:
        return self.state == AmendmentState.proposed and self._other_side_staff(user)

    def can_withdraw(self, user) -> bool:
        """Staff of the side that proposed it."""
        return (self.state == AmendmentState.proposed and user.is_authenticated
                and user.has_role(Role.staff, self.proposed_by_agency_id, self.call.committee_id))
