"""Staff of one side: the reviewers of a proposal, progress and settings of their side,
their side's ranking and their reviewer pool."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from cfp import local_referrer
from cfp.auth.models import User
from cfp.calls.models import Agency, Call, CallSide, CallState
from cfp.core.charts import histogram
from cfp.core.errors import DomainError
from cfp.core.forms import options
from cfp.core.languages import number
from cfp.core.listing import list_page, offset_page
from cfp.core.loading import load_visible, load_worked_on
from cfp.core.roles import Role, role_required
from cfp.core.scope import within
from cfp.core.timezones import local_to_utc, to_zone
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import Proposal
from cfp.reviews import automatic, stage
from cfp.reviews import pool as pool_ops
from cfp.reviews.forms import (
    AssignForm,
    ExtendForm,
    PoolImportForm,
    PoolInviteForm,
    PoolReviewerForm,
    ReviewSettingsForm,
    SideReviewSettingsForm,
)
from cfp.reviews.lists import (
    POOL,
    SIDE_RANKING,
    assignment_query,
    assignment_spec,
    pool_query,
    side_ranking_query,
)
from cfp.reviews.models import (
    OPEN_ASSIGNMENT_STATES,
    Assignment,
    ReviewerInvitation,
    ReviewerProfile,
)
from cfp.reviews.operations import (
    assign_reviewer,
    extend_due_date,
    queue_ranking_recomputation,
    staff_replace_reviewer,
)
from cfp.reviews.views import _load_assignment, bp


@bp.route("/assign/<int:proposal_id>", methods=["GET", "POST"])
@role_required(Role.staff)
def assign(proposal_id: int):
    proposal = load_visible(Proposal, proposal_id)
    sides = [s.agency_id for s in proposal.sides
             if current_user.has_role(Role.staff, s.agency_id, proposal.call.committee_id)]
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
        due = proposal.call.side(agency_id).reviews_due_at
        if due is None or due <= utcnow():
            due = utcnow() + timedelta(days=30)
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
    candidates = automatic.candidates_for(proposal, agency_id)
    return render_template("reviews/assign.html", proposal=proposal, form=form, assignments=assignments,
                           agency=proposal.side(agency_id).agency, extend_form=ExtendForm(), now=utcnow(),
                           candidates=[c for c in candidates if c.conflict is None],
                           conflicted=[c for c in candidates if c.conflict is not None],
                           call_side=proposal.call.side(agency_id), today=utcnow().date())


@bp.route("/staff")
@role_required(Role.staff)
def staff_index():
    """Per call and side of the staff member: review progress, the stage, and the way to
    the dashboard, automatic assignment, the ranking and the pool."""
    sides = current_user.staff_side_ids()
    rows = db.session.execute(
        sa.select(Proposal.call_id, Assignment.agency_id, Assignment.state, sa.func.count())
        .join(Assignment, Assignment.proposal_id == Proposal.id)
        .join(Call, Call.id == Proposal.call_id)
        .where(Assignment.agency_id.in_(sides), within(current_user, Call.committee_id, Role.staff))
        .group_by(Proposal.call_id, Assignment.agency_id, Assignment.state)
    ).all()
    progress: dict[tuple[int, int], Counter] = {}
    for call_id, agency_id, state, count in rows:
        progress.setdefault((call_id, agency_id), Counter())[state.value] = count
    call_sides = offset_page(  # one row per call and side: few, numbered pages
        sa.select(CallSide).join(Call, Call.id == CallSide.call_id)
        .where(CallSide.agency_id.in_(sides), within(current_user, Call.committee_id, Role.staff),
               sa.or_(Call.state.in_(REVIEW_STATES), Call.id.in_({c for c, _a in progress} or {0})))
        .options(sa.orm.selectinload(CallSide.call), sa.orm.selectinload(CallSide.agency))
        .order_by(Call.opens_at.desc(), CallSide.agency_id, CallSide.id)
    )
    return render_template("reviews/staff_index.html", call_sides=call_sides, progress=progress,
                           review_states=REVIEW_STATES, sides=sorted(sides))


# Calls whose reviewers may be assigned: closed, in review, or in selection while the last
# reviews come in.
REVIEW_STATES = (CallState.closed, CallState.in_review, CallState.in_selection)


@bp.route("/ranking/<int:call_id>")
@login_required
def ranking(call_id: int):
    """A side's ranking: staff see their own side's only."""
    call = load_worked_on(Call, call_id)
    if not call.works_on(current_user):
        abort(404)
    if current_user.is_secretariat_of(call.committee_id) or current_user.is_cochair_of(call.committee_id):
        return redirect(url_for("selection.joint_ranking", call_id=call.id))
    agency = ranking_side(call)
    # One call's side: numbered pages; each row keeps its stored (global) rank.
    listing = SIDE_RANKING.read()
    entries = listing.page(side_ranking_query(call.id, agency.id))  # unranked rows last
    return render_template("reviews/ranking.html", call=call, agency=agency, entries=entries, listing=listing)


def ranking_side(call: Call) -> Agency:
    """The side whose ranking the staff member sees: their own (403 without one)."""
    sides = [a for a in call.agencies if current_user.has_role(Role.staff, a, call.committee_id)]
    if not sides:
        abort(403)
    return sides[0]


@bp.route("/assignments")
@role_required(Role.staff)
def assignments():
    """Every assignment of the staff member's sides: who reviews what, in which state,
    due when; searched, sorted and filtered by call, side and state."""
    listing = assignment_spec(current_user).read()
    rows = listing.page(assignment_query(current_user))
    return render_template("reviews/assignments.html", rows=rows, listing=listing, now=utcnow())


@bp.route("/ranking/<int:call_id>/recompute", methods=["POST"])
@role_required(Role.staff)
def recompute(call_id: int):
    call = load_worked_on(Call, call_id)
    if not call.works_on(current_user):
        abort(404)
    queue_ranking_recomputation(current_user, call)
    db.session.commit()
    flash(_("The ranking is being recomputed."), "info")
    return redirect(local_referrer(url_for("reviews.ranking", call_id=call.id)))


def _staff_side(call: Call, agency_id: int):
    """The call side, for staff of that side only (404 outside the user's scope)."""
    if not call.works_on(current_user) or agency_id not in {s.agency_id for s in call.sides}:
        abort(404)
    if not current_user.has_role(Role.staff, agency_id, call.committee_id):
        abort(403)
    return next(s for s in call.sides if s.agency_id == agency_id)


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

    call = load_worked_on(Call, call_id)
    side = _staff_side(call, agency_id)
    stats, distribution = side_statistics(call, agency_id)
    settings_form = ReviewSettingsForm(obj=call)
    side_form = SideReviewSettingsForm(obj=side)
    if side.review_due_at:
        side_form.review_due_at.data = to_zone(side.review_due_at, current_user.effective_timezone).replace(tzinfo=None)
    open_reviews = db.session.scalar(
        sa.select(sa.func.count(Assignment.id)).join(Proposal, Proposal.id == Assignment.proposal_id)
        .where(Proposal.call_id == call.id, Assignment.agency_id == agency_id,
               Assignment.state.in_(OPEN_ASSIGNMENT_STATES)))
    # The statistics are the whole side's (z-scores across reviewers); the table shows a page.
    return render_template("reviews/dashboard.html", call=call, side=side, stats=list_page(stats),
                           distribution=distribution, criteria=call.criteria, settings_form=settings_form,
                           side_form=side_form, open_reviews=open_reviews,
                           score_chart=histogram(distribution["bins"], label=lambda edge: number(edge, 1)))


@bp.route("/settings/<int:call_id>/<int:agency_id>", methods=["POST"])
@role_required(Role.staff)
def review_settings(call_id: int, agency_id: int):
    call = load_worked_on(Call, call_id)
    _staff_side(call, agency_id)
    form = ReviewSettingsForm()
    if form.validate_on_submit():
        stage.update_review_settings(current_user, call, agency_id,
                                     {k: getattr(form, k).data for k in stage.REVIEW_SETTINGS})
        db.session.commit()
        flash(_("The review settings are saved."), "success")
    else:
        flash(_form_errors(form), "danger")
    return redirect(url_for("reviews.dashboard", call_id=call.id, agency_id=agency_id))


def _form_errors(form) -> str:
    return " ".join(f"{getattr(form, k).label.text}: {'; '.join(v)}" for k, v in form.errors.items())


@bp.route("/side-settings/<int:call_id>/<int:agency_id>", methods=["POST"])
@role_required(Role.staff)
def side_settings(call_id: int, agency_id: int):
    """One side's review settings: its staff only (403 for the other side's)."""
    call = load_worked_on(Call, call_id)
    _staff_side(call, agency_id)
    form = SideReviewSettingsForm()
    if form.validate_on_submit():
        due = form.review_due_at.data
        try:
            stage.update_side_review_settings(
                current_user, call, agency_id, reviewers_per_proposal=form.reviewers_per_proposal.data,
                reviewer_answer_days=form.reviewer_answer_days.data,
                review_due_at=local_to_utc(due, current_user.effective_timezone) if due else None)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("The review settings of your side are saved."), "success")
    else:
        flash(_form_errors(form), "danger")
    return redirect(url_for("reviews.dashboard", call_id=call.id, agency_id=agency_id) + "#side-settings")


