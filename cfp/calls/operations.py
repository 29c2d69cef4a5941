"""Writers for calls. They take the actor, write the audit log, never commit."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.calls.models import (
    ABSTRACT_WORDS_CEILING,
    ABSTRACT_WORDS_DEFAULT,
    CALL_TRANSITIONS,
    TEXT_LIMITS,
    Call,
    CallSide,
    CallState,
    Instrument,
    JointCommittee,
    PriorityArea,
    ReviewCriterion,
    Stages,
)
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.roles import Role
from cfp.core.states import change_state
from cfp.core.types import utcnow
from cfp.extensions import db


@dataclass
class SideTerms:
    agency_id: int
    budget_envelope: Decimal
    max_request: Decimal
    per_diem: Decimal | None = None
    travel_cap: Decimal | None = None
    reviewers_per_proposal: int = 2
    eligibility_rules: str = ""
    required_documents: list[str] = field(default_factory=list)
    max_document_pages: int | None = None
    max_document_bytes: int | None = None
    eligibility_rule_config: list[dict] = field(default_factory=list)


@dataclass
class CriterionTerms:
    name: str
    weight: Decimal
    threshold: Decimal | None = None
    description: str = ""


@dataclass
class CallTerms:
    reference: str
    title: str
    opens_at: datetime
    closes_at: datetime
    priority_areas: list[str]
    criteria: list[CriterionTerms]
    sides: list[SideTerms]
    description: str = ""
    instrument: Instrument = Instrument.joint_research
    stages: Stages = Stages.single
    review_due_at: datetime | None = None
    full_closes_at: datetime | None = None
    duration_months: int = 24
    scale_max: Decimal = Decimal(5)
    scale_step: Decimal = Decimal("0.5")
    overall_threshold: Decimal | None = None
    abstract_word_limit: int = ABSTRACT_WORDS_DEFAULT
    text_limits: dict[str, int] = field(default_factory=dict)  # {field of TEXT_LIMITS: most characters}


def _snapshot(call: Call) -> dict:
    return {
        "reference": call.reference, "title": call.title, "state": call.state,
        "opens_at": call.opens_at, "closes_at": call.closes_at,
        "abstract_word_limit": call.abstract_word_limit, "text_limits": call.text_limits,
    }


def _check_limits(terms: CallTerms) -> dict[str, int]:
    """The form's limits, each within what the database keeps. Stored text is never
    touched: a proposal over a lowered limit is told so when it is submitted."""
    if not 1 <= terms.abstract_word_limit <= ABSTRACT_WORDS_CEILING:
        raise DomainError(_("The abstract's word limit must be between 1 and %(n)s.", n=ABSTRACT_WORDS_CEILING))
    limits = {}
    for name, value in terms.text_limits.items():
        limit = TEXT_LIMITS.get(name)
        if limit is None:
            raise DomainError(_("A proposal has no text field %(name)s.", name=name))
        if not 1 <= value <= limit.ceiling:
            raise DomainError(_("%(field)s: a proposal keeps at most %(n)s characters.",
                                field=limit.label, n=limit.ceiling))
        limits[name] = value
    return limits


def _apply_terms(call: Call, terms: CallTerms) -> None:
    if terms.opens_at >= terms.closes_at:
        raise DomainError(_("The call must close after it opens."))
    with db.session.no_autoflush:
        clash = db.session.scalar(
            sa.select(Call.id).where(Call.reference == terms.reference, Call.id != (call.id or 0))
        )
    if clash:
        raise DomainError(_("Another call already has the reference %(ref)s.", ref=terms.reference))
    agency_ids = {a.id for a in call.committee.agencies}
    if {s.agency_id for s in terms.sides} != agency_ids:
        raise DomainError(_("A call needs the terms of both sides."))
    call.reference = terms.reference.strip()
    call.title = terms.title.strip()
    call.description = terms.description
    call.instrument = terms.instrument
    call.stages = terms.stages
    call.opens_at = terms.opens_at
    call.closes_at = terms.closes_at
    if terms.stages == Stages.two:
        if terms.full_closes_at is None or terms.full_closes_at <= terms.closes_at:
            raise DomainError(_("A two-stage call needs a closing instant for full proposals "
                                "after the one for pre-proposals."))
        call.full_closes_at = terms.full_closes_at
    else:
        call.full_closes_at = None
    call.review_due_at = terms.review_due_at
    call.duration_months = terms.duration_months
    call.overall_threshold = terms.overall_threshold
    call.text_limits = _check_limits(terms)
    call.abstract_word_limit = terms.abstract_word_limit

    areas = [a.strip() for a in terms.priority_areas if a.strip()]
    existing = {a.name: a for a in call.priority_areas}
    call.priority_areas = [
        existing.get(name) or PriorityArea(name=name) for name in dict.fromkeys(areas)
    ]
    for position, area in enumerate(call.priority_areas):
        area.position = position

    if not terms.criteria:
        raise DomainError(_("Give at least one review criterion."))
    old = {c.name: c for c in call.criteria}
    criteria = []
    for position, c in enumerate(terms.criteria):
        criterion = old.get(c.name) or ReviewCriterion(name=c.name)
        criterion.position = position + 1000  # avoid clashing with old positions mid-flush
        criterion.weight = c.weight
        criterion.threshold = c.threshold
        criterion.description = c.description
        criterion.scale_min = Decimal(0)
        criterion.scale_max = terms.scale_max
        criterion.scale_step = terms.scale_step
        criteria.append(criterion)
    call.criteria = criteria
    db.session.flush()
    for position, criterion in enumerate(call.criteria):
        criterion.position = position

    for s in terms.sides:
        side = call.side(s.agency_id)
        if side is None:
            side = CallSide(agency_id=s.agency_id)
            call.sides.append(side)
        side.currency = next(a.currency for a in call.committee.agencies if a.id == s.agency_id)
        side.budget_envelope = s.budget_envelope
        side.max_request = s.max_request
        side.per_diem = s.per_diem
        side.travel_cap = s.travel_cap
        side.reviewers_per_proposal = s.reviewers_per_proposal
        side.eligibility_rules = s.eligibility_rules
        side.required_documents = [d.strip() for d in s.required_documents if d.strip()]
        side.max_document_pages = s.max_document_pages
        side.max_document_bytes = s.max_document_bytes
        side.eligibility_rule_config = list(s.eligibility_rule_config)


def draft_call(actor, committee: JointCommittee, agency_id: int, terms: CallTerms) -> Call:
    """Staff of one side draft a call; their own side's approval is recorded."""
    if not actor.has_role(Role.staff, agency_id, committee.id):
        raise NotAllowed(_("Only agency staff may draft a call."))
    call = Call(
        committee=committee, drafted_by_agency_id=agency_id, created_by_id=actor.id,
        state=CallState.draft, reference="", title="",
    )
    db.session.add(call)
    _apply_terms(call, terms)
    db.session.flush()
    side = call.side(agency_id)
    side.approved_at = utcnow()
    side.approved_by_id = actor.id
    log_action(actor, "call.draft", call, after=_snapshot(call))
    return call


