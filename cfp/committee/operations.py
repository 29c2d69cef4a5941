"""Writers for the Joint Committee: meetings, agenda, decisions, joint outcomes,
project lists, and adoption that turns funded proposals into projects."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.calls.models import CALL_TRANSITIONS, Call, CallState, JointCommittee
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import MessageStatus, OutboxMessage, queue_email, release_message
from cfp.core.roles import Role
from cfp.core.states import change_state
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.committee.models import (
    DECISION_TRANSITIONS, PROJECT_LIST_TRANSITIONS, AgendaItem, Attendee, Decision,
    DecisionApproval, DecisionKind, DecisionState, EntryAmount, EntryKind, Meeting, MeetingMode,
    MeetingStatus, Project, ProjectAllocation, ProjectList, ProjectListEntry, ProjectListState,
)
from cfp.proposals.models import PROPOSAL_TRANSITIONS, Proposal, ProposalState
from cfp.reviews.models import RankingEntry


def _require_secretariat(actor) -> None:
    if not (actor.is_secretariat or actor.is_admin):
        raise NotAllowed(_("Only the committee secretariat may do this."))


# --- meetings -------------------------------------------------------------------------

def create_meeting(actor, committee: JointCommittee, *, number: int, date_: date | None,
                   mode: MeetingMode, host_agency_id: int | None, city: str = "",
                   status: MeetingStatus = MeetingStatus.tentative, date_note: str = "") -> Meeting:
    _require_secretariat(actor)
    if db.session.scalar(sa.select(Meeting.id).filter_by(committee_id=committee.id, number=number)):
        raise DomainError(_("The committee already has a meeting number %(n)s.", n=number))
    meeting = Meeting(committee=committee, number=number, date=date_, mode=mode,
                      host_agency_id=host_agency_id, city=city, status=status, date_note=date_note)
    db.session.add(meeting)
    db.session.flush()
    db.session.add(AgendaItem(meeting=meeting, number=1, title=_("Adoption of the agenda")))
    log_action(actor, "meeting.create", meeting, after={"number": number, "date": date_, "mode": mode})
    return meeting


def add_attendee(actor, meeting: Meeting, *, agency_id: int, name: str, title: str = "",
                 organisation: str = "", is_cochair: bool = False, name_original: str | None = None,
                 user_id: int | None = None) -> Attendee:
    _require_secretariat(actor)
    if is_cochair and any(a.is_cochair and a.agency_id == agency_id for a in meeting.attendees):
        raise DomainError(_("This side already has a co-chair at this meeting."))
    attendee = Attendee(meeting=meeting, agency_id=agency_id, name=name.strip(), title=title,
                        organisation=organisation, is_cochair=is_cochair, name_original=name_original,
                        user_id=user_id, position=len(meeting.attendees))
    db.session.add(attendee)
    log_action(actor, "meeting.add_attendee", meeting, after={"name": name, "cochair": is_cochair})
    return attendee


def add_agenda_item(actor, meeting: Meeting, title: str) -> AgendaItem:
    _require_secretariat(actor)
    number = max((i.number for i in meeting.agenda_items), default=0) + 1
    item = AgendaItem(meeting=meeting, number=number, title=title.strip())
    db.session.add(item)
    log_action(actor, "meeting.add_agenda_item", meeting, after={"number": number, "title": title})
    return item


# --- decisions ------------------------------------------------------------------------

def draft_decision(actor, item: AgendaItem, *, kind: DecisionKind, title: str, text: str = "") -> Decision:
    _require_secretariat(actor)
    meeting = item.meeting
    count = db.session.scalar(sa.select(sa.func.count(Decision.id)).filter_by(meeting_id=meeting.id))
    decision = Decision(
        committee_id=meeting.committee_id, meeting=meeting, agenda_item=item, kind=kind,
        title=title.strip(), text=text, number=f"{meeting.number}.{count + 1}", created_by_id=actor.id,
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
        if actor.has_role(Role.cochair, agency) and not decision.approved_by_side(agency):
            decision.approvals.append(DecisionApproval(
                agency_id=agency.id, approved_by_id=actor.id, cochair_name=actor.name, approved_at=utcnow()))
            log_action(actor, "decision.approve", decision, after={"agency_id": agency.id})
    db.session.flush()
    if all(decision.approved_by_side(a) for a in decision.committee.agencies):
        _adopt(actor, decision)
    return decision


def record_adoption_at_meeting(actor, decision: Decision) -> Decision:
    """The secretariat records that both co-chairs adopted the decision at the meeting."""
    _require_secretariat(actor)
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
    if decision.kind == DecisionKind.adopt_project_list:
        plist = decision.project_list
        if plist is None:
            raise DomainError(_("Attach the project list before adopting this decision."))
        if plist.state != ProjectListState.proposed:
            raise DomainError(_("The project list must be proposed to be adopted."))
    change_state(decision, DecisionState.adopted, table=DECISION_TRANSITIONS, what=_("The decision"))
    decision.adopted_at = utcnow()
    log_action(actor, "decision.adopted", decision, before={"state": DecisionState.draft},
               after={"state": DecisionState.adopted})
    if decision.supersedes is not None:
        change_state(decision.supersedes, DecisionState.superseded, table=DECISION_TRANSITIONS,
                     what=_("The decision"))
    if decision.kind == DecisionKind.adopt_project_list:
        _adopt_project_list(actor, decision, decision.project_list)


def project_code(decision: Decision, call: Call, n: int) -> str:
    prefix = f"S{decision.meeting.number}" if decision.meeting else f"WP{decision.id}"
    return f"{prefix}-{call.reference}-{n:02d}"


def _adopt_project_list(actor, decision: Decision, plist: ProjectList) -> None:
    change_state(plist, ProjectListState.adopted, table=PROJECT_LIST_TRANSITIONS, what=_("The project list"))
    call = plist.call
    for other in db.session.scalars(sa.select(ProjectList).where(
            ProjectList.call_id == call.id, ProjectList.id != plist.id,
            ProjectList.state.in_([ProjectListState.draft, ProjectListState.proposed]))):
        other.state = ProjectListState.superseded
    funded_ids = set()
    n = 0
    for entry in plist.entries:
        if entry.kind != EntryKind.funded:
            continue
        n += 1
        proposal = entry.proposal
        change_state(proposal, ProposalState.funded, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))
        funded_ids.add(proposal.id)
        project = Project(proposal=proposal, code=project_code(decision, call, n), decision=decision,
                          project_list=plist)
        for amount in entry.amounts:
            side = call.side(amount.agency_id)
            project.allocations.append(ProjectAllocation(
                agency_id=amount.agency_id, year=amount.year, amount=amount.amount, currency=side.currency))
        db.session.add(project)
        db.session.flush()
        log_action(actor, "project.create", project, after={"code": project.code, "proposal_id": proposal.id})
    # Proposals the committee did not fund are rejected; reserve ones stay in reserve.
    for proposal in db.session.scalars(sa.select(Proposal).where(
            Proposal.call_id == call.id,
            Proposal.state.in_([ProposalState.not_recommended, ProposalState.recommended,
                                ProposalState.ineligible]))):
        if proposal.id not in funded_ids:
            change_state(proposal, ProposalState.rejected, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))
    if call.state == CallState.in_selection:
        change_state(call, CallState.decided, table=CALL_TRANSITIONS, what=_("The call"))
    log_action(actor, "project_list.adopted", plist, after={"decision_id": decision.id, "funded": len(funded_ids)})
    _queue_letters(decision, call)


def _queue_letters(decision: Decision, call: Call) -> None:
    """Decision letters to both PIs of every decided proposal, held for release."""
    proposals = db.session.scalars(sa.select(Proposal).where(
        Proposal.call_id == call.id,
        Proposal.state.in_([ProposalState.funded, ProposalState.rejected, ProposalState.reserve]),
    )).all()
    projects = {p.proposal_id: p for p in db.session.scalars(sa.select(Project).filter_by(decision_id=decision.id))}
    for proposal in proposals:
        for side in proposal.sides:
            if side.pi is None:
                continue
            queue_email(
                to=side.pi, template="decision_letter", hold=True,
                key=f"letter-{decision.id}-{proposal.id}-{side.agency_id}",
                context={"proposal": proposal, "decision": decision, "project": projects.get(proposal.id)},
            )


def release_letters(actor, decision: Decision) -> int:
    _require_secretariat(actor)
    if decision.state != DecisionState.adopted:
        raise DomainError(_("Letters wait until the decision is adopted."))
    messages = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-%"),
        OutboxMessage.status == MessageStatus.held)).all()
    released = sum(release_message(m, actor) for m in messages)
    log_action(actor, "decision.release_letters", decision, after={"released": released})
    return released


# --- joint selection ------------------------------------------------------------------

@dataclass
class JointRow:
    proposal: Proposal
    sides: dict  # agency_id -> RankingEntry | None
    combined: Decimal | None
    passes_both: bool


def joint_ranking(call: Call) -> list[JointRow]:
    """Both sides' rankings side by side; a proposal goes forward only if it passes
    both (each side has a veto); ordered by the mean of the two sides' scores."""
    entries = db.session.scalars(sa.select(RankingEntry).filter_by(call_id=call.id)).all()
    by_proposal: dict[int, dict[int, RankingEntry]] = defaultdict(dict)
    for e in entries:
        by_proposal[e.proposal_id][e.agency_id] = e
    proposals = db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(by_proposal.keys()))).all()
    rows = []
    for p in proposals:
        sides = {a.id: by_proposal[p.id].get(a.id) for a in call.agencies}
        means = [e.mean_score for e in sides.values() if e is not None and e.mean_score is not None]
        combined = (sum(means, Decimal(0)) / len(means)).quantize(Decimal("0.001")) if len(means) == len(sides) else None
        passes = all(e is not None and e.passed for e in sides.values())
        rows.append(JointRow(p, sides, combined, passes))
    rows.sort(key=lambda r: (not r.passes_both, r.combined is None, -(r.combined or 0), r.proposal.reference or ""))
    return rows