@bp.route("/stage/<int:call_id>/<int:agency_id>/close", methods=["POST"])
@role_required(Role.staff)
def close_stage(call_id: int, agency_id: int):
    """Close one side's review stage: that side's staff only."""
    return _change_stage(call_id, agency_id, "close")


@bp.route("/stage/<int:call_id>/<int:agency_id>/reopen", methods=["POST"])
@role_required(Role.staff)
def reopen_stage(call_id: int, agency_id: int):
    return _change_stage(call_id, agency_id, "reopen")


def _change_stage(call_id: int, agency_id: int, action: str):
    call = load_worked_on(Call, call_id)
    _staff_side(call, agency_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    operation = stage.close_review_stage if action == "close" else stage.reopen_review_stage
    try:
        side = operation(current_user, call, agency_id)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("The review stage of %(side)s is closed: its reviews are frozen.", side=side.agency.short_name)
              if action == "close" else
              _("The review stage of %(side)s is open again.", side=side.agency.short_name), "success")
    return redirect(url_for("reviews.dashboard", call_id=call.id, agency_id=agency_id) + "#stage")


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
                                     form.affiliation.data or "", form.keywords.data or "", "", form.max_load.data,
                                     form.country.data or None)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("The invitation is on its way to %(email)s.", email=form.email.data), "success")
            return redirect(url_for("reviews.pool", agency_id=agency.id))
    return _render_pool(agency, form, PoolImportForm(), status=422 if form.errors else 200)


