"""Writers for the Joint Committee: meetings, agenda, decisions, joint outcomes,
project lists, and adoption that turns funded proposals into projects."""
from __future__ import annotations

import calendar
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.calls.models import CALL_TRANSITIONS, Call, CallState, JointCommittee
from cfp.committee.models import (
    DECISION_TRANSITIONS,
    MEETING_TRANSITIONS,
    PROJECT_LIST_TRANSITIONS,
    PROJECT_TRANSITIONS,
    AgendaItem,
    Attendee,
    Decision,
    DecisionApproval,
    DecisionKind,
    DecisionState,
    EntryAmount,
    EntryKind,
    Meeting,
    MeetingMode,
    MeetingStatus,
    Project,
    ProjectAllocation,
    ProjectList,
    ProjectListEntry,
    ProjectListState,
    ProjectReport,
    ProjectStatus,
    ReportKind,
    ReportState,
    ScoreMethod,
    SelectionSetting,
    TieBreak,
    TripDone,
    YearEnvelope,
)
from cfp.core.aftercommit import after_commit
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import MessageStatus, OutboxMessage, queue_email, release_message
from cfp.core.roles import Role
from cfp.core.states import change_state
from cfp.core.types import utcnow
from cfp.extensions import db
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
    if previous_meeting(meeting) is not None:
        db.session.add(AgendaItem(meeting=meeting, number=2, standing_report=True,
                                  title=_("Report on the projects adopted at the previous meeting")))
    log_action(actor, "meeting.create", meeting, after={"number": number, "date": date_, "mode": mode})
    _report_written_decisions(meeting)
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
    if decision.meeting is not None:
        _queue_minutes(decision.meeting)
    if decision.written_procedure and decision.reported_at_meeting_id is None:
        upcoming = db.session.scalar(sa.select(Meeting).where(
            Meeting.committee_id == decision.committee_id, Meeting.status != MeetingStatus.held)
            .order_by(Meeting.number))
        if upcoming is not None:
            decision.reported_at_meeting_id = upcoming.id


def _add_months(day: date, months: int) -> date:
    """The same day `months` later (clamped to the month's last day)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


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
        if proposal.state == ProposalState.reviewed:  # placed by the funding plan directly
            change_state(proposal, ProposalState.recommended, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))
        change_state(proposal, ProposalState.funded, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))
        funded_ids.add(proposal.id)
        start = utcnow().date()
        end = _add_months(start, call.duration_months) - timedelta(days=1)
        project = Project(proposal=proposal, code=project_code(decision, call, n), decision=decision,
                          project_list=plist, start_date=start, end_date=end)
        if project_years(call) > 1:  # the interim report conditions the second year
            project.reports.append(ProjectReport(kind=ReportKind.interim, state=ReportState.due,
                                                 due_on=_add_months(start, 11)))
        project.reports.append(ProjectReport(kind=ReportKind.final, state=ReportState.due,
                                             due_on=_add_months(end, 3)))
        for amount in entry.amounts:
            side = call.side(amount.agency_id)
            project.allocations.append(ProjectAllocation(
                agency_id=amount.agency_id, year=amount.year, amount=amount.amount, currency=side.currency))
        db.session.add(project)
        db.session.flush()
        log_action(actor, "project.create", project, after={"code": project.code, "proposal_id": proposal.id})
    # Reserve entries stay in reserve (a later decision may still fund them while the
    # call is not archived); every other proposal the committee did not fund is rejected.
    for entry in plist.entries:
        if entry.kind == EntryKind.reserve and entry.proposal.state in (ProposalState.reviewed,
                                                                        ProposalState.recommended):
            change_state(entry.proposal, ProposalState.reserve, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))
    for proposal in db.session.scalars(sa.select(Proposal).where(
            Proposal.call_id == call.id,
            Proposal.state.in_([ProposalState.not_recommended, ProposalState.recommended,
                                ProposalState.ineligible, ProposalState.reviewed]))):
        if proposal.id not in funded_ids:
            if proposal.state == ProposalState.reviewed:  # never given an outcome
                change_state(proposal, ProposalState.not_recommended, table=PROPOSAL_TRANSITIONS,
                             what=_("The proposal"))
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
    normalised: dict = field(default_factory=dict)  # agency_id -> Decimal | None
    tied: bool = False  # shares its combined score with another proposal going forward
    tie_break: TieBreak | None = None  # the recorded order that settles the tie

    @property
    def vetoed_by(self) -> list[int]:
        return [aid for aid, e in self.sides.items() if e is None or not e.passed]

    @property
    def tie_settled(self) -> bool:
        return self.tie_break is not None


def score_method(call: Call) -> ScoreMethod:
    setting = db.session.scalar(sa.select(SelectionSetting).filter_by(call_id=call.id))
    return setting.score_method if setting is not None else ScoreMethod.scale


def set_score_method(actor, call: Call, method: ScoreMethod) -> None:
    _require_secretariat(actor)
    setting = db.session.scalar(sa.select(SelectionSetting).filter_by(call_id=call.id))
    before = setting.score_method if setting else ScoreMethod.scale
    if setting is None:
        setting = SelectionSetting(call_id=call.id)
        db.session.add(setting)
    setting.score_method = method
    db.session.flush()
    log_action(actor, "call.score_method", call, before={"score_method": before}, after={"score_method": method})


FOUR = Decimal("0.0001")


def _normaliser(call: Call, method: ScoreMethod, values: list[Decimal]):
    """A function from one side's mean score to its normalised value."""
    if method == ScoreMethod.raw:
        return lambda x: x
    if method == ScoreMethod.scale:
        lo = min((c.scale_min for c in call.criteria), default=Decimal(0))
        hi = max((c.scale_max for c in call.criteria), default=Decimal(5))
        return lambda x: (x - lo) / (hi - lo)
    if method == ScoreMethod.minmax:
        lo, hi = min(values, default=Decimal(0)), max(values, default=Decimal(0))
        return lambda x: (x - lo) / (hi - lo) if hi > lo else Decimal(1)
    mean = sum(values, Decimal(0)) / len(values) if values else Decimal(0)
    var = sum(((v - mean) ** 2 for v in values), Decimal(0)) / len(values) if values else Decimal(0)
    sd = var.sqrt() if var > 0 else Decimal(0)
    return lambda x: (x - mean) / sd if sd > 0 else Decimal(0)


