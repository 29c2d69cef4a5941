"""Writers for meetings and decisions: agenda, attendees, drafting, approval by both
co-chairs, written procedure, superseding. Adopting a decision that carries a project
list hands over to `selection.operations.adopt_project_list`, the one seam."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.calls.models import JointCommittee
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.roles import Role, require_secretariat
from cfp.core.states import change_state
from cfp.core.tasks import queue_task
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.meetings.models import (
    DECISION_TRANSITIONS,
    MEETING_TRANSITIONS,
    AgendaItem,
    Attendee,
    Decision,
    DecisionApproval,
    DecisionKind,
    DecisionState,
    Meeting,
    MeetingMode,
    MeetingStatus,
)
from cfp.projects.models import Project
from cfp.selection.models import ProjectList, ProjectListState
from cfp.selection.operations import adopt_project_list, check_adoptable


def create_meeting(actor, committee: JointCommittee, *, number: int, date_: date | None,
                   mode: MeetingMode, host_agency_id: int | None, city: str = "",
                   status: MeetingStatus = MeetingStatus.tentative, date_note: str = "") -> Meeting:
    require_secretariat(actor, committee.id)
    if db.session.scalar(sa.select(Meeting.id).filter_by(committee_id=committee.id, number=number)):
        raise DomainError(_("The committee already has a meeting number %(n)s.", n=number))
    meeting = Meeting(committee=committee, number=number, date=date_, mode=mode,
                      host_agency_id=host_agency_id, city=city, status=status, date_note=date_note)
    db.session.add(meeting)
    db.session.flush()
    db.session.add(AgendaItem(meeting=meeting, number=1, title=_("Adoption of the agenda")))
    if previous_meeting(meeting) is not None:
        db.session.add(AgendaItem(meeting=meeting, number=2, standing_report=True,
                                  title=_("Report on the projects adopted at the previous meeting")))
    log_action(actor, "meeting.create", meeting, after={"number": number, "date": date_, "mode": mode})
    _report_written_decisions(meeting)
    return meeting


def add_attendee(actor, meeting: Meeting, *, agency_id: int, name: str, title: str = "",
                 organisation: str = "", is_cochair: bool = False, name_original: str | None = None,
                 user_id: int | None = None) -> Attendee:
    require_secretariat(actor, meeting.committee_id)
    if is_cochair and any(a.is_cochair and a.agency_id == agency_id for a in meeting.attendees):
        raise DomainError(_("This side already has a co-chair at this meeting."))
    attendee = Attendee(meeting=meeting, agency_id=agency_id, name=name.strip(), title=title,
                        organisation=organisation, is_cochair=is_cochair, name_original=name_original,
                        user_id=user_id, position=len(meeting.attendees))
    db.session.add(attendee)
    log_action(actor, "meeting.add_attendee", meeting, after={"name": name, "cochair": is_cochair})
    return attendee


def add_agenda_item(actor, meeting: Meeting, title: str) -> AgendaItem:
    require_secretariat(actor, meeting.committee_id)
    number = max((i.number for i in meeting.agenda_items), default=0) + 1
    item = AgendaItem(meeting=meeting, number=number, title=title.strip())
    db.session.add(item)
    log_action(actor, "meeting.add_agenda_item", meeting, after={"number": number, "title": title})
    return item


def _decision_number(item: AgendaItem) -> str:
    """A decision is numbered from its agenda item: the first under item 3 of the 5th
    meeting is 5.3, a second one under the same item 5.3.2."""
    db.session.flush()
    earlier = db.session.scalar(sa.select(sa.func.count(Decision.id)).filter_by(agenda_item_id=item.id))
    return item.label if not earlier else f"{item.label}.{earlier + 1}"


def draft_decision(actor, item: AgendaItem, *, kind: DecisionKind, title: str, text: str = "") -> Decision:
    require_secretariat(actor, item.meeting.committee_id)
    meeting = item.meeting
    decision = Decision(
        committee_id=meeting.committee_id, meeting=meeting, agenda_item=item, kind=kind,
        title=title.strip(), text=text, number=_decision_number(item), created_by_id=actor.id,
    )
    db.session.add(decision)
    db.session.flush()
    log_action(actor, "decision.draft", decision, after={"number": decision.number, "kind": kind, "title": title})
    return decision


def attach_project_list(actor, decision: Decision, project_list: ProjectList) -> None:
    if not decision.can_edit(actor):
        raise NotAllowed(_("An adopted decision cannot be edited; supersede it with a new one."))
    if decision.kind != DecisionKind.adopt_project_list:
        raise DomainError(_("Only a decision that adopts a project list can carry one."))
    if project_list.call.committee_id != decision.committee_id:
        raise NotAllowed(_("This project list belongs to another committee."))
    if project_list.state != ProjectListState.proposed:
        raise DomainError(_("Propose the project list before tabling it for a decision."))
    if project_list.decision_id not in (None, decision.id):
        raise DomainError(_("This project list is already tabled under another decision."))
    if decision.project_list is not None and decision.project_list.id != project_list.id:
        decision.project_list.decision = None
    project_list.decision = decision
    log_action(actor, "decision.attach_list", decision, after={"project_list_id": project_list.id})


def edit_decision(actor, decision: Decision, *, title: str, text: str) -> Decision:
    if not decision.can_edit(actor):
        raise NotAllowed(_("An adopted decision cannot be edited; supersede it with a new one."))
    before = {"title": decision.title, "text": decision.text}
    decision.title, decision.text = title.strip(), text
    log_action(actor, "decision.edit", decision, before=before, after={"title": decision.title, "text": text})
    return decision


def approve_decision(actor, decision: Decision) -> Decision:
    """A co-chair approves for their side; with both sides, the decision is adopted."""
    if not decision.can_approve(actor):
        raise NotAllowed(_("Only a co-chair of a side that has not approved yet may approve."))
    for agency in decision.committee.agencies:
        if actor.has_role(Role.cochair, agency, decision.committee_id) and not decision.approved_by_side(agency):
            decision.approvals.append(DecisionApproval(
                agency_id=agency.id, approved_by_id=actor.id, cochair_name=actor.name, approved_at=utcnow()))
            log_action(actor, "decision.approve", decision, after={"agency_id": agency.id})
    db.session.flush()
    if all(decision.approved_by_side(a) for a in decision.committee.agencies):
        _adopt(actor, decision)
    return decision


def record_adoption_at_meeting(actor, decision: Decision) -> Decision:
    """The secretariat records that both co-chairs adopted the decision at the meeting."""
    require_secretariat(actor, decision.committee_id)
    meeting = decision.meeting
    if decision.state != DecisionState.draft:
        raise DomainError(_("This decision is already %(s)s.", s=decision.state.label))
    if meeting is None:
        raise DomainError(_("Only a decision taken at a meeting can be recorded this way."))
    cochairs = {a.agency_id: a for a in meeting.cochairs}
    missing = [a.short_name for a in decision.committee.agencies if a.id not in cochairs]
    if missing:
        raise DomainError(_("The meeting has no co-chair for: %(sides)s.", sides=", ".join(missing)))
    for agency in decision.committee.agencies:
        if not decision.approved_by_side(agency):
            decision.approvals.append(DecisionApproval(
                agency_id=agency.id, approved_by_id=actor.id, cochair_name=cochairs[agency.id].name,
                approved_at=utcnow()))
    db.session.flush()
    log_action(actor, "decision.record_adoption", decision, after={"meeting": meeting.number})
    _adopt(actor, decision)
    return decision


def _adopt(actor, decision: Decision) -> None:
    meeting = decision.meeting
    if meeting is not None and not meeting.in_session_or_held:
        raise DomainError(_(
            "Decision %(n)s cannot be adopted yet: the %(meeting)s is %(status)s. A decision is "
            "adopted at a meeting in session or held, or by written procedure.",
            n=decision.number, meeting=meeting.title, status=meeting.status.label))
    if decision.kind == DecisionKind.adopt_project_list:
        if decision.project_list is None:
            raise DomainError(_("Attach the project list before adopting this decision."))
        check_adoptable(decision.project_list)
    change_state(decision, DecisionState.adopted, table=DECISION_TRANSITIONS, what=_("The decision"))
    decision.adopted_at = utcnow()
    log_action(actor, "decision.adopted", decision, before={"state": DecisionState.draft},
               after={"state": DecisionState.adopted})
    if decision.supersedes is not None:
        change_state(decision.supersedes, DecisionState.superseded, table=DECISION_TRANSITIONS,
                     what=_("The decision"))
    if decision.kind == DecisionKind.adopt_project_list:
        adopt_project_list(actor, decision, decision.project_list)
    if decision.meeting is not None:
        _queue_minutes(decision.meeting)
    if decision.written_procedure and decision.reported_at_meeting_id is None:
        upcoming = db.session.scalar(sa.select(Meeting).where(
            Meeting.committee_id == decision.committee_id, Meeting.status != MeetingStatus.held)
            .order_by(Meeting.number))
        if upcoming is not None:
            decision.reported_at_meeting_id = upcoming.id


def change_meeting_status(actor, meeting: Meeting, status: MeetingStatus) -> Meeting:
    require_secretariat(actor, meeting.committee_id)
    before = change_state(meeting, status, table=MEETING_TRANSITIONS, what=_("The meeting"), attr="status")
    log_action(actor, "meeting.status", meeting, before={"status": before}, after={"status": status})
    if status == MeetingStatus.held:
        _queue_minutes(meeting)
    return meeting


def _queue_minutes(meeting: Meeting) -> None:
    """Build the minutes PDF in the background once the change is committed."""
    queue_task("meetings.generate_minutes", meeting.id)


def previous_meeting(meeting: Meeting) -> Meeting | None:
    return db.session.scalar(sa.select(Meeting).where(
        Meeting.committee_id == meeting.committee_id, Meeting.number < meeting.number)
        .order_by(Meeting.number.desc()))


def projects_adopted_at(meeting: Meeting | None) -> list[Project]:
    """Projects adopted by the decisions of `meeting`, with their current status."""
    if meeting is None:
        return []
    return list(db.session.scalars(sa.select(Project).join(Decision, Project.decision_id == Decision.id)
                                   .where(Decision.meeting_id == meeting.id).order_by(Project.code)))


def _report_written_decisions(meeting: Meeting) -> None:
    """Adopted decisions by written procedure not listed at a meeting yet go to this one."""
    for d in db.session.scalars(sa.select(Decision).where(
            Decision.committee_id == meeting.committee_id, Decision.written_procedure.is_(True),
            Decision.state == DecisionState.adopted, Decision.reported_at_meeting_id.is_(None))):
        d.reported_at_meeting_id = meeting.id


def written_decisions(meeting: Meeting) -> list[Decision]:
    return list(db.session.scalars(sa.select(Decision).filter_by(reported_at_meeting_id=meeting.id)
                                   .order_by(Decision.id)))


def draft_written_decision(actor, committee: JointCommittee, *, kind: DecisionKind, title: str,
                           text: str = "", supersedes: Decision | None = None) -> Decision:
    """A decision taken by written procedure between meetings (no meeting); listed at
    the next meeting once adopted."""
    require_secretariat(actor, committee.id)
    count = db.session.scalar(sa.select(sa.func.count(Decision.id)).where(
        Decision.committee_id == committee.id, Decision.written_procedure.is_(True)))
    decision = Decision(committee_id=committee.id, kind=kind, title=title.strip(), text=text,
                        written_procedure=True, number=f"WP-{count + 1}", created_by_id=actor.id,
                        supersedes=supersedes)
    db.session.add(decision)
    db.session.flush()
    log_action(actor, "decision.draft", decision, after={"number": decision.number, "kind": kind,
                                                         "title": title, "written_procedure": True})
    return decision


def draft_superseding_decision(actor, old: Decision, *, item: AgendaItem | None, title: str,
                               text: str = "") -> Decision:
    """An adopted decision is never edited: a new decision supersedes it once adopted."""
    require_secretariat(actor, old.committee_id)
    if old.state != DecisionState.adopted:
        raise DomainError(_("Only an adopted decision can be superseded; edit the draft instead."))
    if item is None:
        new = draft_written_decision(actor, old.committee, kind=old.kind, title=title, text=text, supersedes=old)
    else:
        new = draft_decision(actor, item, kind=old.kind, title=title, text=text)
        new.supersedes = old
    log_action(actor, "decision.supersede_draft", new, after={"supersedes": old.number})
    return new