def _render_pool(agency, invite_form, import_form, import_errors=(), status=200):
    listing = POOL.read()
    profiles = listing.page(pool_query(agency.id))  # a side's pool: numbered pages
    load = open_reviews_of(agency, [p.user_id for p in profiles])
    invitations = offset_page(
        sa.select(ReviewerInvitation).filter_by(agency_id=agency.id, accepted_at=None)
        .order_by(ReviewerInvitation.id.desc()), param="inv_page")
    return render_template("reviews/pool.html", agency=agency, profiles=profiles, load=load, listing=listing,
                           invitations=invitations, form=invite_form, import_form=import_form,
                           import_errors=import_errors, today=utcnow().date()), status


def open_reviews_of(agency: Agency, user_ids: list[int]) -> dict[int, int]:
    """How many reviews each of these reviewers owes the side (one query)."""
    return dict(db.session.execute(
        sa.select(Assignment.reviewer_id, sa.func.count())
        .where(Assignment.agency_id == agency.id, Assignment.reviewer_id.in_(user_ids),
               Assignment.state.in_(["invited", "accepted", "overdue"]))
        .group_by(Assignment.reviewer_id)).all())


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


def _pool_reviewer(agency_id: int, user_id: int) -> tuple[Agency, ReviewerProfile]:
    """A reviewer of the side's pool, for that side's staff (403), if in it (404)."""
    agency = _pool_side(agency_id)
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=user_id, agency_id=agency.id))
    if profile is None:
        abort(404)
    return agency, profile


@bp.route("/pool/<int:agency_id>/reviewers/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.staff)
def pool_reviewer(agency_id: int, user_id: int):
    """One reviewer of the pool: their load and expertise, their reviews, removal."""
    agency, profile = _pool_reviewer(agency_id, user_id)
    form = PoolReviewerForm(obj=profile)
    if form.validate_on_submit():
        try:
            pool_ops.update_profile(current_user, profile, keywords=form.keywords.data or "",
                                    expertise=form.expertise.data or "", max_load=form.max_load.data,
                                    conflicts=profile.conflicts or "",
                                    unavailable_from=form.unavailable_from.data,
                                    unavailable_until=form.unavailable_until.data,
                                    country=form.country.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("The profile of %(name)s is saved.", name=profile.user.name), "success")
            return redirect(url_for("reviews.pool_reviewer", agency_id=agency.id, user_id=user_id))
    # The reviewer's load counts every committee of the side (one pool per agency); the
    # list shows the assignments of the viewer's committees only.
    query = sa.select(Assignment).filter_by(reviewer_id=user_id, agency_id=agency.id)
    open_count = db.session.scalar(sa.select(sa.func.count()).select_from(
        query.where(Assignment.state.in_(OPEN_ASSIGNMENT_STATES)).subquery()))
    assignments = db.session.scalars(
        query.join(Proposal, Proposal.id == Assignment.proposal_id).join(Call, Call.id == Proposal.call_id)
        .where(within(current_user, Call.committee_id, Role.staff)).order_by(Assignment.id.desc())
    ).all()
    return render_template("reviews/pool_reviewer.html", agency=agency, profile=profile, form=form,
                           assignments=assignments, open_count=open_count), 422 if form.errors else 200


@bp.route("/pool/<int:agency_id>/reviewers/<int:user_id>/remove", methods=["POST"])
@role_required(Role.staff)
def pool_remove(agency_id: int, user_id: int):
    agency, profile = _pool_reviewer(agency_id, user_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    name = profile.user.name
    try:
        pool_ops.remove_from_pool(current_user, profile)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("reviews.pool_reviewer", agency_id=agency.id, user_id=user_id))
    db.session.commit()
    flash(_("%(name)s is no longer in the pool of %(agency)s; their past reviews stay.",
            name=name, agency=agency.short_name), "success")
    return redirect(url_for("reviews.pool", agency_id=agency.id))
