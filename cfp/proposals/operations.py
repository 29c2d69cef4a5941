"""Writers for joint proposals: start, invite the partner, join, edit, confirm,
submit, withdraw, and each side's eligibility decision. None of them commits."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from cfp.auth.models import verified_account
from cfp.calls.models import Call, CallState, Stages
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.languages import items
from cfp.core.outbox import queue_email
from cfp.core.roles import Role
from cfp.core.states import change_state
from cfp.core.tasks import queue_task
from cfp.core.timezones import format_instant
from cfp.core.types import utcnow
from cfp.core.urls import external_url
from cfp.extensions import db
from cfp.proposals.content import ProposalContent, apply_content, side_totals, snapshot
from cfp.proposals.limits import over_limits
from cfp.proposals.models import (
    PROPOSAL_TRANSITIONS,
    EligibilityCheck,
    EligibilityStatus,
    PartnerInvitation,
    Proposal,
    ProposalSide,
    ProposalState,
    ProposalVersion,
)
from cfp.proposals.vocabulary import BUDGET_CATEGORIES

INVITATION_DAYS = 14
# The call's stages in which a proposal whose own deadline is later than the call's
# (an individual extension, a full stage) may still be submitted.
LATE_SUBMISSION_STATES = (CallState.open, CallState.closed, CallState.in_review)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _move(proposal: Proposal, target: ProposalState):
    return change_state(proposal, target, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))


def _require_verified(actor) -> None:
    if not actor.can_apply():
        raise NotAllowed(_("Verify your email address first: follow the link we emailed you, "
                           "or ask for a new one on your account page."))


def _require_outsider(actor, call: Call) -> None:
    if call.is_run_by(actor):
        raise NotAllowed(_("Agency staff, the secretariat and the co-chairs of the committee cannot "
                           "be a principal investigator on its calls: they take part in judging "
                           "the proposals."))


def _check_may_start(actor, call: Call) -> None:
    if not actor.has_role(Role.researcher):
        raise NotAllowed(_("Only researchers may start a proposal."))
    _require_verified(actor)
    _require_outsider(actor, call)
    if not call.accepts_submissions():
        raise DomainError(_("The call %(ref)s is not open.", ref=call.reference))
    if actor.agency_id not in [a.id for a in call.agencies]:
        raise DomainError(_("Your account's side takes no part in this call."))


def start_refusal(actor, call: Call) -> str | None:
    """Why `actor` may not start a proposal under `call`, to say before the form; None if they may."""
    try:
        _check_may_start(actor, call)
    except DomainError as exc:
        return exc.message
    return None


def start_proposal(actor, call: Call, content: ProposalContent) -> Proposal:
    _check_may_start(actor, call)
    agency_ids = [a.id for a in call.agencies]
    first = ProposalState.pre_proposal if call.stages == Stages.two else ProposalState.draft
    proposal = Proposal(call=call, created_by_id=actor.id, state=first, title="")
    proposal.sides = [
        ProposalSide(agency_id=aid, pi_user_id=actor.id if aid == actor.agency_id else None,
                     institution=(actor.affiliation or "") if aid == actor.agency_id else "")
        for aid in agency_ids
    ]
    db.session.add(proposal)
    apply_content(proposal, content)
    db.session.flush()
    db.session.add(ProposalVersion(proposal_id=proposal.id, version=1, snapshot=snapshot(proposal),
                                   created_by_id=actor.id))
    log_action(actor, "proposal.start", proposal, after={"version": 1})
    return proposal


def save_proposal(actor, proposal: Proposal, expected_version: int, content: ProposalContent) -> Proposal:
    """Save a draft. Refused when someone saved since `expected_version` was read."""
    if not proposal.can_edit(actor):
        raise NotAllowed(_("This proposal can no longer be edited."))
    if expected_version != proposal.version:
        raise StaleProposal(proposal)
    before = snapshot(proposal)
    apply_content(proposal, content)
    after = snapshot(proposal)
    if after == before:
        return proposal
    proposal.version = expected_version + 1  # checked against the row by the UPDATE
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleProposal(db.session.get(Proposal, proposal.id)) from None
    _void_confirmations(actor, proposal, expected_version)
    db.session.add(ProposalVersion(proposal_id=proposal.id, version=proposal.version,
                                   snapshot=after, created_by_id=actor.id))
    # A draft is the applicants' alone: the log says which parts changed, the content
    # stays in the proposal's own versions.
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    log_action(actor, "proposal.save", proposal, after={"version": proposal.version, "changed": changed})
    return proposal


def record_version(actor, proposal: Proposal) -> None:
    """A change outside the editor (a document): a new version, so confirmations reset."""
    proposal.version += 1
    db.session.flush()
    db.session.add(ProposalVersion(proposal_id=proposal.id, version=proposal.version,
                                   snapshot=snapshot(proposal), created_by_id=actor.id))
    _void_confirmations(actor, proposal, proposal.version - 1)


def _void_confirmations(actor, proposal: Proposal, old_version: int) -> None:
    """A new version voids the confirmations of the previous one: a PI whose confirmation
    the partner's change voided is told (the one who changed it knows)."""
    for side in proposal.sides:
        if side.confirmed_version == old_version and side.pi is not None and side.pi_user_id != actor.id:
            queue_email(to=side.pi, template="confirmation_voided",
                        key=f"confirmation-voided-{proposal.id}-{side.agency_id}-{old_version}",
                        context={"proposal": proposal, "actor": actor, "old_version": old_version,
                                 "version": proposal.version,
                                 "link": external_url("proposals.show", proposal_id=proposal.id)})


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
    invitation = _send_invitation(actor, proposal, other.agency, email.strip().lower())
    log_action(actor, "proposal.invite_partner", proposal, after={"email": invitation.email})
    return invitation


