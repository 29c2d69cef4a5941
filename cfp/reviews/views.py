from __future__ import annotations

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from cfp.auth.models import User
from cfp.calls.models import Call
from cfp import local_referrer
from cfp.core.errors import DomainError
from cfp.core.forms import options
from cfp.core.roles import Role, role_required
from cfp.core.timezones import local_to_utc, to_zone
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import Proposal
from cfp.reviews.forms import AnswerForm, AssignForm, InterestsForm, review_form_class
from cfp.reviews.models import Assignment, RankingEntry, Recommendation, ReviewerProfile
from cfp.reviews.operations import (
    answer_invitation, assign_reviewer, declare_interests, save_review,
)

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


def _load_assignment(assignment_id: int) -> Assignment:
    assignment = db.get_or_404(Assignment, assignment_id)
    if not (assignment.is_reviewer(current_user) or assignment.can_manage(current_user)):
        abort(404)
    return assignment


@bp.route("/mine")
@role_required(Role.reviewer)
def mine():
    assignments = db.session.scalars(
        sa.select(Assignment).where(Assignment.reviewer_id == current_user.id).order_by(Assignment.due_at)
    ).all()
    return render_template("reviews/mine.html", assignments=assignments)


@bp.route("/assignments/<int:assignment_id>")
@login_required
def assignment(assignment_id: int):
    assignment = _load_assignment(assignment_id)
    if not assignment.is_reviewer(current_user):
        # Staff see the assignment's status, not the review form.
        return redirect(url_for("reviews.assign", proposal_id=assignment.proposal_id))
    criteria = assignment.proposal.call.criteria
    form = review_form_class(criteria)(obj=None)
    review = assignment.review
    if review is not None and not form.is_submitted():
        form.comments_to_applicants.data = review.comments_to_applicants
        form.confidential_comments.data = review.confidential_comments
        form.recommendation.data = review.recommendation.value if review.recommendation else ""
        for c in criteria:
            getattr(form, f"score_{c.id}").data = review.score_for(c)
    return _render_assignment(assignment, form)


def _render_assignment(assignment, form):
    criteria = assignment.proposal.call.criteria
    return render_template(
        "reviews/assignment.html", assignment=assignment, answer_form=AnswerForm(),
        interests_form=InterestsForm(), form=form,
        score_fields=[getattr(form, f"score_{c.id}") for c in criteria],
        show_proposal=assignment.can_see_proposal(current_user),
    )


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
    if form.validate_on_submit():
        try:
            declare_interests(current_user, assignment, form.conflict.data == "yes", form.reason.data or "")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
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
        else:
            db.session.commit()
            flash(_("Your review is submitted. Thank you.") if submit else _("Draft saved."), "success")
            return redirect(url_for("reviews.mine") if submit else url_for("reviews.assignment", assignment_id=assignment.id))
    # Re-render with what was typed and the errors beside the fields.
    assignment = db.session.get(Assignment, assignment_id)
    return _render_assignment(assignment, form), 422 if form.errors else 200


@bp.route("/assign/<int:proposal_id>", methods=["GET", "POST"])
@role_required(Role.staff)
def assign(proposal_id: int):
    proposal = db.get_or_404(Proposal, proposal_id)
    if not proposal.can_view(current_user):
        abort(404)
    sides = [s.agency_id for s in proposal.sides if current_user.has_role(Role.staff, s.agency_id)]
    if not sides:
        abort(403)
    agency_id = sides[0]
    pool = db.session.scalars(
        sa.select(User).join(ReviewerProfile, ReviewerProfile.user_id == User.id)
        .where(ReviewerProfile.agency_id == agency_id).order_by(User.name)
    ).all()
    form = AssignForm()
    form.reviewer_id.choices = options([(u.id, f"{u.name} — {u.affiliation or ''}") for u in pool])
    if not form.is_submitted():
        due = proposal.call.review_due_at or (utcnow() + timedelta(days=30))
        form.due_at.data = to_zone(due, current_user.effective_timezone).replace(tzinfo=None)
    if form.validate_on_submit():
        reviewer = db.session.get(User, form.reviewer_id.data)
        try:
            assign_reviewer(current_user, proposal, reviewer, agency_id,
                            local_to_utc(form.due_at.data, current_user.effective_timezone))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("%(name)s is invited to review.", name=reviewer.name), "success")
            return redirect(url_for("reviews.assign", proposal_id=proposal.id))
    assignments = db.session.scalars(
        sa.select(Assignment).filter_by(proposal_id=proposal.id, agency_id=agency_id).order_by(Assignment.id)
    ).all()
    return render_template("reviews/assign.html", proposal=proposal, form=form, assignments=assignments,
                           agency=proposal.side(agency_id).agency)


@bp.route("/staff")
@role_required(Role.staff)
def staff_index():
    """Review progress per call for the staff member's side(s)."""
    sides = current_user.staff_side_ids()
    rows = db.session.execute(
        sa.select(Proposal.call_id, Assignment.state, sa.func.count())
        .join(Assignment, Assignment.proposal_id == Proposal.id)
        .where(Assignment.agency_id.in_(sides))
        .group_by(Proposal.call_id, Assignment.state)
    ).all()
    progress: dict[int, Counter] = {}
    for call_id, state, count in rows:
        progress.setdefault(call_id, Counter())[state.value] = count
    calls = db.session.scalars(sa.select(Call).where(Call.id.in_(progress.keys()) if progress else sa.false())
                               .order_by(Call.opens_at.desc())).all()
    all_calls = db.session.scalars(sa.select(Call).order_by(Call.opens_at.desc())).all()
    return render_template("reviews/staff_index.html", calls=calls, progress=progress, all_calls=all_calls)


@bp.route("/ranking/<int:call_id>")
@login_required
def ranking(call_id: int):
    """A side's ranking: staff see their own side's only."""
    call = db.get_or_404(Call, call_id)
    if not call.can_view(current_user):
        abort(404)
    if current_user.is_secretariat or current_user.has_role(Role.cochair):
        return redirect(url_for("committee.joint_ranking", call_id=call.id))
    sides = [a for a in call.agencies if current_user.has_role(Role.staff, a)]
    if not sides:
        abort(403)
    agency = sides[0]
    entries = db.session.scalars(
        sa.select(RankingEntry).filter_by(call_id=call.id, agency_id=agency.id)
        .order_by(RankingEntry.rank.is_(None), RankingEntry.rank)
    ).all()
    return render_template("reviews/ranking.html", call=call, agency=agency, entries=entries)


@bp.route("/ranking/<int:call_id>/recompute", methods=["POST"])
@role_required(Role.staff)
def recompute(call_id: int):
    call = db.get_or_404(Call, call_id)
    from workers.reviews import recompute_ranking

    for agency in call.agencies:
        if current_user.has_role(Role.staff, agency):
            recompute_ranking.delay(call.id, agency.id)
    flash(_("The ranking is being recomputed."), "info")
    return redirect(local_referrer(url_for("reviews.ranking", call_id=call.id)))
