from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from cfp.calls.models import Call
from cfp import local_referrer
from cfp.core.errors import DomainError
from cfp.core.forms import options
from cfp.core.roles import Role, role_required
from cfp.extensions import db
from cfp.proposals.forms import (
    ConfirmForm, EligibilityForm, InvitePartnerForm, JoinForm, ProposalForm, SubmitForm,
    WithdrawForm,
)
from cfp.proposals.models import EligibilityCheck, PartnerInvitation, Proposal, ProposalSide, ProposalState
from cfp.proposals.operations import (
    ProposalContent, StaleProposal, confirm_proposal, decide_eligibility, find_invitation,
    invite_partner, join_proposal, missing_for_submission, save_proposal, start_proposal,
    submit_proposal, withdraw_proposal,
)

bp = Blueprint("proposals", __name__, url_prefix="/proposals")


def _load(proposal_id: int) -> Proposal:
    proposal = db.get_or_404(Proposal, proposal_id)
    if not proposal.can_view(current_user):
        abort(404)
    return proposal


def _content(form: ProposalForm, call: Call) -> ProposalContent:
    a, b = call.agencies
    return ProposalContent(
        title=form.title.data, acronym=form.acronym.data, abstract=form.abstract.data,
        keywords=form.keywords.data, priority_area_id=form.priority_area_id.data or None,
        duration_months=form.duration_months.data,
        institutions={a.id: form.institution_a.data, b.id: form.institution_b.data},
        requested_amounts={a.id: form.amount_a.data, b.id: form.amount_b.data},
    )


def _prepare(form: ProposalForm, call: Call) -> list:
    form.priority_area_id.choices = options([(0, "—")] + [(p.id, p.name) for p in call.priority_areas])
    a, b = call.agencies
    sides = []
    for agency, inst, amount in ((a, form.institution_a, form.amount_a),
                                 (b, form.institution_b, form.amount_b)):
        call_side = call.side(agency)
        inst.label.text = _("Institution (%(side)s)", side=agency.short_name)
        amount.label.text = _("Requested from %(side)s (%(cur)s, at most %(cap)s)",
                              side=agency.short_name, cur=call_side.currency, cap=call_side.max_request)
        sides.append((agency, inst, amount))
    return sides


@bp.route("/mine")
@role_required(Role.researcher)
def mine():
    proposals = db.session.scalars(
        sa.select(Proposal).join(ProposalSide).where(ProposalSide.pi_user_id == current_user.id)
        .options(selectinload(Proposal.call)).order_by(Proposal.id.desc())
    ).unique().all()
    pending = db.session.scalars(
        sa.select(PartnerInvitation).where(
            sa.func.lower(PartnerInvitation.email) == current_user.email.lower(),
            PartnerInvitation.accepted_at.is_(None),
        )
    ).all()
    return render_template("proposals/mine.html", proposals=proposals, pending=pending)


@bp.route("/new/<int:call_id>", methods=["GET", "POST"])
@role_required(Role.researcher)
def create(call_id: int):
    call = db.get_or_404(Call, call_id)
    if not call.can_view(current_user):
        abort(404)
    form = ProposalForm()
    sides = _prepare(form, call)
    if not form.is_submitted():
        form.duration_months.data = call.duration_months
        if current_user.agency_id == call.agencies[0].id:
            form.institution_a.data = current_user.affiliation
        else:
            form.institution_b.data = current_user.affiliation
    if form.validate_on_submit():
        try:
            proposal = start_proposal(current_user, call, _content(form, call))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Your draft is saved. Invite the partner PI of the other side next."), "success")
            return redirect(url_for("proposals.show", proposal_id=proposal.id))
    return render_template("proposals/form.html", form=form, call=call, sides=sides, proposal=None)


@bp.route("/<int:proposal_id>")
@login_required
def show(proposal_id: int):
    proposal = _load(proposal_id)
    confirm_form = ConfirmForm(version=proposal.version)
    return render_template(
        "proposals/show.html", proposal=proposal, invite_form=InvitePartnerForm(),
        confirm_form=confirm_form, submit_form=SubmitForm(), withdraw_form=WithdrawForm(),
        eligibility_form=EligibilityForm(),
        missing=missing_for_submission(proposal) if proposal.state == ProposalState.draft else [],
        my_side=proposal.pi_side(current_user),
    )