def _send_invitation(actor, proposal: Proposal, agency, email: str) -> PartnerInvitation:
    """A new link for `email` to join as PI of `agency`'s side, emailed (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    invitation = PartnerInvitation(
        proposal_id=proposal.id, agency_id=agency.id, email=email, token_hash=_hash(token),
        invited_by_id=actor.id, expires_at=utcnow() + timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    queue_email(  # to the account that proved it owns the address, if any
        to=verified_account(invitation.email) or invitation.email, template="partner_invitation",
        key=f"partner-invitation-{invitation.id}",
        context={"proposal": proposal, "inviter": actor, "agency": agency,
                 "link": external_url("proposals.join", token=token),
                 "expires_at": format_instant(invitation.expires_at, agency.timezone)},
        language=agency.locale,  # an address without an account: the language of its side
    )
    return invitation


def resend_invitation(actor, invitation: PartnerInvitation) -> PartnerInvitation:
    """Send a pending invitation again: a new link, valid anew; the old link stops working."""
    if not invitation.can_change(actor):
        raise NotAllowed(_("Only a PI of the draft may send a pending invitation again."))
    invitation.cancelled_at = utcnow()
    new = _send_invitation(actor, invitation.proposal, invitation.agency, invitation.email)
    log_action(actor, "proposal.resend_invitation", invitation.proposal,
               after={"email": new.email, "replaces": invitation.id})
    return new


def cancel_invitation(actor, invitation: PartnerInvitation) -> PartnerInvitation:
    if not invitation.can_change(actor):
        raise NotAllowed(_("Only a PI of the draft may cancel a pending invitation."))
    invitation.cancelled_at = utcnow()
    log_action(actor, "proposal.cancel_invitation", invitation.proposal, after={"email": invitation.email})
    return invitation


def find_invitation(token: str) -> PartnerInvitation | None:
    return db.session.scalar(sa.select(PartnerInvitation).filter_by(token_hash=_hash(token)))


def join_proposal(actor, token: str) -> Proposal:
    """The invited partner joins as the PI of their side: only with a verified account of
    the invited address (the link alone is not enough), and not if they run the committee.
    A refusal leaves the invitation usable."""
    invitation = find_invitation(token)
    if invitation is None:
        raise DomainError(_("This invitation link is not valid."))
    if invitation.accepted_at is not None:
        raise DomainError(_("This invitation has already been used."))
    if invitation.cancelled_at is not None:
        raise DomainError(_("This invitation was cancelled; ask your partner for a new one."))
    if invitation.expires_at < utcnow():
        raise DomainError(_("This invitation has expired; ask your partner for a new one."))
    if actor.email.lower() != invitation.email.lower():
        raise NotAllowed(_("This invitation was sent to another address: log in with the account of "
                           "the address it was sent to, or ask your partner to invite this one."))
    if not actor.owns_address(invitation.email):
        raise NotAllowed(_("Verify your email address first: follow the link we emailed to %(email)s, "
                           "then follow this invitation again.", email=actor.email))
    proposal = invitation.proposal
    _require_outsider(actor, proposal.call)
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
    side.pi = actor  # keeps the relationship in step with the column in this session
    if not side.institution:
        side.institution = actor.affiliation or ""
    actor.grant(Role.researcher)
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = actor.id
    log_action(actor, "proposal.join", proposal, after={"agency_id": side.agency_id})
    return proposal


def confirm_proposal(actor, proposal: Proposal, version: int) -> ProposalSide:
    side = proposal.pi_side(actor)
    if side is None or not proposal.can_edit(actor):
        raise NotAllowed(_("Only a PI of a draft proposal may confirm it."))
    if version != proposal.version:
        raise DomainError(_("The proposal changed since you read it; read version %(v)s and confirm again.",
                            v=proposal.version))
    side.confirmed_version = version
    side.confirmed_at = utcnow()
    log_action(actor, "proposal.confirm", proposal, after={"version": version, "agency_id": side.agency_id})
    return side


def _submit_pre_proposal(actor, proposal: Proposal, now: datetime) -> Proposal:
    """Stage 1 of a two-stage call: the pre-proposal is in; the consortium is frozen."""
    if proposal.pre_submitted_at is not None:
        raise DomainError(_("The pre-proposal was already submitted."))
    missing = missing_for_submission(proposal)
    if missing:
        raise DomainError(_("The pre-proposal cannot be submitted yet. Missing: %(list)s.",
                            list=items(missing)))
    proposal.pre_submitted_at = now
    for side in proposal.sides:
        side.record_pi_name()
    db.session.add(ProposalVersion(proposal_id=proposal.id, version=proposal.version + 1,
                                   snapshot=snapshot(proposal), created_by_id=actor.id))
    proposal.version += 1  # the submitted pre-proposal is a version of its own
    log_action(actor, "proposal.submit_pre_proposal", proposal, after={"pre_submitted_at": now})
    return proposal


def invite_to_full_stage(actor, proposal: Proposal) -> Proposal:
    """Staff invite a submitted pre-proposal to the full stage (pre-proposal → invited)."""
    if not proposal.can_invite_to_full_stage(actor):
        raise NotAllowed(_("Only staff of the call's agencies may invite a submitted pre-proposal."))
    before = _move(proposal, ProposalState.invited)
    for side in proposal.sides:
        queue_email(to=side.pi, template="full_stage_invitation", key=f"full-stage-{proposal.id}-{side.agency_id}",
                    context={"proposal": proposal,
                             "deadline": format_instant(proposal.closes_at, side.pi.effective_timezone)})
    log_action(actor, "proposal.invite_full_stage", proposal, before={"state": before},
               after={"state": proposal.state})
    return proposal


def decline_pre_proposal(actor, proposal: Proposal, reason: str) -> Proposal:
    """Staff decline a submitted pre-proposal with a reason (pre-proposal → rejected);
    both PIs are emailed the reason. The proposal is then read-only for good."""
    if not proposal.is_staff(actor):
        raise NotAllowed(_("Only staff of the call's agencies may decline a pre-proposal."))
    if proposal.state == ProposalState.pre_proposal and proposal.pre_submitted_at is None:
        raise DomainError(_("This pre-proposal is not submitted yet: there is nothing to decide on."))
    if not proposal.can_decline_pre_proposal(actor):
        raise DomainError(_("This proposal is no longer a pre-proposal waiting for a decision (it is %(state)s).",
                            state=proposal.state_label))
    if not reason.strip():
        raise DomainError(_("Give the reason for declining the pre-proposal."))
    before = _move(proposal, ProposalState.rejected)
    proposal.decline_reason = reason.strip()
    for side in proposal.sides:
        if side.pi is not None:
            queue_email(to=side.pi, template="pre_proposal_declined", key=f"pre-declined-{proposal.id}-{side.agency_id}",
                        context={"proposal": proposal, "reason": proposal.decline_reason,
                                 "link": external_url("proposals.show", proposal_id=proposal.id)})
    log_action(actor, "proposal.decline_pre_proposal", proposal, before={"state": before},
               after={"state": proposal.state, "reason": proposal.decline_reason})
    return proposal


def start_full_proposal(actor, proposal: Proposal) -> Proposal:
    """A PI opens the full stage (invited → draft); both confirm the full version later."""
    if proposal.pi_side(actor) is None:
        raise NotAllowed(_("Only a PI may start the full proposal."))
    before = _move(proposal, ProposalState.draft)
    for side in proposal.sides:
        side.confirmed_version = None
        side.confirmed_at = None
    log_action(actor, "proposal.start_full_stage", proposal, before={"state": before},
               after={"state": proposal.state})
    return proposal


def missing_for_submission(proposal: Proposal) -> list[str]:
    """Everything that prevents submission, each as a sentence. A pre-proposal needs
    the content and both PIs; the full proposal (or a single-stage one) everything."""
    missing = []
    pre = proposal.state == ProposalState.pre_proposal
    if not proposal.title.strip():
        missing.append(_("a title"))
    if not proposal.abstract.strip():
        missing.append(_("an abstract"))
    missing.extend(over_limits(proposal))  # the call's limits on each text, with the counts
    if proposal.priority_area_id is None:
        missing.append(_("a priority area"))
    if pre:
        for side in proposal.sides:
            if side.pi_user_id is None:
                missing.append(_("the PI of the %(side)s side", side=side.agency.short_name))
            if not side.institution.strip():
                missing.append(_("the institution of the %(side)s side", side=side.agency.short_name))
        return missing + _missing_confirmations(proposal)
    if not proposal.duration_months:
        missing.append(_("a duration"))
    years = -(-proposal.duration_months // 12) if proposal.duration_months else None
    totals = side_totals(proposal)
    for side in proposal.sides:
        call_side = proposal.call.side(side.agency_id)
        name = side.agency.short_name
        if side.pi_user_id is None:
            missing.append(_("the PI of the %(side)s side", side=name))
        if not side.institution.strip():
            missing.append(_("the institution of the %(side)s side", side=name))
        for m in proposal.members:
            if m.agency_id == side.agency_id and not (m.role and m.career_stage and m.affiliation):
                missing.append(_("the role, career stage and affiliation of %(name)s (%(side)s)",
                                 name=m.name, side=name))
        if call_side is None:
            continue
        total = totals[side.agency_id]["total"]
        if total > call_side.max_request:
            missing.append(_("a %(side)s request within the cap of %(cap)s %(cur)s "
                             "(it is %(total)s %(cur)s, %(over)s %(cur)s over)",
                             side=name, cap=call_side.max_request, cur=call_side.currency,
                             total=total, over=total - call_side.max_request))
        present = {d.kind for d in proposal.documents if d.agency_id == side.agency_id}
        for kind in call_side.required_documents or []:
            if kind not in present:
                missing.append(_("the document “%(kind)s” (%(side)s)", kind=kind, side=name))
    for t in proposal.trips:
        if years is not None and t.year > years:
            missing.append(_("trip of %(who)s in year %(year)s within the project's %(n)s years",
                             who=t.traveller, year=t.year, n=years))
    for b in proposal.budget_lines:
        if years is not None and b.year > years:
            missing.append(_("budget line “%(cat)s” in year %(year)s within the project's %(n)s years",
                             cat=BUDGET_CATEGORIES.label(b.category), year=b.year, n=years))
    return missing + _missing_confirmations(proposal)


def _missing_confirmations(proposal: Proposal) -> list[str]:
    """Who must still confirm the current version, by name (once both PIs are there)."""
    if not proposal.both_pis_present:
        return []
    return [_("the confirmation of version %(v)s by %(name)s (%(side)s)", v=proposal.version,
              name=side.pi.name, side=side.agency.short_name) for side in proposal.awaiting_confirmation]


class AlreadySubmitted(DomainError):
    """The other PI's click got there first: nothing is wrong, nothing more to do."""


