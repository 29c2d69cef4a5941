"""Funded projects: allocations, reports, renewals and mobility done."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.states import StateEnum, labels
from cfp.core.types import MONEY, IdMixin, TimestampMixin, UTCDateTime, enum_column
from cfp.extensions import db


class ProjectStatus(StateEnum):
    active = "active"
    renewed = "renewed"
    completed = "completed"
    stopped = "stopped"


labels(
    {
        ProjectStatus.active: _l("active"),
        ProjectStatus.renewed: _l("renewed"),
        ProjectStatus.completed: _l("completed"),
        ProjectStatus.stopped: _l("stopped"),
    }
)


PROJECT_TRANSITIONS = {
    ProjectStatus.active: {ProjectStatus.renewed, ProjectStatus.completed, ProjectStatus.stopped},
    ProjectStatus.renewed: {ProjectStatus.completed, ProjectStatus.stopped},
    ProjectStatus.completed: set(),
    ProjectStatus.stopped: set(),
}


class Project(IdMixin, TimestampMixin, db.Model):
    """An adopted proposal, followed until it ends."""

    __tablename__ = "projects"

    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), unique=True)
    code: Mapped[str] = mapped_column(sa.String(60), unique=True)  # S5-CN-BE-2021-03
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id"), index=True)
    project_list_id: Mapped[int] = mapped_column(sa.ForeignKey("project_lists.id"), index=True)
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    status: Mapped[ProjectStatus] = mapped_column(
        enum_column(ProjectStatus), default=ProjectStatus.active
    )
    # The later decision that renewed, stopped or completed it.
    status_decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decisions.id"))

    proposal = relationship("Proposal", lazy="joined")
    decision = relationship("Decision", foreign_keys=[decision_id])
    status_decision = relationship("Decision", foreign_keys=[status_decision_id])
    project_list = relationship("ProjectList")
    allocations: Mapped[list[ProjectAllocation]] = relationship(
        back_populates="project", cascade="all, delete-orphan",
        order_by="(ProjectAllocation.agency_id, ProjectAllocation.year)",
    )
    reports: Mapped[list[ProjectReport]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )

    def can_view(self, user) -> bool:
        return user.is_authenticated and (
            self.proposal.can_view(user)
        )


class ProjectAllocation(IdMixin, db.Model):
    __tablename__ = "project_allocations"

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    year: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))

    project: Mapped[Project] = relationship(back_populates="allocations")
    agency = relationship("Agency")

    __table_args__ = (sa.UniqueConstraint("project_id", "agency_id", "year"),)


class ReportKind(StateEnum):
    interim = "interim"
    final = "final"


class ReportState(StateEnum):
    due = "due"
    submitted = "submitted"
    accepted = "accepted"


labels(
    {
        ReportKind.interim: _l("interim report"),
        ReportKind.final: _l("final report"),
        ReportState.due: _l("due"),
        ReportState.submitted: lazy_pgettext("report state", "submitted"),
        ReportState.accepted: _l("accepted"),
    }
)


class ProjectReport(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "project_reports"

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[ReportKind] = mapped_column(enum_column(ReportKind))
    state: Mapped[ReportState] = mapped_column(enum_column(ReportState), default=ReportState.due)
    due_on: Mapped[date | None]
    text: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # One PDF annex (checked like proposal documents), stored under a generated name.
    attachment_name: Mapped[str | None] = mapped_column(sa.String(300))
    attachment_stored_name: Mapped[str | None] = mapped_column(sa.String(100))
    attachment_size: Mapped[int | None]
    attachment_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    project: Mapped[Project] = relationship(back_populates="reports")

    __table_args__ = (sa.UniqueConstraint("project_id", "kind"),)


class TripDone(IdMixin, TimestampMixin, db.Model):
    """A mobility trip a project actually carried out, against the planned trips."""

    __tablename__ = "trips_done"

    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    planned_trip_id: Mapped[int | None] = mapped_column(sa.ForeignKey("mobility_trips.id", ondelete="SET NULL"))
    from_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    to_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    traveller: Mapped[str] = mapped_column(sa.String(200))
    days: Mapped[int]
    year: Mapped[int]
    started_on: Mapped[date | None]
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    project = relationship("Project")
    planned_trip = relationship("MobilityTrip")

    __table_args__ = (
        sa.CheckConstraint("days > 0", name="positive_days"),
        sa.CheckConstraint("year >= 1", name="positive_year"),
    )
