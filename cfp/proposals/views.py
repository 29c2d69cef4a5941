from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import lazyload, selectinload

from cfp import local_referrer
from cfp.calls.models import Call
from cfp.core.arrival import arrived_at
from cfp.core.errors import DomainError
from cfp.core.languages import items
from cfp.core.listing import offset_page
from cfp.core.loading import load_visible
from cfp.core.params import whole_number
from cfp.core.roles import Role, role_required
from cfp.core.scope import within
from cfp.extensions import db
from cfp.proposals.content import side_totals, snapshot
from cfp.proposals.documents import (
    delete_document,
    document_path,
    human_size,
    size_limit,
    upload_document,
)
from cfp.proposals.editor import content_from_form, fill_rows, prepare_form
from cfp.proposals.eligibility import review_rule, rule_label
from cfp.proposals.forms import (
    ConfirmForm,
    DeclinePreProposalForm,
    DeleteDocumentForm,
    DocumentForm,
    EligibilityForm,
    ExtensionForm,
    InvitePartnerForm,
    ProposalForm,
    RuleReviewForm,
    SubmitForm,
    WithdrawForm,
)
from cfp.proposals.history import compare
from cfp.proposals.limits import text_usage
from cfp.proposals.lists import staff_proposal_query, staff_proposal_spec
from cfp.proposals.models import (
    EligibilityCheck,
    PartnerInvitation,
    Proposal,
    ProposalDocument,
    ProposalSide,
    ProposalState,
    ProposalVersion,
)
from cfp.proposals.operations import (
    AlreadySubmitted,
    StaleProposal,
    confirm_proposal,
    decide_eligibility,
    decline_pre_proposal,
    grant_extension,
    invite_to_full_stage,
    missing_for_submission,
    save_proposal,
    start_full_proposal,
    start_proposal,
    start_refusal,
    submit_proposal,
    withdraw_proposal,
)
from cfp.proposals.receipt import submitted_pdf
from cfp.proposals.timeline import proposal_timelines
from cfp.proposals.vocabulary import VOCABULARIES

bp = Blueprint("proposals", __name__, url_prefix="/proposals")
bp.add_app_template_global(VOCABULARIES, "vocabularies")  # labels of stored codes, on any page


def _load_check(proposal_id: int, agency_id: int):
    """A side's eligibility check, within the user's scope (404), that they may decide (403)."""
    proposal = load_visible(Proposal, proposal_id)
    check = db.session.scalar(
        sa.select(EligibilityCheck).filter_by(proposal_id=proposal.id, agency_id=agency_id)
    )
    if check is None:
        abort(404)
    if not check.can_decide(current_user):
        abort(403)
    return proposal, check


@bp.route("/mine")
@role_required(Role.researcher)
def mine():
    proposals = offset_page(  # a researcher's own: a few, numbered pages
        sa.select(Proposal).join(ProposalSide).where(ProposalSide.pi_user_id == current_user.id)
        .options(selectinload(Proposal.call)).order_by(Proposal.id.desc())
    )  # sides (with PI and agency) come with them: selectin/joined
    timelines = proposal_timelines([p.id for p in proposals])
    # Invitations to the user's address, once the user proved it is theirs.
    pending = db.session.scalars(
        sa.select(PartnerInvitation).where(
            sa.func.lower(PartnerInvitation.email) == current_user.email.lower(),
            PartnerInvitation.accepted_at.is_(None), PartnerInvitation.cancelled_at.is_(None),
        )
    ).all() if current_user.email_verified else []
    return render_template("proposals/mine.html", proposals=proposals, pending=pending, timelines=timelines)


@bp.route("/new/<int:call_id>", methods=["GET", "POST"])
@role_required(Role.researcher)
def create(call_id: int):
    call = load_visible(Call, call_id)
    refusal = start_refusal(current_user, call)
    if refusal and request.method == "GET":  # said first, not after the form is filled in
        return render_template("proposals/cannot_start.html", call=call, refusal=refusal)
    form = ProposalForm()
    if not form.is_submitted():
        fill_rows(form, None)
    sides = prepare_form(form, call)
    if not form.is_submitted():
        form.duration_months.data = call.duration_months
        if current_user.agency_id == call.agencies[0].id:
            form.institution_a.data = current_user.affiliation
            form.country_a.data = call.agencies[0].country
        else:
            form.institution_b.data = current_user.affiliation
            form.country_b.data = call.agencies[1].country
    if form.validate_on_submit():
        try:
            proposal = start_proposal(current_user, call, content_from_form(form, call))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Your draft is saved. Invite the partner PI of the other side next."), "success")
            return redirect(url_for("proposals.show", proposal_id=proposal.id))
    zero = {"budget": 0, "mobility": 0, "total": 0, "itemised": True}
    return render_template("proposals/form.html", form=form, call=call, sides=sides, proposal=None,
                           totals={a.id: zero for a in call.agencies},
                           limits=text_usage(call, form.data)), 422 if form.is_submitted() else 200