def joint_ranking(call: Call) -> list[JointRow]:
    """Both sides' rankings side by side; a proposal goes forward only if it passes
    both (each side has a veto); ordered by the combined score (the call's method,
    by default the mean of the sides' scores normalised by the scale); proposals going
    forward with the same combined score are flagged as tied, and a recorded tie-break
    settles their order."""
    entries = db.session.scalars(sa.select(RankingEntry).filter_by(call_id=call.id)).all()
    by_proposal: dict[int, dict[int, RankingEntry]] = defaultdict(dict)
    for e in entries:
        by_proposal[e.proposal_id][e.agency_id] = e
    proposals = db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(by_proposal.keys()))).all()
    method = score_method(call)
    normalise = {
        a.id: _normaliser(call, method, [e.mean_score for e in entries
                                         if e.agency_id == a.id and e.mean_score is not None])
        for a in call.agencies
    }
    rows = []
    for p in proposals:
        sides = {a.id: by_proposal[p.id].get(a.id) for a in call.agencies}
        normalised = {aid: normalise[aid](e.mean_score).quantize(FOUR)
                      if e is not None and e.mean_score is not None else None
                      for aid, e in sides.items()}
        values = [v for v in normalised.values() if v is not None]
        combined = (sum(values, Decimal(0)) / len(values)).quantize(FOUR) if len(values) == len(sides) else None
        passes = all(e is not None and e.passed for e in sides.values())
        rows.append(JointRow(p, sides, combined, passes, normalised))
    groups: dict[Decimal, list[JointRow]] = defaultdict(list)
    for r in rows:
        if r.passes_both and r.combined is not None:
            groups[r.combined].append(r)
    breaks = db.session.scalars(sa.select(TieBreak).filter_by(call_id=call.id).order_by(TieBreak.id.desc())).all()
    order: dict[int, int] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        ids = {r.proposal.id for r in group}
        settled = next((b for b in breaks if ids <= set(b.proposal_ids)), None)
        for r in group:
            r.tied, r.tie_break = True, settled
            if settled is not None:
                order[r.proposal.id] = settled.proposal_ids.index(r.proposal.id)
    rows.sort(key=lambda r: (not r.passes_both, r.combined is None, -(r.combined or 0),
                             order.get(r.proposal.id, 0), r.proposal.reference or ""))
    return rows


