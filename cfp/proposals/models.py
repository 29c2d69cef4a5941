"""Joint proposals: one per call, one PI per side, members, mobility, budget,
documents, versions and the per-side eligibility check."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.roles import Role
from cfp.core.states import StateEnum, labels
from cfp.core.types import MONEY, IdMixin, TimestampMixin, UTCDateTime, enum_column, utcnow
from cfp.extensions import db


class ProposalState(StateEnum):
    pre_proposal = "pre_proposal"
    invited = "invited"
    draft = "draft"
    submitted = "submitted"
    eligible = "eligible"
    ineligible = "ineligible"
    in_review = "in_review"
    reviewed = "reviewed"
    recommended = "recommended"
    reserve = "reserve"
    not_recommended = "not_recommended"
    funded = "funded"
    rejected = "rejected"
    withdrawn = "withdrawn"


labels(
    {
        ProposalState.pre_proposal: _l("pre-proposal"),
        ProposalState.invited: _l("invited to the full stage"),
        ProposalState.draft: _l("draft"),
        ProposalState.submitted: lazy_pgettext("proposal state", "submitted"),
        ProposalState.eligible: _l("eligible"),
        ProposalState.ineligible: _l("ineligible"),
        ProposalState.in_review: _l("in review"),
        ProposalState.reviewed: _l("reviewed"),
        ProposalState.recommended: _l("recommended"),
        ProposalState.reserve: _l("reserve"),
        ProposalState.not_recommended: _l("not recommended"),
        ProposalState.funded: _l("funded"),
        ProposalState.rejected: _l("rejected"),
        ProposalState.withdrawn: _l("withdrawn"),
    }
)

P = ProposalState
PROPOSAL_TRANSITIONS: dict[ProposalState, set[ProposalState]] = {
    P.pre_proposal: {P.invited, P.rejected, P.withdrawn},
    P.invited: {P.draft, P.withdrawn},
    P.draft: {P.submitted, P.withdrawn},
    P.submitted: {P.eligible, P.ineligible, P.withdrawn},
    P.eligible: {P.in_review, P.ineligible, P.withdrawn},
    P.ineligible: {P.eligible, P.rejected, P.withdrawn},
    P.in_review: {P.reviewed, P.withdrawn},
    P.reviewed: {P.recommended, P.reserve, P.not_recommended, P.in_review, P.withdrawn},
    P.recommended: {P.funded, P.reserve, P.not_recommended, P.rejected, P.withdrawn},
    P.reserve: {P.funded, P.recommended, P.rejected, P.withdrawn},
    P.not_recommended: {P.recommended, P.rejected, P.withdrawn},
    P.funded: set(),
    P.rejected: set(),
    P.withdrawn: set(),
}
FINAL_STATES = {P.funded, P.rejected, P.withdrawn}


class Proposal(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "proposals"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id"), index=True)
    reference: Mapped[str | None] = mapped_column(sa.String(50), unique=True)
    # The staff's list of one call reads its proposals by reference (keyset pages).
    __table_args__ = (sa.Index("ix_proposals_call_reference", "call_id", "reference"),)
    title: Mapped[str] = mapped_column(sa.String(300))
    acronym: Mapped[str] = mapped_column(sa.String(40), default="")
    abstract: Mapped[str] = mapped_column(sa.Text, default="")
    keywords: Mapped[str] = mapped_column(sa.String(500), default="")
    priority_area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("priority_areas.id"))
    duration_months: Mapped[int | None]
    state: Mapped[ProposalState] = mapped_column(
        enum_column(ProposalState), default=ProposalState.draft, index=True
    )
    # Content version: bumped by every saved edit; the UPDATE checks the old value,
    # so a stale save by the other PI is refused instead of silently overwriting.
    version: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-stage calls: when the pre-proposal was submitted (the consortium is frozen from then on).
    pre_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Two-stage calls: why staff declined the pre-proposal (it is then rejected).
    decline_reason: Mapped[str | None] = mapped_column(sa.Text)
    # An individual extension of the call's closing instant, granted by staff.
    deadline_extended_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012 (SQLAlchemy reads it)

    call = relationship("Call")
    priority_area = relationship("PriorityArea")
    created_by = relationship("User")
    sides: Mapped[list[ProposalSide]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", lazy="selectin",
        order_by="ProposalSide.agency_id",
    )
    members: Mapped[list[ProposalMember]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="ProposalMember.id"
    )
    trips: Mapped[list[MobilityTrip]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="MobilityTrip.id"
    )
    eligibility_checks: Mapped[list[EligibilityCheck]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan"
    )
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: [BudgetLine.agency_id, BudgetLine.year, BudgetLine.id]
    )
    partner_invitations: Mapped[list[PartnerInvitation]] = relationship(
        back_populates="proposal", order_by="PartnerInvitation.id", passive_deletes=True
    )
    documents: Mapped[list[ProposalDocument]] = relationship(
        cascade="all, delete-orphan", order_by=lambda: [ProposalDocument.agency_id, ProposalDocument.kind]
    )

    def __repr__(self) -> str:
        return f"<Proposal {self.reference or self.id}>"

    @property
    def audit_label(self) -> str:
        """Its reference; a draft's title is the applicants' alone, so a draft is a number."""
        return self.reference or f"#{self.id}"

    def side(self, agency) -> ProposalSide | None:
        agency_id = getattr(agency, "id", agency)
        return next((s for s in self.sides if s.agency_id == agency_id), None)

    def pi_side(self, user) -> ProposalSide | None:
        return next((s for s in self.sides if s.pi_user_id == getattr(user, "id", None)), None)

    def is_applicant(self, user) -> bool:
        return user.is_authenticated and self.pi_side(user) is not None

    def is_staff(self, user) -> bool:
        return user.is_authenticated and any(
            user.has_role(Role.staff, s.agency_id, self.call.committee_id) for s in self.sides)

    def can_view(self, user) -> bool:
        """Applicants, staff of either side, secretariat, co-chairs, admins.
        Reviewers see proposals through their assignment (see reviews)."""
        if not user.is_authenticated:
            return False
        if self.is_applicant(user):
            return True
        if self.pre_submitted_at is not None and self.submitted_at is None and self.state != P.withdrawn:
            # A submitted pre-proposal (and its full stage): staff invite it; others wait.
            return self.is_staff(user) or user.is_secretariat_of(self.call.committee_id) or user.is_admin
        if self.state in (P.draft, P.pre_proposal, P.invited) or self.submitted_at is None:
            return False  # drafts (even withdrawn before submission) are the applicants' own
        return (
            self.is_staff(user)
            or user.is_secretariat_of(self.call.committee_id)
            or user.is_cochair_of(self.call.committee_id)
            or user.is_admin
        )

    def can_edit(self, user) -> bool:
        if self.state == P.pre_proposal and self.pre_submitted_at is not None:
            return False  # submitted at stage 1, waiting for the invitation
        return self.is_applicant(user) and self.state in (P.draft, P.pre_proposal)

    def can_invite_to_full_stage(self, user) -> bool:
        return (self.state == P.pre_proposal and self.pre_submitted_at is not None
                and self.is_staff(user))

    def can_decline_pre_proposal(self, user) -> bool:
        """Staff of the call's sides decide on a submitted pre-proposal: invite or decline."""
        return self.can_invite_to_full_stage(user)

    @property
    def pre_proposal_declined(self) -> bool:
        return self.state == P.rejected and self.decline_reason is not None

    @property
    def state_label(self) -> str:
        """The state as the applicants read it: a declined pre-proposal says so."""
        return str(_l("pre-proposal declined") if self.pre_proposal_declined else self.state.label)

    def can_withdraw(self, user) -> bool:
        return self.is_applicant(user) and self.state not in FINAL_STATES

    @property
    def in_full_stage(self) -> bool:
        """A two-stage call's proposal past its pre-proposal."""
        return self.pre_submitted_at is not None and self.state != P.pre_proposal

    @property
    def closes_at(self) -> datetime:
        """The closing instant for this proposal: the call's (its full stage's, past the
        pre-proposal), or its individual extension."""
        closes = self.call.closes_at
        if self.in_full_stage and self.call.full_closes_at is not None:
            closes = self.call.full_closes_at
        if self.deadline_extended_to is not None and self.deadline_extended_to > closes:
            return self.deadline_extended_to
        return closes

    @property
    def both_pis_present(self) -> bool:
        return len(self.sides) == 2 and all(s.pi_user_id for s in self.sides)

    @property
    def both_confirmed(self) -> bool:
        return self.both_pis_present and all(s.confirmed_version == self.version for s in self.sides)

    @property
    def pending_invitations(self) -> list[PartnerInvitation]:
        return [i for i in self.partner_invitations if i.pending]

    @property
    def awaiting_confirmation(self) -> list[ProposalSide]:
        """The sides whose PI has not confirmed the current version."""
        return [s for s in self.sides if s.pi_user_id and s.confirmed_version != self.version]


