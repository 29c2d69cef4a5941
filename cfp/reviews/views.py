from __future__ import annotations

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from cfp import local_referrer
from cfp.auth.models import User
from cfp.calls.models import Agency, Call
from cfp.core.errors import DomainError
from cfp.core.forms import options
from cfp.core.jobs import Job
from cfp.core.loading import load_visible
from cfp.core.params import whole_number
from cfp.core.roles import Role, role_required
from cfp.core.timezones import local_to_utc, to_zone
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import Proposal
from cfp.reviews import automatic
from cfp.reviews import pool as pool_ops
from cfp.reviews.forms import (
    AnswerForm,
    ApproveForm,
    AssignForm,
    AutomaticStartForm,
    ExtendForm,
    InterestsForm,
    JoinPoolForm,
    PairForm,
    PoolImportForm,
    PoolInviteForm,
    ProfileForm,
    ReviewSettingsForm,
    review_form_class,
)
from cfp.reviews.models import (
    Assignment,
    RankingEntry,
    Recommendation,
    Review,
    ReviewerInvitation,
    ReviewerProfile,
    ReviewState,
)
from cfp.reviews.operations import (
    answer_invitation,
    assign_reviewer,
    declare_interests,
    extend_due_date,
    queue_ranking_recomputation,
    save_review,
    staff_replace_reviewer,
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
    side_reviews = []
    if assignment.can_see_side_reviews(current_user):
        side_reviews = db.session.scalars(
            sa.select(Review).join(Assignment, Assignment.id == Review.assignment_id)
            .where(Assignment.proposal_id == assignment.proposal_id,
                   Assignment.agency_id == assignment.agency_id,  # never the other side's
                   Assignment.id != assignment.id, Review.state == ReviewState.submitted)
            .order_by(Review.submitted_at)
        ).all()
    return render_template(
        "reviews/assignment.html", assignment=assignment, answer_form=AnswerForm(),
        interests_form=InterestsForm(), form=form,
        score_fields=[getattr(form, f"score_{c.id}") for c in criteria],
        show_proposal=assignment.can_see_proposal(current_user),
        side_reviews=side_reviews, criteria=criteria,
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
    proposal = load_visible(Proposal, proposal_id)
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
        .options(sa.orm.selectinload(Assignment.replaced_by))
    ).all()
    return render_template("reviews/assign.html", proposal=proposal, form=form, assignments=assignments,
                           agency=proposal.side(agency_id).agency, extend_form=ExtendForm(), now=utcnow())


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
    call = load_visible(Call, call_id)
    if current_user.is_secretariat or current_user.has_role(Role.cochair):
        return redirect(url_for("selection.joint_ranking", call_id=call.id))
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
    queue_ranking_recomputation(current_user, call)
    db.session.commit()
    flash(_("The ranking is being recomputed."), "info")
    return redirect(local_referrer(url_for("reviews.ranking", call_id=call.id)))


# ---------------------------------------------------------------- automatic assignment


def _staff_side(call: Call, agency_id: int):
    """The call side, for staff of that side only (404 outside the user's scope)."""
    if not call.can_view(current_user) or agency_id not in {s.agency_id for s in call.sides}:
        abort(404)
    if not current_user.has_role(Role.staff, agency_id):
        abort(403)
    return next(s for s in call.sides if s.agency_id == agency_id)


def _load_job(job_id: int) -> Job:
    job = db.get_or_404(Job, job_id)
    if job.kind != automatic.JOB_KIND or not job.params:
        abort(404)
    call = db.session.get(Call, job.params["call_id"])
    if call is None:
        abort(404)
    _staff_side(call, job.params["agency_id"])
    return job


@bp.route("/automatic/<int:call_id>/<int:agency_id>", methods=["GET", "POST"])
@role_required(Role.staff)
def automatic_start(call_id: int, agency_id: int):
    call = db.get_or_404(Call, call_id)
    side = _staff_side(call, agency_id)
    form = AutomaticStartForm()
    if form.validate_on_submit():
        job = automatic.start_assignment_job(current_user, call, agency_id)
        db.session.commit()
        return redirect(url_for("reviews.automatic_job", job_id=job.id))
    jobs = db.session.scalars(
        sa.select(Job).where(Job.kind == automatic.JOB_KIND).order_by(Job.id.desc()).limit(200)
    ).all()
    jobs = [j for j in jobs if j.params.get("call_id") == call.id and j.params.get("agency_id") == agency_id][:10]
    return render_template("reviews/automatic_start.html", call=call, side=side, form=form, jobs=jobs)


@bp.route("/automatic/jobs/<int:job_id>")
@role_required(Role.staff)
def automatic_job(job_id: int):
    job = _load_job(job_id)
    call = db.session.get(Call, job.params["call_id"])
    side = _staff_side(call, job.params["agency_id"])
    pair_form = approve_form = None
    if job.status.value == "done" and job.result and "pairs" in job.result and not job.result.get("approved_at"):
        instance_rows = db.session.scalars(
            sa.select(Proposal).where(Proposal.call_id == call.id, Proposal.state.in_(automatic.ASSIGNABLE_STATES))
            .order_by(Proposal.id)).all()
        pool = db.session.scalars(
            sa.select(User).join(ReviewerProfile, ReviewerProfile.user_id == User.id)
            .where(ReviewerProfile.agency_id == side.agency_id).order_by(User.name)).all()
        pair_form = PairForm()
        pair_form.proposal_id.choices = options([(p.id, p.reference or p.title) for p in instance_rows])
        pair_form.reviewer_id.choices = options([(u.id, u.name) for u in pool])
        approve_form = ApproveForm()
        due = call.review_due_at if call.review_due_at and call.review_due_at > utcnow() else utcnow() + timedelta(days=30)
        approve_form.due_at.data = to_zone(due, current_user.effective_timezone).replace(tzinfo=None)
    return render_template("reviews/automatic_job.html", job=job, call=call, side=side,
                           pair_form=pair_form, approve_form=approve_form)


@bp.route("/automatic/jobs/<int:job_id>/cancel", methods=["POST"])
@role_required(Role.staff)
def automatic_cancel(job_id: int):
    job = _load_job(job_id)
    if FlaskForm().validate_on_submit():
        automatic.cancel_assignment_job(current_user, job)
        db.session.commit()
        flash(_("Cancellation requested."), "info")
    return redirect(url_for("reviews.automatic_job", job_id=job.id))


@bp.route("/automatic/jobs/<int:job_id>/pairs", methods=["POST"])
@role_required(Role.staff)
def automatic_pair(job_id: int):
    """Adjust the proposal by hand: add, remove or pin a pair."""
    job = _load_job(job_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    action = request.form.get("action", "")
    proposal_id = request.form.get("proposal_id", type=whole_number)
    reviewer_id = request.form.get("reviewer_id", type=whole_number)
    if action not in ("add", "remove", "pin") or not proposal_id or not reviewer_id:
        abort(400)
    operation = {"add": automatic.add_pair, "remove": automatic.remove_pair, "pin": automatic.toggle_pin}[action]
    try:
        operation(current_user, job, proposal_id, reviewer_id)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("The proposed assignment is updated."), "success")
    return redirect(url_for("reviews.automatic_job", job_id=job.id))


@bp.route("/automatic/jobs/<int:job_id>/rerun", methods=["POST"])
@role_required(Role.staff)
def automatic_rerun(job_id: int):
    """Compute again, keeping the pinned pairs."""
    job = _load_job(job_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    call = db.session.get(Call, job.params["call_id"])
    new = automatic.start_assignment_job(current_user, call, job.params["agency_id"], automatic.pinned_pairs(job))
    db.session.commit()
    return redirect(url_for("reviews.automatic_job", job_id=new.id))


@bp.route("/automatic/jobs/<int:job_id>/approve", methods=["POST"])
@role_required(Role.staff)
def automatic_approve(job_id: int):
    job = _load_job(job_id)
    form = ApproveForm()
    if form.validate_on_submit():
        try:
            created = automatic.approve_assignment(
                current_user, job, local_to_utc(form.due_at.data, current_user.effective_timezone))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("%(n)s reviewers are invited.", n=len(created)), "success")
    else:
        flash(_("Give the date the reviews are due."), "danger")
    return redirect(url_for("reviews.automatic_job", job_id=job.id))


# ---------------------------------------------------------------- staff: extend, replace


@bp.route("/assignments/<int:assignment_id>/extend", methods=["POST"])
@role_required(Role.staff)
def extend(assignment_id: int):
    assignment = _load_assignment(assignment_id)
    if not assignment.can_manage(current_user):
        abort(403)
    form = ExtendForm()
    if form.validate_on_submit():
        try:
            extend_due_date(current_user, assignment, local_to_utc(form.due_at.data, current_user.effective_timezone))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("The due date is extended."), "success")
    else:
        flash(_("Give the new due date."), "danger")
    return redirect(url_for("reviews.assign", proposal_id=assignment.proposal_id))