def update_call(actor, call: Call, terms: CallTerms) -> Call:
    if not call.can_edit(actor):
        raise NotAllowed(_("This call can no longer be edited."))
    before = _snapshot(call)
    _apply_terms(call, terms)
    # A change withdraws the other side's approval, if it had given one.
    for side in call.sides:
        if side.agency_id != call.drafted_by_agency_id:
            side.approved_at = None
            side.approved_by_id = None
    log_action(actor, "call.update", call, before=before, after=_snapshot(call))
    return call


def approve_call(actor, call: Call) -> Call:
    if not call.can_approve(actor):
        raise NotAllowed(_("You cannot approve this call."))
    for side in call.sides:
        if actor.has_role(Role.staff, side.agency_id, call.committee_id) and side.approved_at is None:
            side.approved_at = utcnow()
            side.approved_by_id = actor.id
            log_action(actor, "call.approve_side", call, after={"agency_id": side.agency_id})
    if all(s.approved_at for s in call.sides):
        change_state(call, CallState.approved, table=CALL_TRANSITIONS, what=_("The call"))
        log_action(actor, "call.approved", call, before={"state": CallState.draft},
                   after={"state": call.state})
        open_call_if_due(call, actor)
    return call


def open_call_if_due(call: Call, actor=None, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if call.state == CallState.approved and call.opens_at <= now < call.closes_at:
        change_state(call, CallState.open, table=CALL_TRANSITIONS, what=_("The call"))
        log_action(actor, "call.open", call, before={"state": CallState.approved},
                   after={"state": CallState.open})
        return True
    return False


def close_call_if_due(call: Call, actor=None, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if call.state == CallState.open and call.closes_at <= now:
        change_state(call, CallState.closed, table=CALL_TRANSITIONS, what=_("The call"))
        log_action(actor, "call.close", call, before={"state": CallState.open},
                   after={"state": CallState.closed})
        return True
    return False


def open_and_close_due_calls(now: datetime | None = None) -> dict:
    """Beat: open approved calls whose opening instant passed, close open calls
    whose closing instant passed. Idempotent."""
    now = now or utcnow()
    opened = closed = 0
    for call in db.session.scalars(
        sa.select(Call).where(Call.state == CallState.approved, Call.opens_at <= now)
        .with_for_update(skip_locked=True)
    ):
        opened += open_call_if_due(call, now=now)
    for call in db.session.scalars(
        sa.select(Call).where(Call.state == CallState.open, Call.closes_at <= now)
        .with_for_update(skip_locked=True)
    ):
        closed += close_call_if_due(call, now=now)
    return {"opened": opened, "closed": closed}


def move_call(actor, call: Call, target: CallState) -> Call:
    """Staff move a call through review and selection (closed → in review → …)."""
    if not (call.is_staff(actor) or actor.is_secretariat_of(call.committee_id)):
        raise NotAllowed(_("Only staff or the secretariat may change a call's stage."))
    before = change_state(call, target, table=CALL_TRANSITIONS, what=_("The call"))
    log_action(actor, "call.state", call, before={"state": before}, after={"state": target})
    return call