@bp.route("/<int:proposal_id>")
@login_required
def show(proposal_id: int):
    proposal = load_visible(Proposal, proposal_id)
    confirm_form = ConfirmForm(version=proposal.version)
    return render_template(
        "proposals/show.html", proposal=proposal, invite_form=InvitePartnerForm(),
        confirm_form=confirm_form, submit_form=SubmitForm(), withdraw_form=WithdrawForm(),
        eligibility_form=EligibilityForm(), document_form=DocumentForm(), rule_form=RuleReviewForm(),
        rule_label=rule_label,
        delete_document_form=DeleteDocumentForm(), size_limit=size_limit, human_size=human_size, totals=side_totals(proposal),
        missing=missing_for_submission(proposal) if proposal.can_edit(current_user) else [],
        my_side=proposal.pi_side(current_user),
    )


@bp.route("/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int):
    proposal = load_visible(Proposal, proposal_id)
    if not proposal.can_edit(current_user):
        abort(403)
    call = proposal.call
    form = ProposalForm()
    if not form.is_submitted():
        fill_rows(form, proposal)
    sides = prepare_form(form, call, proposal)
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
        for side, phd, country in ((proposal.side(a), form.phd_a, form.country_a),
                                   (proposal.side(b), form.phd_b, form.country_b)):
            phd.data = {True: "yes", False: "no"}.get(side.pi_has_phd, "")
            country.data = side.institution_country
        form.amount_b.data = proposal.side(b).requested_amount
    stale = None
    if form.validate_on_submit():
        version = proposal.version
        confirmed = [s.pi.name for s in proposal.sides
                     if s.confirmed_version == version and s.pi and s.pi_user_id != current_user.id]
        try:
            save_proposal(current_user, proposal, int(form.version.data or 0), content_from_form(form, call))
        except StaleProposal as exc:
            stale = exc.proposal
            flash(exc.message, "warning")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Saved (version %(v)s).", v=proposal.version), "success")
            if confirmed and proposal.version != version:
                flash(_("%(names)s had confirmed version %(old)s: that confirmation no longer counts, and "
                        "we emailed them to confirm version %(v)s.", names=items(confirmed), old=version,
                        v=proposal.version), "info")
            return redirect(url_for("proposals.show", proposal_id=proposal.id))
    return render_template("proposals/form.html", form=form, call=call, sides=sides,
                           proposal=proposal, stale=stale, totals=side_totals(proposal),
                           limits=text_usage(call, form.data)), 422 if form.is_submitted() else 200


@bp.route("/<int:proposal_id>/confirm", methods=["POST"])
@login_required
def confirm(proposal_id: int):
    proposal = load_visible(Proposal, proposal_id)
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
    proposal = load_visible(Proposal, proposal_id)
    if proposal.pi_side(current_user) is None:
        abort(403)
    if SubmitForm().validate_on_submit():
        try:
            submit_proposal(current_user, proposal, now=arrived_at())
            reference = proposal.reference  # read before the commit expires it (a reload, in the rush)
            db.session.commit()
        except AlreadySubmitted as exc:  # both PIs clicked: the other one's counted
            db.session.rollback()
            flash(exc.message, "info")
        else:
            flash(_("Submitted. The reference is %(ref)s; both PIs get a receipt.", ref=reference), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal_id))