@bp.route("/assignments/<int:assignment_id>/replace", methods=["POST"])
@role_required(Role.staff)
def replace(assignment_id: int):
    assignment = _load_assignment(assignment_id)
    if not assignment.can_manage(current_user):
        abort(403)
    if FlaskForm().validate_on_submit():
        try:
            replacement = staff_replace_reviewer(current_user, assignment)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("%(name)s is invited instead.", name=replacement.reviewer.name), "success")
    return redirect(url_for("reviews.assign", proposal_id=assignment.proposal_id))


@bp.route("/dashboard/<int:call_id>/<int:agency_id>")
@role_required(Role.staff)
def dashboard(call_id: int, agency_id: int):
    """Staff of one side: progress per proposal and the aggregated scores of their side."""
    from cfp.reviews.aggregation import side_statistics

    call = db.get_or_404(Call, call_id)
    side = _staff_side(call, agency_id)
    stats, distribution = side_statistics(call, agency_id)
    settings_form = ReviewSettingsForm(obj=call)
    return render_template("reviews/dashboard.html", call=call, side=side, stats=stats,
                           distribution=distribution, criteria=call.criteria, settings_form=settings_form)


@bp.route("/settings/<int:call_id>/<int:agency_id>", methods=["POST"])
@role_required(Role.staff)
def review_settings(call_id: int, agency_id: int):
    call = db.get_or_404(Call, call_id)
    _staff_side(call, agency_id)
    form = ReviewSettingsForm()
    if form.validate_on_submit():
        pool_ops.update_review_settings(current_user, call, agency_id,
                                        {k: getattr(form, k).data for k in pool_ops.REVIEW_SETTINGS})
        db.session.commit()
        flash(_("The review settings are saved."), "success")
    else:
        flash(" ".join(f"{getattr(form, k).label.text}: {'; '.join(v)}" for k, v in form.errors.items()), "danger")
    return redirect(url_for("reviews.dashboard", call_id=call.id, agency_id=agency_id))


