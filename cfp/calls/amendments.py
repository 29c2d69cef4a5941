"""Amending an approved or open call (issue 10): one side's staff propose new values for
its closing instants, texts and each side's required documents and eligibility rules;
the other side's staff approve (the call changes, its version goes up, applicants with
unfinished proposals are told by email), reject with a reason, or the proposing side
withdraws it. None of these commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from cfp.auth.models import User, UserRole
from cfp.calls.models import (
    AMENDMENT_TRANSITIONS,
    AmendmentState,
    Call,
    CallAmendment,
    Stages,
)
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import queue_email
from cfp.core.roles import Role
from cfp.core.states import change_state
from cfp.core.timezones import format_instant
from cfp.core.types import utcnow
from cfp.core.urls import external_url
from cfp.extensions import db

INSTANTS = ("closes_at", "full_closes_at", "review_due_at")
CALL_FIELDS = (*INSTANTS, "title", "description")
SIDE_FIELDS = ("required_documents", "eligibility_rules")
LABELS = {
    "closes_at": _l("Closing instant"),
    "full_closes_at": _l("Closing instant of full proposals"),
    "review_due_at": _l("Reviews due"),
    "title": _l("Title"),
    "description": _l("Description"),
    "required_documents": _l("Required documents"),
    "eligibility_rules": _l("Eligibility rules"),
}
# The states of a proposal whose applicants still work on it: they hear of an amendment.
UNFINISHED = ("draft", "pre_proposal", "invited")


def side_key(agency_id: int, name: str) -> str:
    return f"side.{agency_id}.{name}"


def current_values(call: Call) -> dict:
    """Every amendable field of the call, by key, as Python values."""
    values = {name: getattr(call, name) for name in CALL_FIELDS}
    for side in call.sides:
        values[side_key(side.agency_id, "required_documents")] = list(side.required_documents or [])
        values[side_key(side.agency_id, "eligibility_rules")] = side.eligibility_rules or ""
    return values


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _python(key: str, value):
    if key in INSTANTS and value is not None:
        return datetime.fromisoformat(value)
    return value


def _normalised(key: str, value):
    if key.endswith("required_documents"):
        return [d.strip() for d in value or [] if d and d.strip()]
    if key in INSTANTS:
        return value
    return (value or "").strip()


def _check(call: Call, values: dict, changed: set[str], now: datetime) -> None:
    """Refuse values the call could not have, with the reason."""
    closes, full, due = values["closes_at"], values["full_closes_at"], values["review_due_at"]
    if not values["title"]:
        raise DomainError(_("A call needs a title."))
    for key in INSTANTS:
        if key in changed and values[key] is not None and values[key] <= now:
            raise DomainError(_("%(what)s %(when)s is already past.", what=LABELS[key],
                                when=format_instant(values[key])))
    if closes <= call.opens_at:
        raise DomainError(_("The call must close after it opens (%(when)s).", when=format_instant(call.opens_at)))
    if call.stages == Stages.two:
        if full is None or full <= closes:
            raise DomainError(_("A two-stage call needs a closing instant for full proposals "
                                "after the one for pre-proposals."))
    elif full is not None:
        raise DomainError(_("Only a two-stage call has a closing instant for full proposals."))
    if due is not None and due <= (full or closes):
        raise DomainError(_("Reviews must be due after the call closes (%(when)s).",
                            when=format_instant(full or closes)))


def _staff_side(actor, call: Call):
    return next(a for a in call.agencies if actor.has_role(Role.staff, a, call.committee_id))


def propose_call_amendment(actor, call: Call, changes: dict, reason: str,
                           now: datetime | None = None) -> CallAmendment:
    """Staff of one side propose new values (`changes`: key → value, see `current_values`);
    only the values that differ count. Their side's approval is implied."""
    now = now or utcnow()
    if call.pending_amendment is not None and call.is_staff(actor):
        raise DomainError(_("Amendment %(n)s of this call is still waiting for a decision; "
                            "one amendment at a time.", n=call.pending_amendment.version))
    if not call.can_propose_amendment(actor):
        raise NotAllowed(_("Only staff of the call's agencies may amend an approved or open call."))
    if not (reason or "").strip():
        raise DomainError(_("Say why the call is amended."))
    before = current_values(call)
    unknown = set(changes) - set(before)
    if unknown:
        raise DomainError(_("These cannot be amended: %(keys)s.", keys=", ".join(sorted(unknown))))
    proposed = {k: _normalised(k, v) for k, v in changes.items()}
    diff = {k: [_plain(before[k]), _plain(v)] for k, v in proposed.items() if v != before[k]}
    if not diff:
        raise DomainError(_("Nothing changes: give at least one new value."))
    _check(call, {**before, **proposed}, set(diff), now)
    amendment = CallAmendment(
        call=call, version=max((a.version for a in call.amendments), default=0) + 1,
        proposed_by_id=actor.id, proposed_by_agency_id=_staff_side(actor, call).id, proposed_at=now,
        reason=reason.strip(), changes=diff, state=AmendmentState.proposed,
    )
    db.session.add(amendment)
    db.session.flush()
    log_action(actor, "call.propose_amendment", amendment,
               after={"call_id": call.id, "version": amendment.version, "changes": diff,
                      "reason": amendment.reason})
    _tell_the_other_side(amendment)
    return amendment