@bp.route("/<int:proposal_id>/withdraw", methods=["POST"])
@login_required
def withdraw(proposal_id: int):
    proposal = load_visible(Proposal, proposal_id)
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
    listing = staff_proposal_spec(current_user).read()
    # Grows with every call: keyset pages on (sort value, id), never OFFSET.
    # The rows show no side: their sides (and the PIs and the PIs' roles they would load
    # with them) are left to load on use, two queries and a hundred objects fewer a page.
    proposals = listing.page(staff_proposal_query(current_user).options(lazyload(Proposal.sides)))
    call_id = int(listing.filters["call"]) if "call" in listing.filters else None
    my_calls = sa.select(Call.id).where(within(current_user, Call.committee_id, Role.staff))
    pre_query = (
        sa.select(Proposal)
        .where(Proposal.call_id.in_(my_calls), Proposal.state == ProposalState.pre_proposal, Proposal.pre_submitted_at.is_not(None))
        .options(selectinload(Proposal.call)).order_by(Proposal.pre_submitted_at, Proposal.id)
    )
    if call_id:
        pre_query = pre_query.where(Proposal.call_id == call_id)
    pre_proposals = offset_page(pre_query, param="pre_page")  # one stage of one call: few
    return render_template("proposals/staff_index.html", proposals=proposals, sides=sides,
                           listing=listing, pre_proposals=pre_proposals)


@bp.route("/<int:proposal_id>/eligibility/<int:agency_id>", methods=["POST"])
@role_required(Role.staff)
def eligibility(proposal_id: int, agency_id: int):
    proposal, check = _load_check(proposal_id, agency_id)
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


@bp.errorhandler(413)
def too_large(error):
    """A request over the app's upload limit (MAX_CONTENT_LENGTH) never reaches the view."""
    flash(_("The file is larger than the %(limit)s the site accepts.",
            limit=human_size(request.max_content_length or 0)), "danger")
    proposal_id = (request.view_args or {}).get("proposal_id")
    if proposal_id is None:
        return redirect(url_for("proposals.mine"))
    return redirect(url_for("proposals.show", proposal_id=proposal_id))


@bp.route("/<int:proposal_id>/documents/<int:agency_id>", methods=["POST"])
@login_required
def upload(proposal_id: int, agency_id: int):
    proposal = load_visible(Proposal, proposal_id)
    if proposal.call.side(agency_id) is None:
        abort(404)
    if not proposal.can_edit(current_user):
        abort(403)
    form = DocumentForm()
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        flash(_("Choose a PDF file to upload."), "danger")
    else:
        try:
            upload_document(current_user, proposal, agency_id, form.kind.data, upload.filename, upload.read())
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Uploaded %(kind)s.", kind=form.kind.data), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal.id) + "#documents")


def _load_document(proposal: Proposal, document_id: int) -> ProposalDocument:
    document = db.session.get(ProposalDocument, document_id)
    if document is None or document.proposal_id != proposal.id:
        abort(404)
    return document


@bp.route("/<int:proposal_id>/documents/file/<int:document_id>")
@login_required
def download(proposal_id: int, document_id: int):
    proposal = load_visible(Proposal, proposal_id)
    document = _load_document(proposal, document_id)
    path = document_path(document)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=document.original_name)


@bp.route("/<int:proposal_id>/documents/file/<int:document_id>/delete", methods=["POST"])
@login_required
def delete_document_view(proposal_id: int, document_id: int):
    proposal = load_visible(Proposal, proposal_id)
    document = _load_document(proposal, document_id)
    if not proposal.can_edit(current_user):
        abort(403)
    if DeleteDocumentForm().validate_on_submit():
        delete_document(current_user, proposal, document)
        db.session.commit()
        flash(_("Deleted %(kind)s.", kind=document.kind), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal.id) + "#documents")


@bp.route("/<int:proposal_id>/history")
@login_required
def history(proposal_id: int):
    """Every saved version (who, when); any two compared field by field."""
    proposal = load_visible(Proposal, proposal_id)
    versions = db.session.scalars(
        sa.select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id)
        .options(selectinload(ProposalVersion.created_by)).order_by(ProposalVersion.version.desc())
    ).all()
    by_number = {v.version: v for v in versions}
    a = request.args.get("a", type=whole_number)
    b = request.args.get("b", type=whole_number)
    changes = None
    if a is not None and b is not None:
        if a not in by_number or b not in by_number:
            abort(404)
        changes = compare(proposal, by_number[a].snapshot, by_number[b].snapshot)
    elif len(versions) >= 2:
        a, b = versions[1].version, versions[0].version
    return render_template("proposals/history.html", proposal=proposal, versions=versions,
                           a=a, b=b, changes=changes)


@bp.route("/<int:proposal_id>/submitted.pdf")
@login_required
def submitted_pdf_view(proposal_id: int):
    """The PDF of what was submitted (linked from the receipt), for the proposal's viewers."""
    proposal = load_visible(Proposal, proposal_id)
    if proposal.submitted_at is None:
        abort(404)
    version = db.session.scalar(sa.select(ProposalVersion).filter_by(proposal_id=proposal.id,
                                                                     version=proposal.version))
    # Content is frozen once submitted: without a snapshot (older data), the current content is it.
    content = version.snapshot if version is not None else snapshot(proposal)
    data = submitted_pdf(proposal, content, current_user.effective_timezone)
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"{proposal.reference}.pdf")


