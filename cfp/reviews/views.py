"""The review stage's pages. This module holds the blueprint and what a reviewer sees
(their assignments, the proposal, their review, their profile); staff pages are in
staff_views.py and automatic assignment in automatic_views.py, on the same blueprint."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from cfp.core.errors import DomainError
from cfp.core.listing import offset_page
from cfp.core.roles import Role, role_required
from cfp.extensions import db
from cfp.proposals.content import side_totals
from cfp.proposals.documents import document_path, human_size
from cfp.proposals.models import Proposal, ProposalDocument
from cfp.reviews import pool as pool_ops
from cfp.reviews.forms import (
    AnswerForm,
    InterestsForm,
    JoinPoolForm,
    ProfileForm,
    plain_number,
    review_form_class,
)
from cfp.reviews.models import (
    Assignment,
    Recommendation,
    Review,
    ReviewerProfile,
    ReviewState,
)
from cfp.reviews.operations import answer_invitation, declare_interests, save_review

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


def _load_assignment(assignment_id: int) -> Assignment:
    assignment = db.get_or_404(Assignment, assignment_id)
    if not (assignment.is_reviewer(current_user) or assignment.can_manage(current_user)):
        abort(404)
    return assignment


@bp.route("/mine")
@role_required(Role.reviewer)
def mine():
    assignments = offset_page(  # a reviewer's own: a few, numbered pages
        sa.select(Assignment).where(Assignment.reviewer_id == current_user.id)
        .options(selectinload(Assignment.proposal).selectinload(Proposal.call))
        .order_by(Assignment.due_at, Assignment.id)
    )
    return render_template("reviews/mine.html", assignments=assignments)


@bp.route("/assignments/<int:assignment_id>")
@login_required
def assignment(assignment_id: int):
    assignment = _load_assignment(assignment_id)
    if not assignment.is_reviewer(current_user):
        # Staff see the assignment's status, not the review form.
        return redirect(url_for("reviews.assign", proposal_id=assignment.proposal_id))
    return _render_assignment(assignment, _review_form(assignment))


def _review_form(assignment):
    """The review form, filled in with the saved review when nothing was posted."""
    criteria = assignment.proposal.call.criteria
    form = review_form_class(criteria)(obj=None)
    review = assignment.review
    if review is not None and not form.is_submitted():
        form.comments_to_applicants.data = review.comments_to_applicants
        form.confidential_comments.data = review.confidential_comments
        form.recommendation.data = review.recommendation.value if review.recommendation else ""
        for c in criteria:
            getattr(form, f"score_{c.id}").data = review.score_for(c)
    return form


def _render_assignment(assignment, form, interests_form=None):
    criteria = assignment.proposal.call.criteria
    side_reviews = []
    if assignment.can_see_side_reviews(current_user):
        side_reviews = db.session.scalars(
            sa.select(Review).join(Assignment, Assignment.id == Review.assignment_id)
            .where(Assignment.proposal_id == assignment.proposal_id,
                   Assignment.agency_id == assignment.agency_id,  # never the other side's
                   Assignment.id != assignment.id, Review.state == ReviewState.submitted)
            .order_by(Review.submitted_at)
        ).all()
    show_proposal = assignment.can_see_proposal(current_user)
    return render_template(
        "reviews/assignment.html", assignment=assignment, answer_form=AnswerForm(),
        interests_form=interests_form or InterestsForm(formdata=None), form=form,
        score_fields=[(c, getattr(form, f"score_{c.id}")) for c in criteria],
        show_proposal=show_proposal, side_reviews=side_reviews, criteria=criteria, plain=plain_number,
        totals=side_totals(assignment.proposal) if show_proposal else None, human_size=human_size,
    )


@bp.route("/assignments/<int:assignment_id>/documents/<int:document_id>")
@login_required
def document(assignment_id: int, document_id: int):
    """A document of the proposal, for its reviewer once they accepted and declared no
    conflict of interest (staff download it from the proposal's page)."""
    assignment = db.get_or_404(Assignment, assignment_id)
    if not assignment.can_see_proposal(current_user):
        abort(404)
    document = db.session.get(ProposalDocument, document_id)
    if document is None or document.proposal_id != assignment.proposal_id:
        abort(404)
    path = document_path(document)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=document.original_name)


