from __future__ import annotations

import json
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from cfp.calls.amendments import (
    approve_call_amendment,
    change_rows,
    propose_call_amendment,
    reject_call_amendment,
    side_key,
    withdraw_call_amendment,
)
from cfp.calls.forms import AmendmentForm, ApproveForm, CallForm, NewCallForm, RejectAmendmentForm
from cfp.calls.models import (
    ABSTRACT_WORDS_DEFAULT,
    Call,
    CallAmendment,
    CallState,
    Instrument,
    JointCommittee,
    Stages,
)
from cfp.calls.operations import (
    CallTerms,
    CriterionTerms,
    SideTerms,
    approve_call,
    draft_call,
    update_call,
)
from cfp.core.errors import DomainError
from cfp.core.forms import options
from cfp.core.listing import offset_page
from cfp.core.loading import load_visible
from cfp.core.params import whole_number
from cfp.core.roles import Role, role_required
from cfp.core.scope import within
from cfp.core.timezones import local_to_utc, to_zone
from cfp.extensions import db

bp = Blueprint("calls", __name__, url_prefix="/calls")

PUBLIC_STATES = [s for s in CallState if s != CallState.draft]


def _drafting_committee(form: NewCallForm) -> JointCommittee:
    """The committee a new call is drafted in, among those the user drafts for (staff of one
    of its sides): the one chosen in the form, else `?committee=`, else the first. A choice
    outside them stays in the form, which refuses it."""
    mine = JointCommittee.drafting_for(current_user)
    if not mine:
        abort(404)
    form.committee_id.choices = options([(c.id, c.name) for c in mine])
    posted = bool(form.committee_id.raw_data)
    wanted = form.committee_id.data if posted else request.args.get("committee", type=whole_number)
    committee = next((c for c in mine if c.id == wanted), mine[0])
    if not posted:
        form.committee_id.data = committee.id
    return committee


def _load_call(call_id: int) -> Call:
    call = load_visible(Call, call_id)
    return call


@bp.route("/")
def index():
    # Announced calls are public; drafts are their committee's (staff and secretariat).
    query = sa.select(Call).order_by(Call.opens_at.desc()).where(sa.or_(
        Call.state.in_(PUBLIC_STATES),
        within(current_user, Call.committee_id, Role.staff, Role.secretariat)))
    # Numbered pages, newest first; each page's calls grouped by where they stand.
    calls = offset_page(query.order_by(Call.id).options(selectinload(Call.sides)))
    groups = {
        "open": [c for c in calls if c.state == CallState.open],
        "upcoming": [c for c in calls if c.state == CallState.approved],
        "drafts": [c for c in calls if c.state == CallState.draft],
        "past": [c for c in calls if c.state not in (CallState.open, CallState.approved, CallState.draft)],
    }
    return render_template("calls/index.html", groups=groups, page=calls)


@bp.route("/<int:call_id>")
def show(call_id: int):
    return _render_show(_load_call(call_id))


def _render_show(call: Call, reject_form: RejectAmendmentForm | None = None):
    from cfp.proposals.eligibility import rule_text

    return render_template("calls/show.html", call=call, approve_form=ApproveForm(),
                           eligibility_rule_text=rule_text, amendment_rows=change_rows,
                           reject_form=reject_form or RejectAmendmentForm(formdata=None))


def _terms_from_form(form: CallForm, committee: JointCommittee) -> CallTerms:
    tz = form.timezone.data
    agencies = committee.agencies
    sides = []
    for agency, sub in zip(agencies, (form.side_a, form.side_b)):
        d = sub.form
        sides.append(SideTerms(
            agency_id=agency.id, budget_envelope=d.budget_envelope.data,
            max_request=d.max_request.data, per_diem=d.per_diem.data,
            travel_cap=d.travel_cap.data, reviewers_per_proposal=d.reviewers_per_proposal.data,
            eligibility_rules=d.eligibility_rules.data or "",
            required_documents=(d.required_documents.data or "").splitlines(),
            max_document_pages=d.max_document_pages.data or None,
            max_document_bytes=d.max_document_mb.data * 1024 * 1024 if d.max_document_mb.data else None,
            eligibility_rule_config=d.rule_config(),
        ))
    criteria = [
        CriterionTerms(name=e.form.name.data.strip(), weight=e.form.weight.data,
                       threshold=e.form.threshold.data)
        for e in form.criteria.entries if e.form.name.data and e.form.name.data.strip()
    ]
    return CallTerms(
        reference=form.reference.data, title=form.title.data,
        description=form.description.data or "",
        instrument=Instrument(form.instrument.data), stages=Stages(form.stages.data),
        opens_at=local_to_utc(form.opens_at.data, tz),
        closes_at=local_to_utc(form.closes_at.data, tz),
        review_due_at=local_to_utc(form.review_due_at.data, tz) if form.review_due_at.data else None,
        full_closes_at=local_to_utc(form.full_closes_at.data, tz) if form.full_closes_at.data else None,
        duration_months=form.duration_months.data,
        priority_areas=form.priority_areas.data.splitlines(),
        criteria=criteria, sides=sides, scale_max=form.scale_max.data,
        scale_step=form.scale_step.data, overall_threshold=form.overall_threshold.data,
        abstract_word_limit=form.abstract_word_limit.data or ABSTRACT_WORDS_DEFAULT,
        text_limits=form.text_limits(),
    )


