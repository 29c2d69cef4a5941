"""Writers for joint proposals: start, invite the partner, join, edit, confirm,
submit, withdraw, and each side's eligibility decision. None of them commits."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from cfp.calls.models import Call
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import queue_email
from cfp.core.urls import external_url
from cfp.core.roles import Role
from cfp.core.states import change_state
from cfp.core.timezones import format_instant
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import (
    PROPOSAL_TRANSITIONS, EligibilityCheck, EligibilityStatus, PartnerInvitation, Proposal,
    ProposalSide, ProposalState, ProposalVersion,
)

INVITATION_DAYS = 14
WHAT = "The proposal"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _move(proposal: Proposal, target: ProposalState):
    return change_state(proposal, target, table=PROPOSAL_TRANSITIONS, what=_(WHAT))


def _require_verified(actor) -> None:
    if not actor.can_apply():
        raise NotAllowed(_("Verify your email address first: follow the link we emailed you, "
                           "or ask for a new one on your account page."))


@dataclass
class ProposalContent:
    title: str
    acronym: str = ""
    abstract: str = ""
    keywords: str = ""
    priority_area_id: int | None = None
    duration_months: int | None = None
    # per side (agency_id -> value)
    institutions: dict[int, str] | None = None
    requested_amounts: dict[int, Decimal] | None = None


def snapshot(proposal: Proposal) -> dict:
    return {
        "title": proposal.title, "acronym": proposal.acronym, "abstract": proposal.abstract,
        "keywords": proposal.keywords, "priority_area_id": proposal.priority_area_id,
        "duration_months": proposal.duration_months,
        "sides": {
            str(s.agency_id): {"institution": s.institution, "requested_amount": str(s.requested_amount)}
            for s in proposal.sides
        },
    }


def _apply(proposal: Proposal, content: ProposalContent) -> None:
    call = proposal.call
    if content.priority_area_id is not None and content.priority_area_id not in {
        a.id for a in call.priority_areas
    }:
        raise DomainError(_("Choose one of the call's priority areas."))
    proposal.title = content.title.strip()
    proposal.acronym = (content.acronym or "").strip()
    proposal.abstract = content.abstract or ""
    proposal.keywords = (content.keywords or "").strip()
    proposal.priority_area_id = content.priority_area_id
    proposal.duration_months = content.duration_months
    for side in proposal.sides:
        if content.institutions and side.agency_id in content.institutions:
            side.institution = (content.institutions[side.agency_id] or "").strip()
        if content.requested_amounts and side.agency_id in content.requested_amounts:
            amount = content.requested_amounts[side.agency_id]
            side.requested_amount = Decimal(amount or 0)


def start_proposal(actor, call: Call, content: ProposalContent) -> Proposal:
    if not actor.has_role(Role.researcher):
        raise NotAllowed(_("Only researchers may start a proposal."))
    _require_verified(actor)
    if not call.accepts_submissions():
        raise DomainError(_("The call %(ref)s is not open.", ref=call.reference))
    agency_ids = [a.id for a in call.agencies]
    if actor.agency_id not in agency_ids:
        raise DomainError(_("Your account's side takes no part in this call."))
    proposal = Proposal(call=call, created_by_id=actor.id, state=ProposalState.draft, title="")
    proposal.sides = [
        ProposalSide(agency_id=aid, pi_user_id=actor.id if aid == actor.agency_id else None,
                     institution=(actor.affiliation or "") if aid == actor.agency_id else "")
        for aid in agency_ids
    ]
    db.session.add(proposal)
    _apply(proposal, content)
    db.session.flush()
    db.session.add(ProposalVersion(proposal_id=proposal.id, version=1, snapshot=snapshot(proposal),
                                   created_by_id=actor.id))
    log_action(actor, "proposal.start", proposal, after=snapshot(proposal))
    return proposal


def save_proposal(actor, proposal: Proposal, expected_version: int, content: ProposalContent) -> Proposal:
    """Save a draft. Refused when someone saved since `expected_version` was read."""
    if not proposal.can_edit(actor):
        raise NotAllowed(_("This proposal can no longer be edited."))
    if expected_version != proposal.version:
        raise StaleProposal(proposal)
    before = snapshot(proposal)
    _apply(proposal, content)
    after = snapshot(proposal)
    if after == before:
        return proposal
    proposal.version = expected_version + 1  # checked against the row by the UPDATE
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleProposal(db.session.get(Proposal, proposal.id)) from None
    db.session.add(ProposalVersion(proposal_id=proposal.id, version=proposal.version,
                                   snapshot=after, created_by_id=actor.id))
    log_action(actor, "proposal.save", proposal, before=before, after=after)
    return proposal


class StaleProposal(DomainError):
    def __init__(self, proposal: Proposal):
        super().__init__(
            _("Your partner saved this proposal while you were editing it (now version %(v)s). "
              "Your text is kept below; compare, then save again.", v=proposal.version)
        )
        self.proposal = proposal


def invite_partner(actor, proposal: Proposal, email: str) -> PartnerInvitation:
    side = proposal.pi_side(actor)
    if side is None or not proposal.can_edit(actor):
        raise NotAllowed(_("Only a PI of a draft proposal may invite the partner."))
    other = next(s for s in proposal.sides if s.agency_id != side.agency_id)
    if other.pi_user_id is not None:
        raise DomainError(_("The partner PI has already joined."))
    token = secrets.token_urlsafe(32)
    invitation = PartnerInvitation(
        proposal_id=proposal.id, agency_id=other.agency_id, email=email.strip().lower(),
        token_hash=_hash(token), invited_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    queue_email(
        to=invitation.email, template="partner_invitation", key=f"partner-invitation-{invitation.id}",
        context={"proposal": proposal, "inviter": actor, "agency": other.agency,
                 "link": external_url("proposals.join", token=token),
                 "expires_at": format_instant(invitation.expires_at, other.agency.timezone)},
    )
    log_action(actor, "proposal.invite_partner", proposal, after={"email": invitation.email})
    return invitation


def find_invitation(token: str) -> PartnerInvitation | None:
    return db.session.scalar(sa.select(PartnerInvitation).filter_by(token_hash=_hash(token)))


def join_proposal(actor, token: str) -> Proposal:
    invitation = find_invitation(token)
    if invitation is None:
        raise DomainError(_("This invitation link is not valid."))
    if invitation.accepted_at is not None:
        raise DomainError(_("This invitation has already been used."))
    if invitation.expires_at < utcnow():
        raise DomainError(_("This invitation has expired; ask your partner for a new one."))
    proposal = invitation.proposal
    side = proposal.side(invitation.agency_id)
    if side.pi_user_id is not None:
        raise DomainError(_("The partner PI has already joined."))
    if actor.agency_id != invitation.agency_id:
        raise DomainError(
            _("The partner PI must be of the %(side)s side; your account is of another side.",
              side=invitation.agency.short_name)
        )
    if proposal.pi_side(actor) is not None:
        raise DomainError(_("You are already a PI of this proposal."))
    side.pi_user_id = actor.id
    if not side.institution:
        side.institution = actor.affiliation or ""
    actor.grant(Role.researcher)
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = actor.id
    log_action(actor, "proposal.join", proposal, after={"agency_id": side.agency_id})
    return proposal


def confirm_proposal(actor, proposal: Proposal, version: int) -> ProposalSide:
    side = proposal.pi_side(actor)
    if side is None or proposal.state != ProposalState.draft:
        raise NotAllowed(_("Only a PI of a draft proposal may confirm it."))
    if version != proposal.version:
        raise DomainError(_("The proposal changed since you read it; read version %(v)s and confirm again.",
                            v=proposal.version))
    side.confirmed_version = version
    side.confirmed_at = utcnow()
    log_action(actor, "proposal.confirm", proposal, after={"version": version, "agency_id": side.agency_id})
    return side


def missing_for_submission(proposal: Proposal) -> list[str]:
    """Everything that prevents submission, each as a sentence."""
    missing = []
    if not proposal.title.strip():
        missing.append(_("a title"))
    if not proposal.abstract.strip():
        missing.append(_("an abstract"))
    elif len(proposal.abstract.split()) > proposal.call.abstract_word_limit:
        missing.append(_("an abstract of at most %(n)s words", n=proposal.call.abstract_word_limit))
    if proposal.priority_area_id is None:
        missing.append(_("a priority area"))
    for side in proposal.sides:
        call_side = proposal.call.side(side.agency_id)
        if side.pi_user_id is None:
            missing.append(_("the PI of the %(side)s side", side=side.agency.short_name))
        if call_side and side.requested_amount > call_side.max_request:
            missing.append(_("a %(side)s request within the cap of %(cap)s %(cur)s",
                             side=side.agency.short_name, cap=call_side.max_request, cur=call_side.currency))
    if proposal.both_pis_present and not proposal.both_confirmed:
        missing.append(_("both PIs' confirmation of version %(v)s", v=proposal.version))
    return missing


def submit_proposal(actor, proposal: Proposal, now: datetime | None = None) -> Proposal:
    now = now or utcnow()
    if proposal.pi_side(actor) is None:
        raise NotAllowed(_("Only a PI may submit the proposal."))
    _require_verified(actor)
    call = db.session.scalar(sa.select(Call).where(Call.id == proposal.call_id).with_for_update())
    if not call.accepts_submissions(now):
        raise DomainError(
            _("Submissions closed at %(deadline)s; this one arrived at %(now)s.",
              deadline=format_instant(call.closes_at, actor.effective_timezone),
              now=format_instant(now, actor.effective_timezone))
            if now >= call.closes_at else _("The call is not open.")
        )
    if proposal.state != ProposalState.draft:
        _move(proposal, ProposalState.submitted)  # raises the clear "cannot go" message
    missing = missing_for_submission(proposal)
    if missing:
        raise DomainError(_("The proposal cannot be submitted yet. Missing: %(list)s.",
                            list="; ".join(str(m) for m in missing)))
    _move(proposal, ProposalState.submitted)
    call.submitted_count += 1
    proposal.reference = f"{call.reference}-{call.submitted_count:03d}"
    proposal.submitted_at = now
    for side in proposal.sides:
        db.session.add(EligibilityCheck(proposal=proposal, agency_id=side.agency_id))
    db.session.flush()
    for side in proposal.sides:
        queue_email(
            to=side.pi, template="submission_receipt",
            key=f"receipt-{proposal.id}-{side.agency_id}",
            context={"proposal": proposal, "submitted_at": format_instant(now, side.pi.effective_timezone)},
        )
    log_action(actor, "proposal.submit", proposal, before={"state": ProposalState.draft},
               after={"state": proposal.state, "reference": proposal.reference})
    return proposal


def withdraw_proposal(actor, proposal: Proposal, reason: str) -> Proposal:
    if not proposal.can_withdraw(actor):
        raise NotAllowed(_("You cannot withdraw this proposal."))
    if not reason.strip():
        raise DomainError(_("Give a reason for the withdrawal."))
    before = _move(proposal, ProposalState.withdrawn)
    proposal.withdrawn_reason = reason.strip()
    for side in proposal.sides:
        if side.pi is not None and side.pi_user_id != actor.id:
            queue_email(to=side.pi, template="proposal_withdrawn", key=f"withdrawn-{proposal.id}-{side.agency_id}",
                        context={"proposal": proposal, "actor": actor, "reason": proposal.withdrawn_reason})
    log_action(actor, "proposal.withdraw", proposal, before={"state": before},
               after={"state": proposal.state, "reason": proposal.withdrawn_reason})
    return proposal


def decide_eligibility(actor, check: EligibilityCheck, eligible: bool, reason: str = "") -> EligibilityCheck:
    """Staff of one side decide their side's eligibility; the proposal is eligible
    only when both sides say so, ineligible as soon as one side says no."""
    if not check.can_decide(actor):
        raise NotAllowed(_("Only staff of this side may decide its eligibility."))
    if not eligible and not reason.strip():
        raise DomainError(_("Give the reason why the proposal is ineligible."))
    before = {"status": check.status, "reason": check.reason}
    check.status = EligibilityStatus.eligible if eligible else EligibilityStatus.ineligible
    check.reason = reason.strip() or None
    check.decided_by_id = actor.id
    check.decided_at = utcnow()
    log_action(actor, "eligibility.decide", check, before=before,
               after={"status": check.status, "reason": check.reason, "proposal_id": check.proposal_id})
    proposal = check.proposal
    statuses = {c.status for c in proposal.eligibility_checks}
    target = None
    if EligibilityStatus.ineligible in statuses:
        target = ProposalState.ineligible
    elif statuses == {EligibilityStatus.eligible}:
        target = ProposalState.eligible
    if target is not None and proposal.state != target:
        old = _move(proposal, target)
        log_action(actor, "proposal.eligibility", proposal, before={"state": old}, after={"state": target})
        if target == ProposalState.ineligible:
            reasons = "; ".join(
                f"{c.agency.short_name}: {c.reason}" for c in proposal.eligibility_checks
                if c.status == EligibilityStatus.ineligible
            )
            for side in proposal.sides:
                queue_email(to=side.pi, template="proposal_ineligible",
                            key=f"ineligible-{proposal.id}-{side.agency_id}-{check.id}-{check.decided_at.timestamp():.0f}",
                            context={"proposal": proposal, "reasons": reasons})
    return check
