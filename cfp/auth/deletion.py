"""Deleting an account at its owner's request (GDPR art. 17): the account is anonymised,
except what the programme keeps as its record.

The rules, as the confirmation page states them:
- refused while the account holds a role of the committee (staff, secretariat, co-chair,
  administrator: an administrator revokes it first) or has a review in progress (accepted,
  not submitted): the reviewer submits it or asks staff to release them first;
- drafts never submitted in which the user is the only PI are deleted with their documents;
  drafts with a partner PI stay with the partner: the user leaves them, the partner's
  confirmation is voided and the partner is told by email;
- submitted proposals (and pre-proposals) and funded projects keep the PI's name as it was at
  submission, as the programme's record; their content stays;
- reviews stay attached to their proposals, with their scores and comments, but the
  reviewer's account no longer says who wrote them; unanswered review invitations are declined;
- the audit log keeps its entries with the account's number, its email address and names
  replaced; minutes of meetings keep the attendees as recorded;
- the account: email becomes deleted-<id>@invalid, name "Deleted user <id>", the original
  name, title, affiliation, ORCID iD, time zone and password are cleared, links and
  sessions end, the reviewer profile and login attempts are deleted, the account is
  deactivated. A confirmation goes to the address as it was, before it is replaced.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.auth.models import AccountToken, ApiToken, LoginAttempt, User
from cfp.core.audit import AuditEntry, log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import MessageStatus, OutboxMessage, queue_email
from cfp.core.roles import Role
from cfp.core.types import utcnow
from cfp.extensions import db

# Roles that make an account part of the programme's machinery: an administrator revokes
# them before the account can go.
COMMITTEE_ROLES = (Role.staff, Role.secretariat, Role.cochair, Role.admin)


def anonymous_email(user: User) -> str:
    return f"deleted-{user.id}@invalid"


def anonymous_name(user: User) -> str:
    return f"Deleted user {user.id}"


@dataclass
class DeletionPlan:
    """What deleting the account would do, for the confirmation page and the operation."""

    refusals: list[str] = field(default_factory=list)
    drafts_deleted: list = field(default_factory=list)  # proposals
    drafts_left: list = field(default_factory=list)  # proposals the partner keeps
    proposals_kept: list = field(default_factory=list)  # submitted: the programme's record
    reviews_kept: int = 0
    invitations_declined: list = field(default_factory=list)  # assignments


def _never_submitted(proposal) -> bool:
    return proposal.submitted_at is None and proposal.pre_submitted_at is None


def deletion_plan(user: User, *, by_admin: bool = False) -> DeletionPlan:
    """What deleting `user`'s account would do; its refusals speak to the user, or about
    them to an administrator (`by_admin`: the admin pages)."""
    from cfp.proposals.models import ProposalSide
    from cfp.reviews.models import Assignment, AssignmentState

    plan = DeletionPlan()
    held = sorted({r.role for r in user.roles if r.role in COMMITTEE_ROLES}, key=lambda r: r.value)
    if held:
        roles = ", ".join(str(r.label) for r in held)
        plan.refusals.append(_(
            "%(name)s holds a role in the programme (%(roles)s): take it away on their page first.",
            name=user.name, roles=roles) if by_admin else _(
            "You hold a role in the programme (%(roles)s): an administrator must revoke it "
            "before your account can be deleted.", roles=roles))
    assignments = db.session.scalars(sa.select(Assignment).where(Assignment.reviewer_id == user.id)).all()
    in_progress = [a for a in assignments if a.state in (AssignmentState.accepted, AssignmentState.overdue)]
    if in_progress:
        listed = ", ".join(a.proposal.reference or f"#{a.proposal_id}" for a in in_progress)
        plan.refusals.append(_(
            "%(name)s has %(n)s review(s) in progress (%(list)s): they submit them, or the agency's "
            "staff release them, before the account can be deleted.", name=user.name, n=len(in_progress),
            list=listed) if by_admin else _(
            "You have %(n)s review(s) in progress (%(list)s): submit them, or ask the agency's staff "
            "to release you, before deleting your account.", n=len(in_progress), list=listed))
    plan.invitations_declined = [a for a in assignments if a.state == AssignmentState.invited]
    plan.reviews_kept = sum(1 for a in assignments if a.review is not None)
    sides = db.session.scalars(sa.select(ProposalSide).where(ProposalSide.pi_user_id == user.id)
                               .order_by(ProposalSide.proposal_id)).all()
    for side in sides:
        proposal = side.proposal
        if not _never_submitted(proposal):
            plan.proposals_kept.append(proposal)
        elif any(s.pi_user_id not in (None, user.id) for s in proposal.sides):
            plan.drafts_left.append(proposal)
        else:
            plan.drafts_deleted.append(proposal)
    return plan


@dataclass
class DeletionOutcome:
    refusals: list[str]
    plan: DeletionPlan

    @property
    def done(self) -> bool:
        return not self.refusals


def delete_account(actor: User, user: User, reason: str = "", *, password: str | None = None,
                   address: str | None = None, now: datetime | None = None) -> DeletionOutcome:
    """Delete (anonymise) `user`'s account at their request: the user themself, who gives
    their password, or an administrator acting on a request made otherwise. The request
    and its outcome go to the audit log; a refusal changes nothing else and says why."""
    from cfp.auth import operations as ops

    now = now or utcnow()
    if actor.id != user.id and not actor.is_admin:
        raise NotAllowed(_("Only the user or an administrator can delete the account."))
    if user.anonymised_at is not None:
        raise DomainError(_("This account is already deleted."))
    if actor.id == user.id:
        email, client = user.email.lower(), ops.client_address(address)
        wait = ops.login_wait(email, client, now, user=user)
        if wait:
            raise ops.LoginThrottled(wait)
        if not user.check_password(password or ""):
            ops._record_failure(email, client, now)
            raise DomainError(_("The password is not right."))
    reason = (reason or "").strip()
    log_action(actor, "user.deletion_requested", user, after={"reason": reason} if reason else None)
    plan = deletion_plan(user, by_admin=actor.id != user.id)
    if plan.refusals:
        log_action(actor, "user.deletion_refused", user, after={"reasons": [str(r) for r in plan.refusals]})
        return DeletionOutcome(plan.refusals, plan)
    _forget_messages(user)
    queue_email(to=user, template="account_deleted", key=f"account-deleted:{user.id}",
                context={"user": user, "plan": plan})
    counts = _settle_proposals(actor, user, plan, now)
    _settle_reviewing(actor, user, plan, now)
    redacted = _anonymise(user, now)
    log_action(actor, "user.anonymised", user, after={**counts, "reviews_kept": plan.reviews_kept,
                                                      "invitations_declined": len(plan.invitations_declined),
                                                      "audit_entries_redacted": redacted})
    return DeletionOutcome([], plan)


def _forget_messages(user: User) -> None:
    """Mail sent to the user: the address and the text go, the subject stays; decision
    letters keep their text (the programme's record). Mail not yet sent is not sent."""
    messages = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient_user_id == user.id)).all()
    for m in messages:
        m.recipient = anonymous_email(user)
        if m.template != "decision_letter":
            m.body = ""
        if m.status in (MessageStatus.queued, MessageStatus.held, MessageStatus.sending):
            m.status = MessageStatus.failed
            m.last_error = "the recipient's account was deleted"
            m.next_attempt_at = None


