"""The partner PI's invitation: sent by a PI of the draft, followed by the partner, shown
while pending to the proposal's PIs, who may send it again or cancel it. Routes of the
proposals blueprint."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from cfp.core.errors import DomainError
from cfp.core.loading import load_visible
from cfp.extensions import db
from cfp.proposals.forms import InvitePartnerForm, JoinForm
from cfp.proposals.models import PartnerInvitation, Proposal
from cfp.proposals.operations import (
    cancel_invitation,
    find_invitation,
    invite_partner,
    join_proposal,
    resend_invitation,
)
from cfp.proposals.views import bp


@bp.route("/<int:proposal_id>/invite", methods=["POST"])
@login_required
def invite(proposal_id: int):
    proposal = load_visible(Proposal, proposal_id)
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


def _load_invitation(proposal_id: int, invitation_id: int) -> PartnerInvitation:
    """An invitation of a proposal within the user's scope (404), that they may change (403)."""
    proposal = load_visible(Proposal, proposal_id)
    invitation = db.session.get(PartnerInvitation, invitation_id)
    if invitation is None or invitation.proposal_id != proposal.id:
        abort(404)
    if not invitation.can_change(current_user):
        abort(403)
    return invitation


@bp.route("/<int:proposal_id>/invitations/<int:invitation_id>/resend", methods=["POST"])
@login_required
def resend_partner_invitation(proposal_id: int, invitation_id: int):
    invitation = _load_invitation(proposal_id, invitation_id)
    resend_invitation(current_user, invitation)
    db.session.commit()
    flash(_("A new invitation is on its way to %(email)s; the link sent before no longer works.",
            email=invitation.email), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal_id))


@bp.route("/<int:proposal_id>/invitations/<int:invitation_id>/cancel", methods=["POST"])
@login_required
def cancel_partner_invitation(proposal_id: int, invitation_id: int):
    invitation = _load_invitation(proposal_id, invitation_id)
    cancel_invitation(current_user, invitation)
    db.session.commit()
    flash(_("The invitation to %(email)s is cancelled: its link no longer works.", email=invitation.email),
          "success")
    return redirect(url_for("proposals.show", proposal_id=proposal_id))


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