def _staff_calls():
    from cfp.calls.models import CallState

    calls = db.session.scalars(
        sa.select(Call).where(Call.state.in_([CallState.open, CallState.closed, CallState.in_review]))
        .order_by(Call.closes_at.desc())
    ).all()
    return [c for c in calls if c.is_staff(current_user)]


@bp.route("/extensions")
@role_required(Role.staff)
def extensions():
    """Unsubmitted proposals of the open, closed and in-review calls of the staff member's
    agency, so that an individual extension can be granted to (or read on) one of them."""
    calls = _staff_calls()
    proposals = offset_page(  # unsubmitted ones of open calls: numbered pages
        sa.select(Proposal).where(Proposal.call_id.in_([c.id for c in calls] or [0]),
                                  Proposal.state.in_([ProposalState.draft, ProposalState.pre_proposal]))
        .options(selectinload(Proposal.call)).order_by(Proposal.call_id, Proposal.id)
    )
    return render_template("proposals/extensions.html", proposals=proposals, form=ExtensionForm())


@bp.route("/<int:proposal_id>/extension", methods=["POST"])
@role_required(Role.staff)
def extension(proposal_id: int):
    from cfp.core.timezones import local_to_utc

    proposal = db.get_or_404(Proposal, proposal_id)
    if not proposal.call.is_staff(current_user):
        abort(404)
    form = ExtensionForm()
    if form.validate_on_submit():
        until = local_to_utc(form.until.data, current_user.effective_timezone)
        try:
            grant_extension(current_user, proposal, until, form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Extension granted to “%(title)s”.", title=proposal.title), "success")
    else:
        flash(_("Give the new closing instant and the reason."), "danger")
    return redirect(local_referrer(url_for("proposals.extensions")))


@bp.route("/<int:proposal_id>/eligibility/<int:agency_id>/rules/<int:index>", methods=["POST"])
@role_required(Role.staff)
def eligibility_rule(proposal_id: int, agency_id: int, index: int):
    """Staff of a side confirm or override one automatic rule result, with a reason."""
    proposal, check = _load_check(proposal_id, agency_id)
    form = RuleReviewForm()
    if form.validate_on_submit():
        try:
            review_rule(current_user, check, index, form.passed.data == "yes", form.reason.data or "")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Rule result recorded."), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal.id) + "#eligibility")


@bp.route("/<int:proposal_id>/invite-full-stage", methods=["POST"])
@role_required(Role.staff)
def invite_full_stage(proposal_id: int):
    proposal = load_visible(Proposal, proposal_id)
    if not proposal.can_invite_to_full_stage(current_user):
        abort(403)
    invite_to_full_stage(current_user, proposal)
    db.session.commit()
    flash(_("“%(title)s” is invited to the full stage; both PIs are told.", title=proposal.title), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal.id))


@bp.route("/<int:proposal_id>/decline", methods=["GET", "POST"])
@role_required(Role.staff)
def decline(proposal_id: int):
    """Staff of the call decline a submitted pre-proposal, giving the PIs the reason."""
    proposal = load_visible(Proposal, proposal_id)
    if not proposal.is_staff(current_user):
        abort(403)
    form = DeclinePreProposalForm()
    if form.validate_on_submit():
        try:
            decline_pre_proposal(current_user, proposal, form.reason.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("“%(title)s” is declined; both PIs are told why.", title=proposal.title), "success")
            return redirect(url_for("proposals.staff_index", call=proposal.call_id))
    return render_template("proposals/decline.html", proposal=proposal, form=form), \
        422 if form.is_submitted() else 200


@bp.route("/<int:proposal_id>/start-full", methods=["POST"])
@login_required
def start_full(proposal_id: int):
    proposal = load_visible(Proposal, proposal_id)
    if proposal.pi_side(current_user) is None:
        abort(403)
    start_full_proposal(current_user, proposal)
    db.session.commit()
    flash(_("The full proposal is open: complete it, both confirm it, then submit."), "success")
    return redirect(url_for("proposals.edit", proposal_id=proposal.id))


from cfp.proposals import exports, partner_views  # noqa: F401  (their routes, on this blueprint)