def break_tie(actor, call: Call, proposal_ids: list[int], reason: str) -> TieBreak:
    """Record the order of tied proposals (first ranks higher) and why."""
    _require_secretariat(actor)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for this order."))
    rows = {r.proposal.id: r for r in joint_ranking(call)}
    if len(proposal_ids) < 2 or len(set(proposal_ids)) != len(proposal_ids):
        raise DomainError(_("Order at least two different proposals."))
    tied = [rows.get(pid) for pid in proposal_ids]
    if any(r is None or not r.tied for r in tied) or len({r.combined for r in tied}) != 1:
        raise DomainError(_("Only proposals tied on the same combined score can be ordered this way."))
    tie = TieBreak(call_id=call.id, proposal_ids=list(proposal_ids), reason=reason, created_by_id=actor.id)
    db.session.add(tie)
    db.session.flush()
    log_action(actor, "call.tie_break", tie, after={"proposal_ids": proposal_ids, "reason": reason})
    return tie


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


def set_entry_amounts(actor, entry: ProjectListEntry, amounts: dict[tuple[int, int], Decimal],
                      reason: str = "") -> None:
    plist = entry.project_list
    if not plist.can_edit(actor):
        raise NotAllowed(_("Only a draft list can be changed; adopted lists are frozen."))
    before = {f"{a.agency_id}/{a.year}": a.amount for a in entry.amounts}
    current = {(a.agency_id, a.year): a for a in entry.amounts}
    changed = {k: v for k, v in amounts.items() if k not in current or current[k].amount != v}
    if not changed:
        return
    if not (reason or "").strip():
        raise DomainError(_("Give the reason for changing the amounts."))
    for key, value in amounts.items():
        if value is None or value < 0:
            raise DomainError(_("Amounts must be zero or more."))
        if key in current:
            current[key].amount = value
        else:
            entry.amounts.append(EntryAmount(agency_id=key[0], year=key[1], amount=value))
    log_action(actor, "project_list.amounts", plist, before=before | {"proposal_id": entry.proposal_id},
               after={f"{k[0]}/{k[1]}": v for k, v in changed.items()} | {"reason": reason.strip()})


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
    per_year: dict = defaultdict(Decimal)
    for entry in plist.entries:
        if entry.kind == EntryKind.funded:
            for a in entry.amounts:
                per_year[(a.agency_id, a.year)] += a.amount
    for (agency_id, year), envelope in year_envelopes(plist.call).items():
        if per_year.get((agency_id, year), Decimal(0)) > envelope:
            side = plist.call.side(agency_id)
            over.append(_("%(side)s year %(year)s: %(used)s > %(env)s %(cur)s", side=side.agency.short_name,
                          year=year, used=per_year[(agency_id, year)], env=envelope, cur=side.currency))
    if over:
        raise DomainError(_("The list exceeds a side's budget envelope (%(over)s).", over="; ".join(over)))
    before = change_state(plist, ProjectListState.proposed, table=PROJECT_LIST_TRANSITIONS, what=_("The project list"))
    log_action(actor, "project_list.propose", plist, before={"state": before}, after={"state": plist.state})
    return plist


# --- funding plan ("virtual common pot") and scenarios ------------------------------------

def year_envelopes(call: Call) -> dict[tuple[int, int], Decimal]:
    """Each side's envelope per project year, in its own currency: the recorded per-year
    envelope, or else the side's whole envelope spread evenly over the years."""
    years = project_years(call)
    recorded = {(e.agency_id, e.year): e.amount
                for e in db.session.scalars(sa.select(YearEnvelope).filter_by(call_id=call.id))}
    result = {}
    for side in call.sides:
        even = _split(side.budget_envelope, years)
        for year in range(1, years + 1):
            result[(side.agency_id, year)] = recorded.get((side.agency_id, year), even[year - 1])
    return result


