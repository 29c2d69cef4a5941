"""Adoption of a project list (called by the decision that adopts it), decision letters,
and the archiving of a call's selection."""
from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.calls.models import CALL_TRANSITIONS, Call, CallState
from cfp.core.audit import log_action
from cfp.core.errors import DomainError
from cfp.core.outbox import MessageStatus, OutboxMessage, queue_email, release_message
from cfp.core.roles import require_secretariat
from cfp.core.states import change_state
from cfp.extensions import db
from cfp.projects.operations import create_project, projects_adopted_by
from cfp.proposals.models import PROPOSAL_TRANSITIONS, Proposal, ProposalState
from cfp.selection.models import (
    PROJECT_LIST_TRANSITIONS,
    EntryKind,
    ProjectList,
    ProjectListState,
)

if TYPE_CHECKING:
    from cfp.meetings.models import Decision


def adopt_project_list(actor, decision: Decision, plist: ProjectList) -> None:
    """The seam between the committee's decision and its selection: the decision that
    adopts `plist` freezes it, funds its funded entries (each becomes a project), keeps
    the reserve, rejects what the committee did not fund, and writes the letters."""
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
        create_project(actor, decision, entry, n)
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
    projects = {p.proposal_id: p for p in projects_adopted_by(decision)}
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
    require_secretariat(actor)
    if not decision.is_adopted:
        raise DomainError(_("Letters wait until the decision is adopted."))
    messages = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-%"),
        OutboxMessage.status == MessageStatus.held)).all()
    released = sum(release_message(m, actor) for m in messages)
    log_action(actor, "decision.release_letters", decision, after={"released": released})
    return released


def decision_letters(decision: Decision) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-%")).order_by(OutboxMessage.id)))


def release_letter(actor, decision: Decision, message: OutboxMessage) -> bool:
    """Release one held letter; releasing it again changes nothing."""
    require_secretariat(actor)
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
    require_secretariat(actor)
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