@bp.route("/assignments/<int:assignment_id>/answer", methods=["POST"])
@login_required
def answer(assignment_id: int):
    assignment = _load_assignment(assignment_id)
    if not assignment.can_answer(current_user):
        abort(403)
    form = AnswerForm()
    if form.validate_on_submit():
        accept = bool(form.accept.data)
        answer_invitation(current_user, assignment, accept)
        db.session.commit()
        flash(_("Thank you. Now declare your interests.") if accept else _("You declined the invitation."), "success")
    return redirect(url_for("reviews.assignment", assignment_id=assignment.id) if assignment.state.value == "accepted" else url_for("reviews.mine"))


@bp.route("/assignments/<int:assignment_id>/interests", methods=["POST"])
@login_required
def interests(assignment_id: int):
    assignment = _load_assignment(assignment_id)
    if not assignment.is_reviewer(current_user):
        abort(403)
    form = InterestsForm()
    if not form.validate_on_submit():
        # Back to the page with the reason and what is missing, nothing recorded.
        return _render_assignment(assignment, _review_form(assignment), interests_form=form), 422
    try:
        declare_interests(current_user, assignment, form.conflict.data == "yes", form.reason.data or "")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        assignment = db.session.get(Assignment, assignment_id)
        return _render_assignment(assignment, _review_form(assignment), interests_form=form), 422
    db.session.commit()
    if form.conflict.data == "yes":
        flash(_("Your conflict is recorded; you are released from this review."), "info")
        return redirect(url_for("reviews.mine"))
    flash(_("Declaration recorded; the proposal is now shown."), "success")
    return redirect(url_for("reviews.assignment", assignment_id=assignment.id))


@bp.route("/assignments/<int:assignment_id>/review", methods=["POST"])
@login_required
def review(assignment_id: int):
    assignment = _load_assignment(assignment_id)
    if not assignment.can_review(current_user):
        abort(403)
    criteria = assignment.proposal.call.criteria
    form = review_form_class(criteria)()
    if form.validate_on_submit():
        scores = {c.id: getattr(form, f"score_{c.id}").data for c in criteria}
        submit = bool(form.submit.data)
        revising = assignment.review is not None and assignment.review.state == ReviewState.submitted
        try:
            save_review(
                current_user, assignment, scores, form.comments_to_applicants.data,
                form.confidential_comments.data,
                Recommendation(form.recommendation.data) if form.recommendation.data else None,
                submit=submit,
            )
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            assignment = db.session.get(Assignment, assignment_id)
            return _render_assignment(assignment, form), 422
        else:
            db.session.commit()
            if not submit:
                flash(_("Draft saved."), "success")
                return redirect(url_for("reviews.assignment", assignment_id=assignment.id) + "#review")
            flash(_("Your revised review is submitted; the ranking of your side is recomputed.") if revising
                  else _("Your review is submitted. Thank you."), "success")
            return redirect(url_for("reviews.assignment", assignment_id=assignment.id) + "#my-review")
    # Re-render with what was typed and the errors beside the fields.
    assignment = db.session.get(Assignment, assignment_id)
    return _render_assignment(assignment, form), 422 if form.errors else 200


@bp.route("/pool/join/<token>", methods=["GET", "POST"])
def join_pool(token: str):
    invitation = pool_ops.find_invitation(token)
    if invitation is None:
        abort(404)
    form = JoinPoolForm()
    if form.validate_on_submit():
        try:
            pool_ops.accept_invitation(token, current_user, form.password.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Welcome to the reviewers of %(agency)s. Complete your profile.", agency=invitation.agency.short_name),
                  "success")
            return redirect(url_for("reviews.profile") if current_user.is_authenticated else url_for("auth.login"))
    return render_template("reviews/join_pool.html", invitation=invitation, form=form)


@bp.route("/profile", methods=["GET", "POST"])
@role_required(Role.reviewer)
def profile():
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=current_user.id))
    if profile is None:
        abort(404)
    form = ProfileForm(obj=profile)
    if form.validate_on_submit():
        try:
            pool_ops.update_profile(current_user, profile, keywords=form.keywords.data or "",
                                    expertise=form.expertise.data or "", max_load=form.max_load.data,
                                    conflicts=form.conflicts.data or "",
                                    unavailable_from=form.unavailable_from.data,
                                    unavailable_until=form.unavailable_until.data,
                                    country=form.country.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Your reviewer profile is saved."), "success")
            return redirect(url_for("reviews.profile"))
    return render_template("reviews/profile.html", form=form, profile=profile), 422 if form.errors else 200


# The staff's pages, on this blueprint (imported last: they import `bp` from here).
from cfp.reviews import automatic_views, exports, staff_views  # noqa: F401