class ProposalSide(IdMixin, db.Model):
    """One side of a joint proposal: its PI (one per side, by construction),
    the PI's confirmation of a version and the amount requested."""

    __tablename__ = "proposal_sides"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    pi_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    institution: Mapped[str] = mapped_column(sa.String(300), default="")
    requested_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    # What the automatic eligibility rules need to know about this side's PI.
    pi_has_phd: Mapped[bool | None]
    institution_country: Mapped[str | None] = mapped_column(sa.String(100), default="")
    confirmed_version: Mapped[int | None]
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The PI's name as it was at submission: the programme's record, kept when the
    # account is later renamed or deleted (anonymised). NULL on a draft.
    pi_name: Mapped[str | None] = mapped_column(sa.String(200))
    pi_name_original: Mapped[str | None] = mapped_column(sa.String(200))

    proposal: Mapped[Proposal] = relationship(back_populates="sides")
    agency = relationship("Agency", lazy="joined")
    pi = relationship("User", lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("proposal_id", "agency_id"),
        sa.CheckConstraint("requested_amount >= 0", name="request_not_negative"),
    )

    def record_pi_name(self) -> None:
        """Keep the PI's name as it is now (at submission) on the proposal's record."""
        if self.pi is not None:
            self.pi_name, self.pi_name_original = self.pi.name, self.pi.name_original

    @property
    def pi_display_name(self) -> str:
        """The PI's name: as recorded at submission, otherwise the account's."""
        if self.pi_name:
            return f"{self.pi_name} ({self.pi_name_original})" if self.pi_name_original else self.pi_name
        return self.pi.display_name if self.pi is not None else ""