def _tell_the_other_side(amendment: CallAmendment) -> None:
    call = amendment.call
    other = [a.id for a in call.agencies if a.id != amendment.proposed_by_agency_id]
    staff = db.session.scalars(
        sa.select(User).join(UserRole).where(UserRole.role == Role.staff, UserRole.agency_id.in_(other))
        .distinct().order_by(User.id)
    ).all()
    for user in staff:
        queue_email(to=user, template="call_amendment_proposed",
                    key=f"call-amendment-proposed-{amendment.id}-{user.id}",
                    context={"call": call, "amendment": amendment,
                             "rows": change_rows(amendment, user.effective_timezone),
                             "link": external_url("calls.show", call_id=call.id)})


def approve_call_amendment(actor, amendment: CallAmendment, now: datetime | None = None) -> Call:
    """The other side's staff approve: the call takes the new values and a new version."""
    now = now or utcnow()
    db.session.refresh(amendment, with_for_update=True)  # two approvals at once: one wins
    if not amendment.can_approve(actor):
        raise NotAllowed(_("Only staff of the other side may approve this amendment."))
    call = amendment.call
    current = current_values(call)
    if any(_plain(current[k]) != old for k, (old, _new) in amendment.changes.items()):
        raise DomainError(_("The call changed since this amendment was proposed: reject it and "
                            "propose it again."))
    new = {k: _python(k, value) for k, (_old, value) in amendment.changes.items()}
    _check(call, {**current, **new}, set(new), now)
    for key, value in new.items():
        if key.startswith("side."):
            _side, agency_id, name = key.split(".")
            setattr(call.side(int(agency_id)), name, value)
        else:
            setattr(call, key, value)
    change_state(amendment, AmendmentState.approved, table=AMENDMENT_TRANSITIONS, what=_("The amendment"))
    call.version = (call.version or 0) + 1
    amendment.applied_version = call.version
    amendment.decided_by_id = actor.id
    amendment.decided_at = now
    log_action(actor, "call.amend", call,
               before={k: old for k, (old, _new) in amendment.changes.items()},
               after={**{k: value for k, (_old, value) in amendment.changes.items()},
                      "version": call.version, "amendment": amendment.version})
    _tell_the_applicants(amendment)
    return call


def unfinished_pis(call: Call) -> list:
    """The PIs of the call's proposals not yet submitted, each once."""
    from cfp.proposals.models import Proposal, ProposalSide

    return db.session.scalars(
        sa.select(User).join(ProposalSide, ProposalSide.pi_user_id == User.id)
        .join(Proposal, Proposal.id == ProposalSide.proposal_id)
        .where(Proposal.call_id == call.id, Proposal.state.in_(UNFINISHED), Proposal.submitted_at.is_(None))
        .distinct().order_by(User.id)
    ).all()


def _tell_the_applicants(amendment: CallAmendment) -> None:
    call = amendment.call
    for pi in unfinished_pis(call):
        queue_email(to=pi, template="call_amended", key=f"call-amended-{amendment.id}-{pi.id}",
                    context={"call": call, "amendment": amendment,
                             "rows": change_rows(amendment, pi.effective_timezone),
                             "link": external_url("calls.show", call_id=call.id)})


def reject_call_amendment(actor, amendment: CallAmendment, reason: str) -> CallAmendment:
    if not amendment.can_reject(actor):
        raise NotAllowed(_("Only staff of the other side may reject this amendment."))
    if not (reason or "").strip():
        raise DomainError(_("Say why the amendment is rejected."))
    change_state(amendment, AmendmentState.rejected, table=AMENDMENT_TRANSITIONS, what=_("The amendment"))
    amendment.rejection_reason = reason.strip()
    amendment.decided_by_id = actor.id
    amendment.decided_at = utcnow()
    log_action(actor, "call.reject_amendment", amendment, before={"state": AmendmentState.proposed},
               after={"state": amendment.state, "reason": amendment.rejection_reason})
    return amendment


def withdraw_call_amendment(actor, amendment: CallAmendment) -> CallAmendment:
    if not amendment.can_withdraw(actor):
        raise NotAllowed(_("Only staff of the side that proposed it may withdraw this amendment."))
    change_state(amendment, AmendmentState.withdrawn, table=AMENDMENT_TRANSITIONS, what=_("The amendment"))
    amendment.decided_by_id = actor.id
    amendment.decided_at = utcnow()
    log_action(actor, "call.withdraw_amendment", amendment, before={"state": AmendmentState.proposed},
               after={"state": amendment.state})
    return amendment


@dataclass
class ChangeRow:
    label: str
    side: str | None
    old: str
    new: str


def _text(key: str, value, zone: str | None) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if key in INSTANTS:
        return format_instant(datetime.fromisoformat(value), zone)
    if isinstance(value, list):
        return "; ".join(value)
    return value


def change_rows(amendment: CallAmendment, zone: str | None = None) -> list[ChangeRow]:
    """What an amendment changes, readable: label, side, old → new (instants in `zone`)."""
    sides = {a.id: a.short_name for a in amendment.call.agencies}
    order = [*CALL_FIELDS, *SIDE_FIELDS]
    rows = []
    for key, (old, new) in amendment.changes.items():
        name, side = key, None
        if key.startswith("side."):
            _side, agency_id, name = key.split(".")
            side = sides.get(int(agency_id))
        rows.append((side or "", order.index(name),
                     ChangeRow(label=LABELS[name], side=side, old=_text(name, old, zone), new=_text(name, new, zone))))
    return [row for *_, row in sorted(rows, key=lambda r: r[:2])]