def _settle_proposals(actor: User, user: User, plan: DeletionPlan, now: datetime) -> dict:
    from cfp.proposals.models import PartnerInvitation, ProposalVersion
    from cfp.proposals.retention import delete_draft

    for proposal in plan.proposals_kept:
        for side in proposal.sides:
            if side.pi_user_id == user.id and not side.pi_name:
                side.record_pi_name()  # submitted before names were recorded: as it is now
    for proposal in plan.drafts_left:
        side = proposal.pi_side(user)
        old_name = user.display_name
        side.pi_user_id, side.pi = None, None
        for s in proposal.sides:
            s.confirmed_version, s.confirmed_at = None, None
        for version in db.session.scalars(sa.select(ProposalVersion).filter_by(proposal_id=proposal.id)):
            sides = dict(version.snapshot.get("sides") or {})
            entry = sides.get(str(side.agency_id))
            if entry and entry.get("pi") == old_name:
                sides[str(side.agency_id)] = {**entry, "pi": ""}
                version.snapshot = {**version.snapshot, "sides": sides}
        log_action(actor, "proposal.pi_left", proposal, before={"agency_id": side.agency_id})
        for partner in (s.pi for s in proposal.sides if s.pi is not None):
            queue_email(to=partner, template="partner_left", key=f"partner-left:{proposal.id}:{user.id}",
                        context={"proposal": proposal, "side": side.agency})
    for proposal in plan.drafts_deleted:
        log_action(actor, "proposal.deleted_with_account", proposal, before={"state": proposal.state})
        delete_draft(proposal)
    for invitation in db.session.scalars(sa.select(PartnerInvitation).where(
            PartnerInvitation.accepted_by_id == user.id)):
        invitation.email = anonymous_email(user)
    if user.email_verified:
        for invitation in db.session.scalars(sa.select(PartnerInvitation).where(
                sa.func.lower(PartnerInvitation.email) == user.email.lower(),
                PartnerInvitation.accepted_at.is_(None))):
            invitation.email = anonymous_email(user)
            invitation.cancelled_at = invitation.cancelled_at or now
    return {"drafts_deleted": len(plan.drafts_deleted), "drafts_left": len(plan.drafts_left),
            "proposals_kept": len(plan.proposals_kept)}