def _staff_side(committee: JointCommittee):
    for agency in committee.agencies:
        if current_user.has_role(Role.staff, agency, committee.id):
            return agency
    abort(403)


def _label_sides(form: CallForm, committee: JointCommittee) -> list:
    return list(zip(committee.agencies, (form.side_a, form.side_b)))


def _side_labels(form: NewCallForm) -> str:
    """Each committee of the chooser, with its two sides as the form's side legends name them
    (JSON, for an attribute: a plain string, escaped when the field is drawn)."""
    committees = {c.id: c for c in JointCommittee.drafting_for(current_user)}
    return json.dumps({str(c.value): [f"{a.short_name} — {a.country} ({a.currency})" for a in committees[c.value].agencies]
            for c in form.committee_id.choices if c.value in committees}, ensure_ascii=False)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.staff)
def create():
    form = NewCallForm()
    committee = _drafting_committee(form)
    agency = _staff_side(committee)
    if not form.is_submitted():
        form.timezone.data = agency.timezone
        form.criteria.entries[0].form.name.data = _("Scientific excellence")
        form.criteria.entries[0].form.weight.data = Decimal(1)
    if form.validate_on_submit():
        try:
            call = draft_call(current_user, committee, agency.id, _terms_from_form(form, committee))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("The call %(ref)s is drafted; the other side must approve it.", ref=call.reference), "success")
            return redirect(url_for("calls.show", call_id=call.id))
    return render_template("calls/form.html", form=form, sides=_label_sides(form, committee),
                           call=None, side_labels=_side_labels(form)), 422 if form.is_submitted() else 200


@bp.route("/<int:call_id>/edit", methods=["GET", "POST"])
@login_required
def edit(call_id: int):
    call = _load_call(call_id)
    if not call.can_edit(current_user):
        abort(403)
    committee = call.committee
    form = CallForm()
    if not form.is_submitted():
        _fill_form(form, call)
    if form.validate_on_submit():
        try:
            update_call(current_user, call, _terms_from_form(form, committee))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("The call is saved."), "success")
            return redirect(url_for("calls.show", call_id=call.id))
    return render_template("calls/form.html", form=form, sides=_label_sides(form, committee),
                           call=call), 422 if form.is_submitted() else 200


def _fill_form(form: CallForm, call: Call) -> None:
    tz = call.drafted_by_agency.timezone
    form.timezone.data = tz
    form.reference.data = call.reference
    form.title.data = call.title
    form.description.data = call.description
    form.instrument.data = call.instrument.value
    form.stages.data = call.stages.value
    form.opens_at.data = to_zone(call.opens_at, tz).replace(tzinfo=None)
    form.closes_at.data = to_zone(call.closes_at, tz).replace(tzinfo=None)
    if call.full_closes_at:
        form.full_closes_at.data = to_zone(call.full_closes_at, tz).replace(tzinfo=None)
    if call.review_due_at:
        form.review_due_at.data = to_zone(call.review_due_at, tz).replace(tzinfo=None)
    form.duration_months.data = call.duration_months
    form.priority_areas.data = "\n".join(a.name for a in call.priority_areas)
    form.overall_threshold.data = call.overall_threshold
    form.fill_limits(call)
    if call.criteria:
        form.scale_max.data = call.criteria[0].scale_max
        form.scale_step.data = call.criteria[0].scale_step
    while len(form.criteria.entries) < len(call.criteria):
        form.criteria.append_entry()
    for entry, criterion in zip(form.criteria.entries, call.criteria):
        entry.form.name.data = criterion.name
        entry.form.weight.data = criterion.weight
        entry.form.threshold.data = criterion.threshold
    for agency, sub in zip(call.agencies, (form.side_a, form.side_b)):
        side = call.side(agency)
        if side is None:
            continue
        f = sub.form
        f.budget_envelope.data = side.budget_envelope
        f.max_request.data = side.max_request
        f.per_diem.data = side.per_diem
        f.travel_cap.data = side.travel_cap
        f.reviewers_per_proposal.data = side.reviewers_per_proposal
        f.eligibility_rules.data = side.eligibility_rules
        f.required_documents.data = "\n".join(side.required_documents or [])
        f.max_document_pages.data = side.max_document_pages
        f.max_document_mb.data = side.max_document_bytes // (1024 * 1024) if side.max_document_bytes else None
        f.fill_rules(side.eligibility_rule_config)


@bp.route("/<int:call_id>/approve", methods=["POST"])
@login_required
def approve(call_id: int):
    call = _load_call(call_id)
    if not call.can_approve(current_user):
        abort(403)
    form = ApproveForm()
    if form.validate_on_submit():
        approve_call(current_user, call)
        db.session.commit()
        if call.state == CallState.draft:
            flash(_("Your side's approval is recorded."), "success")
        else:
            flash(_("Both sides approved the call; it is now “%(state)s”.", state=call.state.label), "success")
    return redirect(url_for("calls.show", call_id=call.id))