def _number(call: Call) -> int:
    """The call's next submission number. The UPDATE locks the call's row until the
    transaction ends, so submissions of one call are numbered one after the other with no
    gap: taken once everything else of the submission is written, the lock is held only
    for its receipts and the commit (the deadline rush measured 21 submissions a second
    when it was held for the whole submission)."""
    number = db.session.scalar(sa.update(Call).where(Call.id == call.id)
                               .values(submitted_count=Call.submitted_count + 1)
                               .returning(Call.submitted_count).execution_options(synchronize_session=False))
    set_committed_value(call, "submitted_count", number)  # as the row now says, without writing it again
    return number


def submit_proposal(actor, proposal: Proposal, now: datetime | None = None) -> Proposal:
    now = now or utcnow()
    if proposal.pi_side(actor) is None:
        raise NotAllowed(_("Only a PI may submit the proposal."))
    _require_verified(actor)
    # Lock the proposal and read it again: both PIs may click at once, and what was loaded
    # before the lock may be a state the other's request has since changed. The call is
    # read again too; its submission counter is locked only at the end (`_number`).
    db.session.flush()  # a refresh does not flush: what this transaction wrote must stay
    db.session.refresh(proposal, with_for_update=True)
    call = db.session.scalar(sa.select(Call).where(Call.id == proposal.call_id)
                             .execution_options(populate_existing=True))
    if proposal.reference and proposal.state != ProposalState.pre_proposal and proposal.submitted_at:
        raise AlreadySubmitted(_("The proposal is already submitted, reference %(ref)s.", ref=proposal.reference))
    closes_at = proposal.closes_at  # the call's (or its full stage's) closing instant, or an extension
    extended = closes_at > call.closes_at
    if extended:
        # An extension (or a full stage) outlives the call's closing: it stays usable while
        # the call is closed and in review, until it expires; the proposal then joins the review.
        accepts = call.state in LATE_SUBMISSION_STATES and call.opens_at <= now < closes_at
    else:
        accepts = call.accepts_submissions(now)
    if not accepts:
        raise DomainError(
            _("Submissions closed at %(deadline)s; this one arrived at %(now)s.",
              deadline=format_instant(closes_at, actor.effective_timezone, seconds=True),
              now=format_instant(now, actor.effective_timezone, seconds=True))
            if now >= closes_at else _("The call is not open.")
        )
    if proposal.state == ProposalState.pre_proposal:
        return _submit_pre_proposal(actor, proposal, now)
    if proposal.state != ProposalState.draft:
        _move(proposal, ProposalState.submitted)  # raises the clear "cannot go" message
    missing = missing_for_submission(proposal)
    if missing:
        raise DomainError(_("The proposal cannot be submitted yet. Missing: %(list)s.",
                            list=items(missing)))
    _move(proposal, ProposalState.submitted)
    proposal.submitted_at = now
    for side in proposal.sides:
        side.record_pi_name()  # the programme's record keeps the names as they are now
        db.session.add(EligibilityCheck(proposal=proposal, agency_id=side.agency_id))
    if db.session.scalar(sa.select(ProposalVersion.id).filter_by(proposal_id=proposal.id,
                                                                 version=proposal.version)) is None:
        db.session.add(ProposalVersion(proposal_id=proposal.id, version=proposal.version,
                                       snapshot=snapshot(proposal), created_by_id=actor.id))
    db.session.flush()
    proposal.reference = f"{call.reference}-{_number(call):03d}"  # what is left: receipts, log, commit
    for side in proposal.sides:
        queue_email(
            to=side.pi, template="submission_receipt",
            key=f"receipt-{proposal.id}-{side.agency_id}",
            context={"proposal": proposal, "submitted_at": format_instant(now, side.pi.effective_timezone)},
        )
    log_action(actor, "proposal.submit", proposal, before={"state": ProposalState.draft},
               after={"state": proposal.state, "reference": proposal.reference})
    queue_task("proposals.evaluate_eligibility_rules", proposal.id)
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
    from cfp.proposals.eligibility import final_result, rule_label, unreviewed

    if check.rule_results is None:  # the rules task has not run yet (its row waits in the task outbox)
        raise DomainError(_("The automatic rules of this side have not been checked yet; it takes a few "
                            "seconds after submission. Reload the page, confirm or override each rule, "
                            "then decide."))
    if unreviewed(check):
        raise DomainError(_("Confirm or override each automatic rule first (%(n)s left).", n=len(unreviewed(check))))
    failing = [rule_label(r) for r in check.rule_results or [] if not final_result(r)]
    if eligible and failing:
        raise DomainError(_("A proposal failing a rule cannot be eligible: %(rules)s. Override the rule "
                            "with a reason if it does not apply.", rules="; ".join(failing)))
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


def grant_extension(actor, proposal: Proposal, until: datetime, reason: str) -> Proposal:
    """Staff of either side give one unsubmitted proposal a later closing instant."""
    if not proposal.call.is_staff(actor):
        raise NotAllowed(_("Only staff of the call's agencies may grant an extension."))
    if proposal.state not in (ProposalState.draft, ProposalState.pre_proposal):
        raise DomainError(_("Only a proposal not yet submitted can get an extension."))
    if not reason.strip():
        raise DomainError(_("Give the reason for the extension."))
    if until <= proposal.call.closes_at:
        raise DomainError(_("An extension must end after the call's closing instant (%(when)s).",
                            when=format_instant(proposal.call.closes_at, actor.effective_timezone)))
    before = {"deadline_extended_to": proposal.deadline_extended_to}
    proposal.deadline_extended_to = until
    log_action(actor, "proposal.extend_deadline", proposal, before=before,
               after={"deadline_extended_to": until, "reason": reason.strip()})
    return proposal