def _settle_reviewing(actor: User, user: User, plan: DeletionPlan, now: datetime) -> None:
    from cfp.core.tasks import queue_task
    from cfp.reviews.models import AssignmentState, ReviewerInvitation, ReviewerProfile

    for assignment in plan.invitations_declined:
        assignment.state, assignment.answered_at = AssignmentState.declined, now
        log_action(actor, "assignment.answer", assignment, before={"state": AssignmentState.invited},
                   after={"state": AssignmentState.declined})
        queue_task("reviews.replace_assignment", assignment.id)
    profile = db.session.scalar(sa.select(ReviewerProfile).where(ReviewerProfile.user_id == user.id))
    if profile is not None:
        db.session.delete(profile)
    for invitation in db.session.scalars(sa.select(ReviewerInvitation).where(sa.or_(
            ReviewerInvitation.accepted_user_id == user.id,
            sa.func.lower(ReviewerInvitation.email) == user.email.lower()))):
        invitation.email, invitation.name = anonymous_email(user), anonymous_name(user)
        invitation.affiliation = invitation.keywords = invitation.expertise = ""


def _anonymise(user: User, now: datetime) -> int:
    """Replace what identifies the account; returns how many audit entries were redacted."""
    old = {v for v in (user.email, user.email.lower(), user.name, user.name_original, user.display_name) if v}
    replacement = {user.email: anonymous_email(user), user.email.lower(): anonymous_email(user)}
    db.session.execute(sa.delete(AccountToken).where(AccountToken.user_id == user.id))
    db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user.id))
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.email == user.email.lower()))
    user.email, user.name = anonymous_email(user), anonymous_name(user)
    user.name_original = user.title = user.affiliation = user.orcid = user.timezone = None
    user.password_hash = None
    user.locale = "en"
    user.active = False
    user.anonymised_at = now
    for role in list(user.roles):
        user.roles.remove(role)
    user.end_sessions()
    user.keeps_current_session = False
    db.session.flush()
    return _redact_audit(user, old, replacement)


def _redact(value, old: set, replacement: dict, name: str):
    if isinstance(value, str):
        return replacement.get(value, name) if value in old else value
    if isinstance(value, dict):
        return {k: _redact(v, old, replacement, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, old, replacement, name) for v in value]
    return value


def _redact_audit(user: User, old: set, replacement: dict) -> int:
    """Entries that name the account keep their rows (the log is append-only), with its
    address and names replaced in their before/after values."""
    email = next(v for v in old if "@" in v)
    text = lambda column: sa.cast(column, sa.Text)
    entries = db.session.execute(
        sa.select(AuditEntry.id, AuditEntry.before, AuditEntry.after).where(
            sa.or_(AuditEntry.before.is_not(None), AuditEntry.after.is_not(None)),
            sa.or_(AuditEntry.actor_id == user.id,
                   sa.and_(AuditEntry.object_type == "User", AuditEntry.object_id == user.id),
                   text(AuditEntry.before).contains(email), text(AuditEntry.after).contains(email)))
    ).all()
    changed = []
    for entry_id, before, after in entries:
        new_before = _redact(before, old, replacement, user.name)
        new_after = _redact(after, old, replacement, user.name)
        if (new_before, new_after) != (before, after):
            changed.append({"entry_id": entry_id, "before": new_before, "after": new_after})
    if not changed:
        return 0
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:  # the trigger lets this transaction change before/after, and nothing else
        db.session.execute(sa.text("SET LOCAL cfp.redact_audit = 'on'"))
    table = AuditEntry.__table__
    db.session.execute(table.update().where(table.c.id == sa.bindparam("entry_id"))
                       .values(before=sa.bindparam("before"), after=sa.bindparam("after")), changed)
    if postgres:
        db.session.execute(sa.text("SET LOCAL cfp.redact_audit = 'off'"))
    for obj in [o for o in db.session.identity_map.values() if isinstance(o, AuditEntry)]:
        db.session.expire(obj)
    return len(changed)
