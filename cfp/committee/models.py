"""Joint Committee meetings, agenda, decisions, project lists and projects."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.roles import Role
from cfp.core.states import StateEnum, labels
from cfp.core.types import MONEY, IdMixin, TimestampMixin, UTCDateTime, enum_column
from cfp.extensions import db


class MeetingMode(StateEnum):
    in_person = "in_person"
    video = "video"


class MeetingStatus(StateEnum):
    tentative = "tentative"
    confirmed = "confirmed"
    held = "held"


labels(
    {
        MeetingMode.in_person: _l("in person"),
        MeetingMode.video: _l("by video"),
        MeetingStatus.tentative: _l("tentative"),
        MeetingStatus.confirmed: _l("confirmed"),
        MeetingStatus.held: _l("held"),
    }
)

MEETING_TRANSITIONS = {
    MeetingStatus.tentative: {MeetingStatus.confirmed},
    MeetingStatus.confirmed: {MeetingStatus.held, MeetingStatus.tentative},
    MeetingStatus.held: set(),
}


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class Meeting(IdMixin, TimestampMixin, db.Model):
    """A numbered session of the Joint Committee."""

    __tablename__ = "meetings"

    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("joint_committees.id"))
    number: Mapped[int]
    date: Mapped[date | None]
    date_note: Mapped[str] = mapped_column(sa.String(100), default="")  # e.g. "2023 (tentative)"
    mode: Mapped[MeetingMode] = mapped_column(enum_column(MeetingMode), default=MeetingMode.in_person)
    host_agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    city: Mapped[str] = mapped_column(sa.String(100), default="")
    status: Mapped[MeetingStatus] = mapped_column(
        enum_column(MeetingStatus), default=MeetingStatus.tentative
    )
    minutes: Mapped[str] = mapped_column(sa.Text, default="")

    committee = relationship("JointCommittee")
    host_agency = relationship("Agency")
    attendees: Mapped[list[Attendee]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Attendee.position"
    )
    agenda_items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="AgendaItem.number"
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="meeting", order_by="Decision.number", foreign_keys="Decision.meeting_id"
    )

    __table_args__ = (
        sa.UniqueConstraint("committee_id", "number"),
        sa.CheckConstraint("number >= 1", name="positive_number"),
    )

    @property
    def title(self) -> str:
        return str(_l("%(n)s meeting", n=ordinal(self.number)))

    @property
    def cochairs(self) -> list[Attendee]:
        return [a for a in self.attendees if a.is_cochair]

    def can_manage(self, user) -> bool:
        return user.is_authenticated and (user.is_secretariat or user.is_admin)

    def can_view(self, user) -> bool:
        return user.is_authenticated and (
            user.is_secretariat or user.is_admin or user.has_role(Role.cochair)
            or user.has_role(Role.staff)
        )


class Attendee(IdMixin, db.Model):
    __tablename__ = "attendees"

    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_original: Mapped[str | None] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    organisation: Mapped[str] = mapped_column(sa.String(300), default="")
    is_cochair: Mapped[bool] = mapped_column(default=False)

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    agency = relationship("Agency")
    user = relationship("User")


class AgendaItem(IdMixin, db.Model):
    __tablename__ = "agenda_items"

    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(300))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # The standing item reporting on the projects adopted at the previous meeting,
    # filled in automatically on the meeting's page and in the minutes.
    standing_report: Mapped[bool] = mapped_column(default=False)

    meeting: Mapped[Meeting] = relationship(back_populates="agenda_items")
    decisions: Mapped[list[Decision]] = relationship(back_populates="agenda_item")

    __table_args__ = (sa.UniqueConstraint("meeting_id", "number"),)

    @property
    def label(self) -> str:
        return f"{self.meeting.number}.{self.number}"


class DecisionKind(StateEnum):
    adopt_call = "adopt_call"
    adopt_project_list = "adopt_project_list"
    schedule_meeting = "schedule_meeting"
    other = "other"


class DecisionState(StateEnum):
    draft = "draft"
    adopted = "adopted"
    superseded = "superseded"


labels(
    {
        DecisionKind.adopt_call: _l("adopt call arrangements"),
        DecisionKind.adopt_project_list: _l("adopt project list"),
        DecisionKind.schedule_meeting: _l("schedule next meeting"),
        DecisionKind.other: _l("other"),
        DecisionState.draft: _l("draft"),
        DecisionState.adopted: _l("adopted"),
        DecisionState.superseded: _l("superseded"),
    }
)

DECISION_TRANSITIONS = {
    DecisionState.draft: {DecisionState.adopted},
    DecisionState.adopted: {DecisionState.superseded},
    DecisionState.superseded: set(),
}


class Decision(IdMixin, TimestampMixin, db.Model):
    """A decision of the Joint Committee, at a meeting's agenda item or by
    written procedure; adopted once both co-chairs approve; never edited after."""

    __tablename__ = "decisions"

    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("joint_committees.id"))
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id"))
    agenda_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agenda_items.id"))
    number: Mapped[str | None] = mapped_column(sa.String(20))  # "5.3"
    kind: Mapped[DecisionKind] = mapped_column(enum_column(DecisionKind))
    title: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[DecisionState] = mapped_column(
        enum_column(DecisionState), default=DecisionState.draft
    )
    written_procedure: Mapped[bool] = mapped_column(default=False)
    adopted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decisions.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # A decision by written procedure is listed at the next meeting.
    reported_at_meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id"))

    committee = relationship("JointCommittee")
    meeting: Mapped[Meeting | None] = relationship(
        back_populates="decisions", foreign_keys=[meeting_id]
    )
    agenda_item: Mapped[AgendaItem | None] = relationship(back_populates="decisions")
    supersedes = relationship("Decision", remote_side="Decision.id", foreign_keys=[supersedes_id])
    reported_at_meeting = relationship("Meeting", foreign_keys=[reported_at_meeting_id])
    approvals: Mapped[list[DecisionApproval]] = relationship(
        back_populates="decision", cascade="all, delete-orphan", lazy="selectin"
    )
    project_list: Mapped[ProjectList | None] = relationship(
        back_populates="decision", uselist=False
    )

    __table_args__ = (sa.UniqueConstraint("meeting_id", "number"),)

    def approved_by_side(self, agency) -> bool:
        agency_id = getattr(agency, "id", agency)
        return any(a.agency_id == agency_id for a in self.approvals)

    def can_edit(self, user) -> bool:
        return self.state == DecisionState.draft and (user.is_secretariat or user.is_admin)

    def can_approve(self, user) -> bool:
        if self.state != DecisionState.draft:
            return False
        return any(
            user.has_role(Role.cochair, a) and not self.approved_by_side(a)
            for a in self.committee.agencies
        )


class DecisionApproval(IdMixin, db.Model):
    """A co-chair's approval, one per side."""

    __tablename__ = "decision_approvals"

    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    approved_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    cochair_name: Mapped[str] = mapped_column(sa.String(200))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)

    decision: Mapped[Decision] = relationship(back_populates="approvals")
    agency = relationship("Agency")

    __table_args__ = (sa.UniqueConstraint("decision_id", "agency_id"),)


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
    ProjectListState.adopted: set(),
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
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    call = relationship("Call")
    decision: Mapped[Decision | None] = relationship(back_populates="project_list")
    entries: Mapped[list[ProjectListEntry]] = relationship(
        back_populates="project_list", cascade="all, delete-orphan",
        order_by="ProjectListEntry.position",
    )

    __table_args__ = (sa.UniqueConstraint("call_id", "version"),)

    @property
    def frozen(self) -> bool:
        return self.state in (ProjectListState.adopted, ProjectListState.superseded)

    def can_edit(self, user) -> bool:
        return self.state == ProjectListState.draft and (user.is_secretariat or user.is_admin)


class EntryKind(StateEnum):
    funded = "funded"
    reserve = "reserve"


labels({EntryKind.funded: _l("to fund"), EntryKind.reserve: _l("reserve")})


class ProjectListEntry(IdMixin, db.Model):
    __tablename__ = "project_list_entries"

    project_list_id: Mapped[int] = mapped_column(
        sa.ForeignKey("project_lists.id", ondelete="CASCADE")
    )
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"))
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
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id"))
    project_list_id: Mapped[int] = mapped_column(sa.ForeignKey("project_lists.id"))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    status: Mapped[ProjectStatus] = mapped_column(
        enum_column(ProjectStatus), default=ProjectStatus.active
    )

    proposal = relationship("Proposal", lazy="joined")
    decision = relationship("Decision")
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
        ReportState.submitted: _l("submitted"),
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

    project: Mapped[Project] = relationship(back_populates="reports")

    __table_args__ = (sa.UniqueConstraint("project_id", "kind"),)


# --- joint selection and funding plan --------------------------------------------------

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
