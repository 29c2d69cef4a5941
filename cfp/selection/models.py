"""Selection: joint ranking settings, tie-breaks, envelopes per side and year, and the
versions of a call's project list."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.states import StateEnum, labels
from cfp.core.types import MONEY, IdMixin, TimestampMixin, enum_column
from cfp.extensions import db

if TYPE_CHECKING:
    from cfp.meetings.models import Decision


class ProjectListState(StateEnum):
    draft = "draft"
    proposed = "proposed"
    adopted = "adopted"
    superseded = "superseded"


labels(
    {
        ProjectListState.draft: _l("draft"),
        ProjectListState.proposed: _l("proposed"),
        ProjectListState.adopted: _l("adopted"),
        ProjectListState.superseded: _l("superseded"),
    }
)


PROJECT_LIST_TRANSITIONS = {
    ProjectListState.draft: {ProjectListState.proposed, ProjectListState.superseded},
    ProjectListState.proposed: {
        ProjectListState.adopted, ProjectListState.draft, ProjectListState.superseded,
    },
    ProjectListState.adopted: {ProjectListState.superseded},  # by an adopted amendment
    ProjectListState.superseded: set(),
}


class ProjectList(IdMixin, TimestampMixin, db.Model):
    """A version of the list of proposals to fund under a call."""

    __tablename__ = "project_lists"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id"))
    version: Mapped[int] = mapped_column(default=1)
    state: Mapped[ProjectListState] = mapped_column(
        enum_column(ProjectListState), default=ProjectListState.draft
    )
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decisions.id"), unique=True)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # An amendment: a new version of an adopted list, adopted by a decision that
    # supersedes the one that adopted it.
    amends_id: Mapped[int | None] = mapped_column(sa.ForeignKey("project_lists.id"))
    # A funding plan says, for every proposal of the call, why it is funded, on the
    # reserve or out: [{"proposal_id", "placement", "code", ...the reason's figures}].
    plan_reasons: Mapped[list | None] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    call = relationship("Call")
    amends = relationship("ProjectList", remote_side="ProjectList.id", foreign_keys=[amends_id])
    decision: Mapped[Decision | None] = relationship("Decision", back_populates="project_list")
    entries: Mapped[list[ProjectListEntry]] = relationship(
        back_populates="project_list", cascade="all, delete-orphan",
        order_by="ProjectListEntry.position",
    )

    __table_args__ = (sa.UniqueConstraint("call_id", "version"),)

    @property
    def frozen(self) -> bool:
        return self.state in (ProjectListState.adopted, ProjectListState.superseded)

    def can_view(self, user) -> bool:
        """The joint stage: the secretariat, co-chairs and admins."""
        committee = self.call.committee_id
        return user.is_authenticated and (user.is_secretariat_of(committee) or user.is_admin
                                          or user.is_cochair_of(committee))

    def can_edit(self, user) -> bool:
        return self.state == ProjectListState.draft and (user.is_secretariat_of(self.call.committee_id)
                                                         or user.is_admin)


class EntryKind(StateEnum):
    funded = "funded"
    reserve = "reserve"


labels({EntryKind.funded: _l("to fund"), EntryKind.reserve: _l("reserve")})


class ProjectListEntry(IdMixin, db.Model):
    __tablename__ = "project_list_entries"

    project_list_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_lists.id", ondelete="CASCADE")
    )
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind), default=EntryKind.funded)
    position: Mapped[int] = mapped_column(default=0)

    project_list: Mapped[ProjectList] = relationship(back_populates="entries")
    proposal = relationship("Proposal", lazy="joined")
    amounts: Mapped[list[EntryAmount]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", lazy="selectin",
        order_by="(EntryAmount.agency_id, EntryAmount.year)",
    )

    __table_args__ = (sa.UniqueConstraint("project_list_id", "proposal_id"),)

    def amount_for(self, agency) -> Decimal:
        agency_id = getattr(agency, "id", agency)
        return sum((a.amount for a in self.amounts if a.agency_id == agency_id), Decimal(0))


class EntryAmount(IdMixin, db.Model):
    """Amount granted by one side for one project year, in that side's currency."""

    __tablename__ = "entry_amounts"

    entry_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_list_entries.id", ondelete="CASCADE")
    )
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    year: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(MONEY)

    entry: Mapped[ProjectListEntry] = relationship(back_populates="amounts")
    agency = relationship("Agency")

    __table_args__ = (
        sa.UniqueConstraint("entry_id", "agency_id", "year"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )


class ScoreMethod(StateEnum):
    scale = "scale"      # each side's mean divided by that side's scale (0–1)
    minmax = "minmax"    # min–max over that side's proposals (0–1)
    zscore = "zscore"    # standard score over that side's proposals
    raw = "raw"          # plain mean of the two sides' means


labels(
    {
        ScoreMethod.scale: _l("mean of the sides' scores normalised by the scale"),
        ScoreMethod.minmax: _l("mean of the sides' scores normalised min–max"),
        ScoreMethod.zscore: _l("mean of the sides' standard scores (z)"),
        ScoreMethod.raw: _l("mean of the sides' raw scores"),
    }
)


class SelectionSetting(IdMixin, db.Model):
    """How the joint ranking of one call combines the two sides' scores."""

    __tablename__ = "selection_settings"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    score_method: Mapped[ScoreMethod] = mapped_column(enum_column(ScoreMethod), default=ScoreMethod.scale)
    # The calendar year its projects' first year falls in: their amounts then count
    # against the committee's shared envelopes of those budget years.
    first_budget_year: Mapped[int | None]


class SharedEnvelope(IdMixin, db.Model):
    """One side's envelope for one budget (calendar) year, shared by the committee's calls
    whose projects run in that year, in that side's currency."""

    __tablename__ = "shared_envelopes"

    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("joint_committees.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    budget_year: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(MONEY)

    agency = relationship("Agency")

    __table_args__ = (
        sa.UniqueConstraint("committee_id", "agency_id", "budget_year"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )


class YearEnvelope(IdMixin, db.Model):
    """One side's budget envelope for one project year of a call, in that side's currency."""

    __tablename__ = "year_envelopes"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    year: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(MONEY)

    agency = relationship("Agency")

    __table_args__ = (
        sa.UniqueConstraint("call_id", "agency_id", "year"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint("year >= 1", name="positive_year"),
    )


class TieBreak(IdMixin, TimestampMixin, db.Model):
    """How the secretariat settled proposals with the same combined score: the order
    chosen (proposal ids, first ranks higher) and the reason, recorded and audited."""

    __tablename__ = "tie_breaks"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    proposal_ids: Mapped[list] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    created_by = relationship("User")

    __table_args__ = (sa.CheckConstraint("reason <> ''", name="reason_given"),)