def set_year_envelopes(actor, call: Call, amounts: dict[tuple[int, int], Decimal]) -> None:
    _require_secretariat(actor)
    current = {(e.agency_id, e.year): e for e in db.session.scalars(sa.select(YearEnvelope).filter_by(call_id=call.id))}
    for (agency_id, year), value in amounts.items():
        if value is None or value < 0:
            raise DomainError(_("Amounts must be zero or more."))
        if (agency_id, year) in current:
            current[(agency_id, year)].amount = value
        else:
            db.session.add(YearEnvelope(call_id=call.id, agency_id=agency_id, year=year, amount=value))
    db.session.flush()
    log_action(actor, "call.year_envelopes", call, after={f"{a}/{y}": v for (a, y), v in amounts.items()})


@dataclass
class FundingStop:
    proposal: Proposal
    agency_id: int
    year: int
    left: Decimal
    needed: Decimal


def plan_funding(actor, call: Call) -> ProjectList:
    """A draft list (a scenario) made by walking down the joint ranking: each proposal
    that passes both sides is funded while EACH side's envelope for EACH year still
    covers that side's amount; the first that does not fit stops the funded list (the
    notes say which side's envelope ran out, for which year) and it and the rest go to
    the reserve list, in order."""
    _require_secretariat(actor)
    version = (db.session.scalar(sa.select(sa.func.max(ProjectList.version)).filter_by(call_id=call.id)) or 0) + 1
    plist = ProjectList(call=call, version=version, created_by_id=actor.id)
    db.session.add(plist)
    years = project_years(call)
    left = year_envelopes(call)
    stop: FundingStop | None = None
    position = 0
    for row in joint_ranking(call):
        p = row.proposal
        if not row.passes_both or p.state not in SELECTABLE:
            continue
        need = {(side.agency_id, year): amount for side in p.sides
                for year, amount in enumerate(_split(side.requested_amount, years), start=1)}
        if stop is None:
            short = next(((aid, y) for (aid, y), amount in sorted(need.items(), key=lambda kv: (kv[0][1], kv[0][0]))
                          if amount > left.get((aid, y), Decimal(0))), None)
            if short is not None:
                stop = FundingStop(p, short[0], short[1], left.get(short, Decimal(0)), need[short])
        kind = EntryKind.funded if stop is None else EntryKind.reserve
        if kind == EntryKind.funded:
            for key, amount in need.items():
                left[key] -= amount
        entry = ProjectListEntry(proposal=p, position=position, kind=kind)
        position += 1
        for (agency_id, year), amount in need.items():
            entry.amounts.append(EntryAmount(agency_id=agency_id, year=year, amount=amount))
        plist.entries.append(entry)
    if not plist.entries:
        raise DomainError(_("No proposal passes both sides yet; nothing to fund."))
    if stop is not None:
        side = call.side(stop.agency_id)
        plist.notes = _("Funding stops at %(ref)s: the %(side)s envelope for year %(year)s has "
                        "%(left)s %(cur)s left and it needs %(need)s %(cur)s.",
                        ref=stop.proposal.reference, side=side.agency.short_name, year=stop.year,
                        left=stop.left, need=stop.needed, cur=side.currency)
    else:
        plist.notes = _("Every proposal passing both sides fits within both envelopes.")
    db.session.flush()
    log_action(actor, "project_list.plan", plist, after={
        "version": version, "funded": sum(1 for e in plist.entries if e.kind == EntryKind.funded),
        "stop": plist.notes})
    return plist


SELECTABLE = {ProposalState.reviewed, ProposalState.recommended, ProposalState.reserve}