OUTCOMES = {ProposalState.recommended, ProposalState.reserve, ProposalState.not_recommended}


def set_outcome(actor, proposal: Proposal, outcome: ProposalState) -> Proposal:
    _require_secretariat(actor)
    if outcome not in OUTCOMES:
        raise DomainError(_("Choose recommended, reserve or not recommended."))
    if outcome in (ProposalState.recommended, ProposalState.reserve):
        row = next((r for r in joint_ranking(proposal.call) if r.proposal.id == proposal.id), None)
        if row is None or not row.passes_both:
            raise DomainError(_("%(ref)s does not pass both sides' thresholds; either side's veto stands.",
                                ref=proposal.reference))
    before = change_state(proposal, outcome, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))
    call = proposal.call
    if call.state == CallState.in_review:
        change_state(call, CallState.in_selection, table=CALL_TRANSITIONS, what=_("The call"))
    log_action(actor, "proposal.outcome", proposal, before={"state": before}, after={"state": outcome})
    return proposal


# --- project lists --------------------------------------------------------------------

def project_years(call: Call) -> int:
    return max(1, math.ceil(call.duration_months / 12))


def _split(total: Decimal, years: int) -> list[Decimal]:
    share = (total / years).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    amounts = [share] * years
    amounts[-1] = total - share * (years - 1)
    return amounts


