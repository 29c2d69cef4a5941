"""Adoption of a project list (called by the decision that adopts it), decision letters,
and the archiving of a call's selection."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.calls.models import CALL_TRANSITIONS, Call, CallState
from cfp.core.audit import log_action
from cfp.core.errors import DomainError
from cfp.core.outbox import MessageStatus, OutboxMessage, queue_email, release_message
from cfp.core.roles import require_secretariat
from cfp.core.states import change_state
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.projects.operations import (
    amend_allocations,
    create_project,
    project_of,
    projects_adopted_by,
    stop_by_decision,
)
from cfp.proposals.models import PROPOSAL_TRANSITIONS, Proposal, ProposalState
from cfp.selection.amendments import Difference, list_difference
from cfp.selection.funding import SELECTABLE
from cfp.selection.models import (
    PROJECT_LIST_TRANSITIONS,
    EntryKind,
    ProjectList,
    ProjectListState,
)

if TYPE_CHECKING:
    from cfp.meetings.models import Decision


DECIDABLE = SELECTABLE  # a list decides only what the plan could place on it


def check_adoptable(plist: ProjectList) -> None:
    """Refuse (with the reason) a list that cannot be adopted as it stands."""
    if plist.state != ProjectListState.proposed:
        raise DomainError(_("The project list must be proposed to be adopted."))
    funded_before = ({e.proposal_id for e in plist.amends.entries if e.kind == EntryKind.funded}
                     if plist.amends is not None else set())
    waiting = [e.proposal for e in plist.entries
               if e.proposal.state not in DECIDABLE and e.proposal_id not in funded_before]
    if waiting:
        raise DomainError(_("These proposals on the list cannot be decided yet: %(which)s.", which="; ".join(
            f"{p.reference or p.title} ({p.state.label})" for p in waiting)))


def adopt_project_list(actor, decision: Decision, plist: ProjectList) -> None:
    """The seam between the committee's decision and its selection: the decision that
    adopts `plist` freezes it, funds its funded entries (each becomes a project), keeps
    the reserve, rejects what the committee did not fund, and writes a letter to both
    PIs of each proposal whose outcome this decision settles, and to no one else."""
    check_adoptable(plist)
    change_state(plist, ProjectListState.adopted, table=PROJECT_LIST_TRANSITIONS, what=_("The project list"))
    call = plist.call
    changes = list_difference(plist)  # an amendment: what it changes in the list it replaces
    if plist.amends is not None:
        change_state(plist.amends, ProjectListState.superseded, table=PROJECT_LIST_TRANSITIONS,
                     what=_("The project list"))
    for other in db.session.scalars(sa.select(ProjectList).where(
            ProjectList.call_id == call.id, ProjectList.id != plist.id,
            ProjectList.state.in_([ProjectListState.draft, ProjectListState.proposed]))):
        other.state = ProjectListState.superseded
    decided: list[Proposal] = []
    for entry in plist.entries:
        if entry.kind != EntryKind.funded:
            continue
        if entry.proposal.state == ProposalState.funded:  # kept by an amendment
            if amend_allocations(actor, project_of(entry.proposal_id), decision, entry):
                decided.append(entry.proposal)
            continue
        if entry.proposal.state == ProposalState.reviewed:  # placed by the funding plan directly
            _move(entry.proposal, ProposalState.recommended)
        _move(entry.proposal, ProposalState.funded)
        decided.append(entry.proposal)
        create_project(actor, decision, entry)
    # Reserve entries stay in reserve (a later decision may still fund them while the
    # call is not archived); every other proposal the committee did not fund is rejected.
    for proposal in changes.removed:  # an amendment no longer funds it
        stop_by_decision(actor, project_of(proposal.id), decision)
        decided.append(proposal)
    told = _proposals_with_letters(call)
    for entry in plist.entries:
        if entry.kind != EntryKind.reserve:
            continue
        if entry.proposal.state in (ProposalState.reviewed, ProposalState.recommended):
            _move(entry.proposal, ProposalState.reserve)
        if entry.proposal.id not in told:  # on the reserve list: said once, by the first decision
            decided.append(entry.proposal)
    for proposal in db.session.scalars(sa.select(Proposal).where(
            Proposal.call_id == call.id,
            Proposal.state.in_([ProposalState.not_recommended, ProposalState.recommended,
                                ProposalState.ineligible, ProposalState.reviewed]))):
        if proposal.state == ProposalState.reviewed:  # never given an outcome
            _move(proposal, ProposalState.not_recommended)
        _move(proposal, ProposalState.rejected)
        decided.append(proposal)
    if call.state == CallState.in_selection:
        change_state(call, CallState.decided, table=CALL_TRANSITIONS, what=_("The call"))
        call.decided_at = utcnow()
    funded = sum(1 for p in decided if p.state == ProposalState.funded)
    log_action(actor, "project_list.adopted", plist, after={"decision_id": decision.id, "funded": funded})
    _queue_letters(decision, decided, changes)


def _proposals_with_letters(call: Call) -> set[int]:
    """Proposals of `call` that an earlier decision already wrote to."""
    keys = db.session.scalars(sa.select(OutboxMessage.idempotency_key).where(
        OutboxMessage.call_id == call.id, OutboxMessage.idempotency_key.startswith("letter-")))
    return {int(key.split("-")[2]) for key in keys}


def _move(proposal: Proposal, state: ProposalState) -> None:
    change_state(proposal, state, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))


def _queue_letters(decision: Decision, decided: list[Proposal], changes: Difference) -> None:
    """Decision letters to both PIs of each proposal `decision` decided, held for release."""
    projects = {p.proposal_id: p for p in projects_adopted_by(decision)}
    amended = {p.id for p in changes.changed_proposals}
    stopped = {p.id for p in changes.removed}
    for proposal in decided:
        if proposal.id in amended | stopped:
            projects[proposal.id] = project_of(proposal.id)
        for side in proposal.sides:
            if side.pi is None:
                continue
            queue_email(
                to=side.pi, template="decision_letter", hold=True,
                key=f"letter-{decision.id}-{proposal.id}-{side.agency_id}",
                context={"proposal": proposal, "decision": decision, "project": projects.get(proposal.id),
                         "change": "amended" if proposal.id in amended else
                                   "stopped" if proposal.id in stopped else None},
            )


def release_letters(actor, decision: Decision) -> int:
    require_secretariat(actor, decision.committee_id)
    if not decision.is_adopted:
        raise DomainError(_("Letters wait until the decision is adopted."))
    messages = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-%"),
        OutboxMessage.status == MessageStatus.held)).all()
    released = sum(release_message(m, actor) for m in messages)
    log_action(actor, "decision.release_letters", decision, after={"released": released})
    return released


@dataclass
class Letter:
    message: OutboxMessage
    proposal: Proposal
    outcome: str  # "funded", "amended", "stopped", "reserve" or "not funded", as this decision said


def letter_summary(decision: Decision) -> list[Letter]:
    """Each letter of a decision with its proposal and the outcome it tells."""
    messages = decision_letters(decision)
    ids = {int(m.idempotency_key.split("-")[2]) for m in messages}
    proposals = {p.id: p for p in db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(ids)))}
    funded = {p.proposal_id for p in projects_adopted_by(decision)}
    plist = decision.project_list
    reserve = {e.proposal_id for e in plist.entries if e.kind == EntryKind.reserve} if plist else set()
    changes = list_difference(plist) if plist else Difference()
    amended, stopped = {p.id for p in changes.changed_proposals}, {p.id for p in changes.removed}
    rows = []
    for m in messages:
        pid = int(m.idempotency_key.split("-")[2])
        outcome = ("funded" if pid in funded else "amended" if pid in amended else "stopped" if pid in stopped
                   else "reserve" if pid in reserve else "not funded")
        rows.append(Letter(m, proposals[pid], outcome))
    return sorted(rows, key=lambda r: (r.proposal.reference or "", r.message.recipient))


def decision_letters(decision: Decision) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-%")).order_by(OutboxMessage.id)))


def release_letter(actor, decision: Decision, message: OutboxMessage) -> bool:
    """Release one held letter; releasing it again changes nothing."""
    require_secretariat(actor, decision.committee_id)
    if not decision.is_adopted:
        raise DomainError(_("Letters wait until the decision is adopted."))
    if not message.idempotency_key.startswith(f"letter-{decision.id}-"):
        raise DomainError(_("This letter belongs to another decision."))
    released = release_message(message, actor)
    log_action(actor, "decision.release_letter", decision, after={"message_id": message.id, "released": released})
    return released


def archive_call(actor, call: Call) -> list[Proposal]:
    """Close a decided call's selection for good: proposals still on the reserve
    list are rejected (the reserve lives only until the call is closed) and their
    PIs are told. Returns the proposals rejected."""
    require_secretariat(actor, call.committee_id)
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