# ---------------------------------------------------------------- reviewer pool, profile


def _pool_side(agency_id: int) -> Agency:
    agency = db.get_or_404(Agency, agency_id)
    if not current_user.has_role(Role.staff, agency_id):
        abort(403)
    return agency


@bp.route("/pool/<int:agency_id>", methods=["GET", "POST"])
@role_required(Role.staff)
def pool(agency_id: int):
    agency = _pool_side(agency_id)
    form = PoolInviteForm()
    if form.validate_on_submit():
        try:
            pool_ops.invite_reviewer(current_user, agency.id, form.email.data, form.name.data,
                                     form.affiliation.data or "", form.keywords.data or "", "", form.max_load.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("The invitation is on its way to %(email)s.", email=form.email.data), "success")
            return redirect(url_for("reviews.pool", agency_id=agency.id))
    return _render_pool(agency, form, PoolImportForm())


def _render_pool(agency, invite_form, import_form, import_errors=(), status=200):
    profiles = db.session.scalars(
        sa.select(ReviewerProfile).filter_by(agency_id=agency.id).order_by(ReviewerProfile.id)).all()
    load = dict(db.session.execute(
        sa.select(Assignment.reviewer_id, sa.func.count())
        .where(Assignment.agency_id == agency.id,
               Assignment.state.in_(["invited", "accepted", "overdue"]))
        .group_by(Assignment.reviewer_id)).all())
    invitations = db.session.scalars(
        sa.select(ReviewerInvitation).filter_by(agency_id=agency.id, accepted_at=None)
        .order_by(ReviewerInvitation.id.desc())).all()
    return render_template("reviews/pool.html", agency=agency, profiles=profiles, load=load,
                           invitations=invitations, form=invite_form, import_form=import_form,
                           import_errors=import_errors, today=utcnow().date()), status


@bp.route("/pool/<int:agency_id>/import", methods=["POST"])
@role_required(Role.staff)
def pool_import(agency_id: int):
    agency = _pool_side(agency_id)
    form = PoolImportForm()
    if form.validate_on_submit():
        text = form.file.data.read().decode("utf-8", errors="replace")
        try:
            counts = pool_ops.import_pool(current_user, agency.id, text)
        except pool_ops.PoolImportError as exc:
            db.session.rollback()
            return _render_pool(agency, PoolInviteForm(formdata=None), form, exc.errors, 422)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("%(added)s reviewers added, %(invited)s invited.", **counts), "success")
            return redirect(url_for("reviews.pool", agency_id=agency.id))
    return _render_pool(agency, PoolInviteForm(formdata=None), form, status=422)


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
                                    unavailable_until=form.unavailable_until.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Your reviewer profile is saved."), "success")
            return redirect(url_for("reviews.profile"))
    return render_template("reviews/profile.html", form=form, profile=profile), 422 if form.errors else 200