@bp.route("/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int):
    proposal = _load(proposal_id)
    if not proposal.can_edit(current_user):
        abort(403)
    call = proposal.call
    form = ProposalForm()
    sides = _prepare(form, call)
    if not form.is_submitted():
        a, b = call.agencies
        form.version.data = proposal.version
        form.title.data = proposal.title
        form.acronym.data = proposal.acronym
        form.abstract.data = proposal.abstract
        form.keywords.data = proposal.keywords
        form.priority_area_id.data = proposal.priority_area_id or 0
        form.duration_months.data = proposal.duration_months
        form.institution_a.data = proposal.side(a).institution
        form.amount_a.data = proposal.side(a).requested_amount
        form.institution_b.data = proposal.side(b).institution
        form.amount_b.data = proposal.side(b).requested_amount
    stale = None
    if form.validate_on_submit():
        try:
            save_proposal(current_user, proposal, int(form.version.data or 0), _content(form, call))
        except StaleProposal as exc:
            stale = exc.proposal
            flash(exc.message, "warning")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Saved (version %(v)s).", v=proposal.version), "success")
            return redirect(url_for("proposals.show", proposal_id=proposal.id))
    return render_template("proposals/form.html", form=form, call=call, sides=sides,
                           proposal=proposal, stale=stale)


@bp.route("/<int:proposal_id>/invite", methods=["POST"])
@login_required
def invite(proposal_id: int):
    proposal = _load(proposal_id)
    if proposal.pi_side(current_user) is None:
        abort(403)
    form = InvitePartnerForm()
    if form.validate_on_submit():
        invite_partner(current_user, proposal, form.email.data)
        db.session.commit()
        flash(_("The invitation is on its way to %(email)s.", email=form.email.data), "success")
    else:
        for error in form.email.errors:
            flash(error, "danger")
    return redirect(url_for("proposals.show", proposal_id=proposal.id))


@bp.route("/join/<token>", methods=["GET", "POST"])
@login_required
def join(token: str):
    invitation = find_invitation(token)
    if invitation is None:
        abort(404)
    form = JoinForm()
    if form.validate_on_submit():
        try:
            proposal = join_proposal(current_user, token)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("You joined the proposal as PI of your side."), "success")
            return redirect(url_for("proposals.show", proposal_id=proposal.id))
    return render_template("proposals/join.html", invitation=invitation, form=form)


@bp.route("/<int:proposal_id>/confirm", methods=["POST"])
@login_required
def confirm(proposal_id: int):
    proposal = _load(proposal_id)
    if proposal.pi_side(current_user) is None:
        abort(403)
    form = ConfirmForm()
    if form.validate_on_submit():
        confirm_proposal(current_user, proposal, int(form.version.data))
        db.session.commit()
        flash(_("You confirmed version %(v)s.", v=proposal.version), "success")
    else:
        flash(_("Tick the box to confirm this version."), "danger")
    return redirect(url_for("proposals.show", proposal_id=proposal.id))


@bp.route("/<int:proposal_id>/submit", methods=["POST"])
@login_required
def submit(proposal_id: int):
    proposal = _load(proposal_id)
    if proposal.pi_side(current_user) is None:
        abort(403)
    if SubmitForm().validate_on_submit():
        submit_proposal(current_user, proposal)
        db.session.commit()
        flash(_("Submitted. The reference is %(ref)s; both PIs get a receipt.", ref=proposal.reference), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal.id))


@bp.route("/<int:proposal_id>/withdraw", methods=["POST"])
@login_required
def withdraw(proposal_id: int):
    proposal = _load(proposal_id)
    if not proposal.can_withdraw(current_user):
        abort(403)
    form = WithdrawForm()
    if form.validate_on_submit():
        withdraw_proposal(current_user, proposal, form.reason.data)
        db.session.commit()
        flash(_("The proposal is withdrawn; your partner is told."), "success")
    else:
        flash(_("Give a reason for the withdrawal."), "danger")
    return redirect(url_for("proposals.show", proposal_id=proposal.id))


@bp.route("/staff")
@role_required(Role.staff)
def staff_index():
    """Submitted proposals of every call, with this staff member's side's eligibility."""
    sides = current_user.staff_side_ids()
    call_id = request.args.get("call", type=int)
    query = (
        sa.select(Proposal)
        .where(Proposal.state.not_in([ProposalState.draft, ProposalState.pre_proposal]),
               Proposal.submitted_at.is_not(None))
        .options(selectinload(Proposal.eligibility_checks), selectinload(Proposal.call))
        .order_by(Proposal.reference)
    )
    if call_id:
        query = query.where(Proposal.call_id == call_id)
    proposals = db.session.scalars(query).all()
    calls = db.session.scalars(sa.select(Call).order_by(Call.opens_at.desc())).all()
    return render_template("proposals/staff_index.html", proposals=proposals, sides=sides,
                           calls=calls, call_id=call_id)


@bp.route("/<int:proposal_id>/eligibility/<int:agency_id>", methods=["POST"])
@role_required(Role.staff)
def eligibility(proposal_id: int, agency_id: int):
    proposal = _load(proposal_id)
    check = db.session.scalar(
        sa.select(EligibilityCheck).filter_by(proposal_id=proposal.id, agency_id=agency_id)
    )
    if check is None:
        abort(404)
    if not check.can_decide(current_user):
        abort(403)
    form = EligibilityForm()
    if form.validate_on_submit():
        try:
            decide_eligibility(current_user, check, form.decision.data == "eligible", form.reason.data or "")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Eligibility recorded for %(ref)s.", ref=proposal.reference), "success")
    return redirect(local_referrer(url_for("proposals.show", proposal_id=proposal.id)))
