"""The Joint Committee's meetings: attendees, agenda, and decisions (numbered from their
agenda item or taken by written procedure, adopted by both co-chairs, superseded, never edited)."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cfp.core.roles import Role
from cfp.core.states import StateEnum, labels
from cfp.core.timezones import to_zone
from cfp.core.types import IdMixin, TimestampMixin, UTCDateTime, enum_column, utcnow
from cfp.extensions import db

if TYPE_CHECKING:
    from cfp.selection.models import ProjectList


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
    """The n-th as the current language writes it before "meeting" (its only use):
    5th in English, 5e (1re: une réunion) in French, and the bare number in Chinese,
    whose translation of "%(n)s meeting" puts it inside 第…届."""
    locale = get_locale()
    language = locale.language if locale else "en"
    if language == "fr":
        return "1re" if n == 1 else f"{n}e"
    if language == "zh":
        return str(n)
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
    def in_session_or_held(self) -> bool:
        """Held, or confirmed and its day has come where it takes place: only then can
        the committee adopt decisions at it."""
        if self.status == MeetingStatus.held:
            return True
        if self.status != MeetingStatus.confirmed or self.date is None:
            return False
        host_zone = self.host_agency.timezone if self.host_agency is not None else None
        return to_zone(utcnow(), host_zone).date() >= self.date

    @property
    def cochairs(self) -> list[Attendee]:
        return [a for a in self.attendees if a.is_cochair]

    def can_manage(self, user) -> bool:
        return user.is_authenticated and (user.is_secretariat_of(self.committee_id) or user.is_admin)

    def can_view(self, user) -> bool:
        """The committee's people: its secretariat, co-chairs and both sides' staff."""
        return user.is_authenticated and (
            user.is_admin or user.is_secretariat_of(self.committee_id)
            or user.is_cochair_of(self.committee_id) or user.is_staff_of(self.committee_id)
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
        "ProjectList", back_populates="decision", uselist=False
    )

    __table_args__ = (sa.UniqueConstraint("meeting_id", "number"),)

    @property
    def is_adopted(self) -> bool:
        return self.state == DecisionState.adopted

    def approved_by_side(self, agency) -> bool:
        agency_id = getattr(agency, "id", agency)
        return any(a.agency_id == agency_id for a in self.approvals)

    def can_view(self, user) -> bool:
        """The committee's people and agency staff; applicants learn of it by their letter."""
        return user.is_authenticated and (
            user.is_admin or user.is_secretariat_of(self.committee_id)
            or user.is_cochair_of(self.committee_id) or user.is_staff_of(self.committee_id)
        )

    def can_edit(self, user) -> bool:
        return self.state == DecisionState.draft and (user.is_secretariat_of(self.committee_id)
                                                      or user.is_admin)

    def can_approve(self, user) -> bool:
        if self.state != DecisionState.draft:
            return False
        return any(
            user.has_role(Role.cochair, a, self.committee_id) and not self.approved_by_side(a)
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