def draft_project_list(actor, call: Call) -> ProjectList:
    """A new version of the list: recommended proposals to fund (in joint order),
    reserve ones after, with each side's requested amount spread over the years."""
    _require_secretariat(actor)
    version = (db.session.scalar(sa.select(sa.func.max(ProjectList.version)).filter_by(call_id=call.id)) or 0) + 1
    plist = ProjectList(call=call, version=version, created_by_id=actor.id)
    db.session.add(plist)
    years = project_years(call)
    position = 0
    for row in joint_ranking(call):
        p = row.proposal
        if p.state not in (ProposalState.recommended, ProposalState.reserve):
            continue
        entry = ProjectListEntry(proposal=p, position=position,
                                 kind=EntryKind.funded if p.state == ProposalState.recommended else EntryKind.reserve)
        position += 1
        for side in p.sides:
            for year, amount in enumerate(_split(side.requested_amount, years), start=1):
                entry.amounts.append(EntryAmount(agency_id=side.agency_id, year=year, amount=amount))
        plist.entries.append(entry)
    if not plist.entries:
        raise DomainError(_("No proposal is recommended or in reserve yet; set the outcomes in the joint ranking first."))
    db.session.flush()
    log_action(actor, "project_list.draft", plist, after={"version": version, "entries": len(plist.entries)})
    return plist


def set_entry_amounts(actor, entry: ProjectListEntry, amounts: dict[tuple[int, int], Decimal]) -> None:
    plist = entry.project_list
    if not plist.can_edit(actor):
        raise NotAllowed(_("Only a draft list can be changed; adopted lists are frozen."))
    before = {f"{a.agency_id}/{a.year}": a.amount for a in entry.amounts}
    current = {(a.agency_id, a.year): a for a in entry.amounts}
    for key, value in amounts.items():
        if value is None or value < 0:
            raise DomainError(_("Amounts must be zero or more."))
        if key in current:
            current[key].amount = value
        else:
            entry.amounts.append(EntryAmount(agency_id=key[0], year=key[1], amount=value))
    log_action(actor, "project_list.amounts", plist, before=before,
               after={f"{k[0]}/{k[1]}": v for k, v in amounts.items()})


def envelope_use(plist: ProjectList) -> dict[int, Decimal]:
    used: dict[int, Decimal] = defaultdict(Decimal)
    for entry in plist.entries:
        if entry.kind == EntryKind.funded:
            for a in entry.amounts:
                used[a.agency_id] += a.amount
    return used


def propose_project_list(actor, plist: ProjectList) -> ProjectList:
    _require_secretariat(actor)
    used = envelope_use(plist)
    over = []
    for side in plist.call.sides:
        if used.get(side.agency_id, Decimal(0)) > side.budget_envelope:
            over.append(f"{side.agency.short_name}: {used[side.agency_id]} > {side.budget_envelope} {side.currency}")
    if over:
        raise DomainError(_("The list exceeds a side's budget envelope (%(over)s).", over="; ".join(over)))
    before = change_state(plist, ProjectListState.proposed, table=PROJECT_LIST_TRANSITIONS, what=_("The project list"))
    log_action(actor, "project_list.propose", plist, before={"state": before}, after={"state": plist.state})
    return plist