def move_entry(actor, entry: ProjectListEntry, *, kind: EntryKind, position: int, reason: str) -> None:
    """Move a proposal within a draft list (between funded and reserve, or up and down),
    with a recorded reason."""
    plist = entry.project_list
    if not plist.can_edit(actor):
        raise NotAllowed(_("Only a draft list can be changed; adopted lists are frozen."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for this change."))
    before = {"kind": entry.kind, "position": entry.position}
    others = [e for e in plist.entries if e.id != entry.id]
    position = max(0, min(position, len(others)))
    others.insert(position, entry)
    for i, e in enumerate(others):
        e.position = i
    entry.kind = kind
    log_action(actor, "project_list.move", plist, before=before | {"proposal_id": entry.proposal_id},
               after={"kind": kind, "position": position, "reason": reason})


@dataclass
class Scenario:
    plist: ProjectList
    totals: dict  # (agency_id, year) -> Decimal funded
    funded: set  # proposal ids
    added: set  # funded here, not in the first scenario
    dropped: set  # funded in the first scenario, not here


def compare_scenarios(call: Call, lists: list[ProjectList]) -> list[Scenario]:
    """Draft plans side by side: totals per side and year, and which proposals each
    funds compared with the first."""
    result = []
    base: set | None = None
    for plist in lists:
        totals: dict = defaultdict(Decimal)
        funded = set()
        for entry in plist.entries:
            if entry.kind == EntryKind.funded:
                funded.add(entry.proposal_id)
                for a in entry.amounts:
                    totals[(a.agency_id, a.year)] += a.amount
        if base is None:
            base = funded
        result.append(Scenario(plist, dict(totals), funded, funded - base, base - funded))
    return result



# --- meetings: status, standing report, written procedure, superseding ------------------

def change_meeting_status(actor, meeting: Meeting, status: MeetingStatus) -> Meeting:
    _require_secretariat(actor)
    before = change_state(meeting, status, table=MEETING_TRANSITIONS, what=_("The meeting"), attr="status")
    log_action(actor, "meeting.status", meeting, before={"status": before}, after={"status": status})
    if status == MeetingStatus.held:
        _queue_minutes(meeting)
    return meeting


def _queue_minutes(meeting: Meeting) -> None:
    """Build the minutes PDF in the background once the change is committed."""
    from workers.committee import generate_minutes

    after_commit(lambda mid=meeting.id: generate_minutes.delay(mid))


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
    _require_secretariat(actor)
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
    _require_secretariat(actor)
    if old.state != DecisionState.adopted:
        raise DomainError(_("Only an adopted decision can be superseded; edit the draft instead."))
    if item is None:
        new = draft_written_decision(actor, old.committee, kind=old.kind, title=title, text=text, supersedes=old)
    else:
        new = draft_decision(actor, item, kind=old.kind, title=title, text=text)
        new.supersedes = old
    log_action(actor, "decision.supersede_draft", new, after={"supersedes": old.number})
    return new


# --- letters ------------------------------------------------------------------------------

def decision_letters(decision: Decision) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-%")).order_by(OutboxMessage.id)))


def release_letter(actor, decision: Decision, message: OutboxMessage) -> bool:
    """Release one held letter; releasing it again changes nothing."""
    _require_secretariat(actor)
    if decision.state != DecisionState.adopted:
        raise DomainError(_("Letters wait until the decision is adopted."))
    if not message.idempotency_key.startswith(f"letter-{decision.id}-"):
        raise DomainError(_("This letter belongs to another decision."))
    released = release_message(message, actor)
    log_action(actor, "decision.release_letter", decision, after={"message_id": message.id, "released": released})
    return released


# --- projects: reports, renewal, mobility ---------------------------------------------------

def submit_report(actor, project: Project, kind: ReportKind, text: str) -> ProjectReport:
    """Either PI submits the joint interim or final report."""
    if not any(side.pi_user_id == actor.id for side in project.proposal.sides):
        raise NotAllowed(_("Only a principal investigator of the project may submit its reports."))
    if project.status in (ProjectStatus.completed, ProjectStatus.stopped):
        raise DomainError(_("The project is %(s)s.", s=project.status.label))
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write the report before submitting it."))
    if kind == ReportKind.final and project.status == ProjectStatus.active and project_years(project.project_list.call) > 1:
        raise DomainError(_("The final report follows the renewal for the second year."))
    report = next((r for r in project.reports if r.kind == kind), None)
    if report is None:
        report = ProjectReport(project=project, kind=kind, state=ReportState.due)
        db.session.add(report)
    if report.state != ReportState.due:
        raise DomainError(_("This report is already submitted."))
    report.text, report.state = text, ReportState.submitted
    report.submitted_at, report.submitted_by_id = utcnow(), actor.id
    db.session.flush()
    log_action(actor, "project.report", project, after={"kind": kind, "report_id": report.id})
    return report


def decide_project(actor, project: Project, decision: Decision, status: ProjectStatus) -> Project:
    """An adopted later decision renews (second year, after the interim report) or
    stops the project; the final report completes it."""
    _require_secretariat(actor)
    if decision.state != DecisionState.adopted:
        raise DomainError(_("Only an adopted decision can renew or stop a project."))
    if decision.id == project.decision_id:
        raise DomainError(_("Renewal or stop needs a later decision than the one that adopted the project."))
    interim = next((r for r in project.reports if r.kind == ReportKind.interim), None)
    if status == ProjectStatus.renewed and (interim is None or interim.state == ReportState.due):
        raise DomainError(_("The interim report conditions the second year; it is not submitted yet."))
    if status == ProjectStatus.completed:
        final = next((r for r in project.reports if r.kind == ReportKind.final), None)
        if final is None or final.state == ReportState.due:
            raise DomainError(_("The final report is not submitted yet."))
    before = change_state(project, status, table=PROJECT_TRANSITIONS, what=_("The project"), attr="status")
    if interim is not None and status in (ProjectStatus.renewed, ProjectStatus.stopped):
        interim.state = ReportState.accepted if status == ProjectStatus.renewed else interim.state
    log_action(actor, "project.status", project, before={"status": before},
               after={"status": status, "decision": decision.number})
    return project


def record_trip(actor, project: Project, *, planned_trip_id: int | None, from_agency_id: int,
                to_agency_id: int, traveller: str, days: int, year: int, started_on=None) -> TripDone:
    if not (any(side.pi_user_id == actor.id for side in project.proposal.sides)
            or actor.is_secretariat or actor.is_admin):
        raise NotAllowed(_("Only a principal investigator or the secretariat may record a trip."))
    if days is None or days < 1 or year is None or year < 1:
        raise DomainError(_("Days and project year must be at least 1."))
    if planned_trip_id is not None and planned_trip_id not in {t.id for t in project.proposal.trips}:
        raise DomainError(_("This planned trip belongs to another project."))
    trip = TripDone(project_id=project.id, planned_trip_id=planned_trip_id, from_agency_id=from_agency_id,
                    to_agency_id=to_agency_id, traveller=traveller.strip(), days=days, year=year,
                    started_on=started_on, recorded_by_id=actor.id)
    db.session.add(trip)
    db.session.flush()
    log_action(actor, "project.trip", project, after={"trip_id": trip.id, "days": days, "year": year})
    return trip


def mobility_against_plan(project: Project) -> list[dict]:
    """Per planned trip: the trips done against it; then the trips done off plan."""
    done = db.session.scalars(sa.select(TripDone).filter_by(project_id=project.id).order_by(TripDone.id)).all()
    rows = []
    for trip in sorted(project.proposal.trips, key=lambda t: (t.year, t.id)):
        matched = [d for d in done if d.planned_trip_id == trip.id]
        rows.append({"planned": trip, "done": matched, "days_done": sum(d.days for d in matched)})
    extra = [d for d in done if d.planned_trip_id is None]
    if extra:
        rows.append({"planned": None, "done": extra, "days_done": sum(d.days for d in extra)})
    return rows


# --- closing a call's selection -------------------------------------------------------

def archive_call(actor, call: Call) -> list[Proposal]:
    """Close a decided call's selection for good: proposals still on the reserve
    list are rejected (the reserve lives only until the call is closed) and their
    PIs are told. Returns the proposals rejected."""
    _require_secretariat(actor)
    before = change_state(call, CallState.archived, table=CALL_TRANSITIONS, what=_("The call"))
    reserve = db.session.scalars(sa.select(Proposal).where(
        Proposal.call_id == call.id, Proposal.state == ProposalState.reserve)).all()
    for proposal in reserve:
        change_state(proposal, ProposalState.rejected, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))
        log_action(actor, "proposal.reserve_closed", proposal, before={"state": ProposalState.reserve},
                   after={"state": ProposalState.rejected})
        for side in proposal.sides:
            if side.pi is not None:
                queue_email(to=side.pi, template="reserve_closed",
                            key=f"reserve-closed-{proposal.id}-{side.agency_id}",
                            context={"proposal": proposal, "call": call})
    log_action(actor, "call.archive", call, before={"state": before},
               after={"state": call.state, "reserve_rejected": [p.id for p in reserve]})
    return reserve