# Amendments of an approved or open call (issue 10).

def _local(instant, tz):
    return to_zone(instant, tz).replace(tzinfo=None, second=0, microsecond=0) if instant else None


def _lines(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def _fill_amendment_form(form: AmendmentForm, call: Call) -> None:
    tz = current_user.effective_timezone
    form.timezone.data = tz
    for name in ("closes_at", "full_closes_at", "review_due_at"):
        getattr(form, name).data = _local(getattr(call, name), tz)
    form.title.data = call.title
    form.description.data = call.description
    for agency, sub in zip(call.agencies, (form.side_a, form.side_b)):
        side = call.side(agency)
        sub.form.required_documents.data = "\n".join(side.required_documents or [])
        sub.form.eligibility_rules.data = side.eligibility_rules


def _amendment_changes(form: AmendmentForm, call: Call) -> dict:
    """What the form changes: an instant whose minute differs from the call's, a text
    that differs beyond its line endings; the rest is left out."""
    tz = form.timezone.data
    changes = {}
    for name in ("closes_at", "full_closes_at", "review_due_at"):
        typed = getattr(form, name).data
        if typed != _local(getattr(call, name), tz):
            changes[name] = local_to_utc(typed, tz) if typed else None
    for name in ("title", "description"):
        if _lines(getattr(form, name).data) != _lines(getattr(call, name)):
            changes[name] = _lines(getattr(form, name).data)
    for agency, sub in zip(call.agencies, (form.side_a, form.side_b)):
        side = call.side(agency)
        documents = [d.strip() for d in _lines(sub.form.required_documents.data).split("\n") if d.strip()]
        if documents != (side.required_documents or []):
            changes[side_key(agency.id, "required_documents")] = documents
        if _lines(sub.form.eligibility_rules.data) != _lines(side.eligibility_rules):
            changes[side_key(agency.id, "eligibility_rules")] = _lines(sub.form.eligibility_rules.data)
    return changes


@bp.route("/<int:call_id>/amendments/new", methods=["GET", "POST"])
@login_required
def propose_amendment(call_id: int):
    call = _load_call(call_id)
    if not call.can_propose_amendment(current_user):
        abort(403)
    form = AmendmentForm()
    if not form.is_submitted():
        _fill_amendment_form(form, call)
    elif form.validate():
        try:
            amendment = propose_call_amendment(current_user, call, _amendment_changes(form, call), form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Amendment %(n)s is proposed; the call changes once the other side approves it.",
                    n=amendment.version), "success")
            return redirect(url_for("calls.show", call_id=call.id, _anchor="amendments"))
    return render_template("calls/amendment_form.html", call=call, form=form,
                           sides=list(zip(call.agencies, (form.side_a, form.side_b)))), \
        422 if form.is_submitted() else 200


def _load_amendment(call_id: int, amendment_id: int) -> CallAmendment:
    call = _load_call(call_id)
    amendment = db.get_or_404(CallAmendment, amendment_id)
    if amendment.call_id != call.id:
        abort(404)
    return amendment


@bp.route("/<int:call_id>/amendments/<int:amendment_id>/approve", methods=["POST"])
@login_required
def approve_amendment(call_id: int, amendment_id: int):
    amendment = _load_amendment(call_id, amendment_id)
    if not amendment.can_approve(current_user):
        abort(403)
    try:
        approve_call_amendment(current_user, amendment)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_show(amendment.call), 422
    db.session.commit()
    flash(_("Amendment %(n)s is applied: the call is now at version %(v)s, and the applicants with "
            "unsubmitted proposals are told by email.", n=amendment.version, v=amendment.call.version), "success")
    return redirect(url_for("calls.show", call_id=call_id, _anchor="amendments"))


@bp.route("/<int:call_id>/amendments/<int:amendment_id>/reject", methods=["POST"])
@login_required
def reject_amendment(call_id: int, amendment_id: int):
    amendment = _load_amendment(call_id, amendment_id)
    if not amendment.can_reject(current_user):
        abort(403)
    form = RejectAmendmentForm()
    try:
        reject_call_amendment(current_user, amendment, form.reason.data or "")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return _render_show(amendment.call, reject_form=form), 422
    db.session.commit()
    flash(_("Amendment %(n)s is rejected; the call stays as it was.", n=amendment.version), "success")
    return redirect(url_for("calls.show", call_id=call_id, _anchor="amendments"))


@bp.route("/<int:call_id>/amendments/<int:amendment_id>/withdraw", methods=["POST"])
@login_required
def withdraw_amendment(call_id: int, amendment_id: int):
    amendment = _load_amendment(call_id, amendment_id)
    if not amendment.can_withdraw(current_user):
        abort(403)
    withdraw_call_amendment(current_user, amendment)
    db.session.commit()
    flash(_("Amendment %(n)s is withdrawn.", n=amendment.version), "success")
    return redirect(url_for("calls.show", call_id=call_id, _anchor="amendments"))