class ProposalMember(IdMixin, db.Model):
    __tablename__ = "proposal_members"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    role: Mapped[str] = mapped_column(sa.String(100), default="")
    career_stage: Mapped[str] = mapped_column(sa.String(100), default="")
    affiliation: Mapped[str] = mapped_column(sa.String(300), default="")

    proposal: Mapped[Proposal] = relationship(back_populates="members")
    agency = relationship("Agency")


class PartnerInvitation(IdMixin, db.Model):
    """The link a PI sends to the partner PI of the other side."""

    __tablename__ = "partner_invitations"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    email: Mapped[str] = mapped_column(sa.String(320))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Cancelled by a PI, or replaced by a new link when sent again: the link no longer works.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    proposal = relationship("Proposal", back_populates="partner_invitations")
    agency = relationship("Agency")
    invited_by = relationship("User", foreign_keys=[invited_by_id])

    @property
    def pending(self) -> bool:
        return self.accepted_at is None and self.cancelled_at is None

    @property
    def expired(self) -> bool:
        return self.expires_at < utcnow()

    def can_change(self, user) -> bool:
        """Send again or cancel: a PI of the draft, while nobody has used it."""
        return self.pending and self.proposal.pi_side(user) is not None and self.proposal.can_edit(user)


class MobilityTrip(IdMixin, db.Model):
    __tablename__ = "mobility_trips"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    from_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    to_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    traveller: Mapped[str] = mapped_column(sa.String(200))
    days: Mapped[int]
    year: Mapped[int]  # project year: 1, 2, ...

    proposal: Mapped[Proposal] = relationship(back_populates="trips")

    __table_args__ = (
        sa.CheckConstraint("days > 0", name="positive_days"),
        sa.CheckConstraint("year >= 1", name="positive_year"),
    )


class BudgetLine(IdMixin, db.Model):
    __tablename__ = "budget_lines"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    year: Mapped[int]
    category: Mapped[str] = mapped_column(sa.String(100))
    amount: Mapped[Decimal] = mapped_column(MONEY)

    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_not_negative"),)


class ProposalDocument(IdMixin, db.Model):
    __tablename__ = "proposal_documents"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    kind: Mapped[str] = mapped_column(sa.String(100))
    original_name: Mapped[str] = mapped_column(sa.String(300))
    stored_name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    pages: Mapped[int | None]
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    proposal = relationship("Proposal", overlaps="documents")
    agency = relationship("Agency")

    __table_args__ = (sa.UniqueConstraint("proposal_id", "agency_id", "kind"),)


class ProposalVersion(IdMixin, db.Model):
    """A snapshot of a proposal's content at a saved or submitted version."""

    __tablename__ = "proposal_versions"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    version: Mapped[int]
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by = relationship("User")

    __table_args__ = (sa.UniqueConstraint("proposal_id", "version"),)


class EligibilityStatus(StateEnum):
    pending = "pending"
    eligible = "eligible"
    ineligible = "ineligible"


labels(
    {
        EligibilityStatus.pending: _l("pending"),
        EligibilityStatus.eligible: _l("eligible"),
        EligibilityStatus.ineligible: _l("ineligible"),
    }
)


class EligibilityCheck(IdMixin, db.Model):
    """One per proposal per side: automatic rules first, then staff decide."""

    __tablename__ = "eligibility_checks"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    status: Mapped[EligibilityStatus] = mapped_column(
        enum_column(EligibilityStatus), default=EligibilityStatus.pending
    )
    rule_results: Mapped[list | None] = mapped_column(sa.JSON)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship(back_populates="eligibility_checks")
    agency = relationship("Agency")
    decided_by = relationship("User")

    __table_args__ = (sa.UniqueConstraint("proposal_id", "agency_id"),)

    def can_decide(self, user) -> bool:
        return user.has_role(Role.staff, self.agency_id, self.proposal.call.committee_id) and self.proposal.state in (
            P.submitted, P.eligible, P.ineligible,
        )
