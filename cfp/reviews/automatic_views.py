"""Automatic assignment, for staff of one side of a call: start the job, follow it,
adjust the proposed pairs, approve them."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm

from cfp.auth.models import User
from cfp.calls.models import Call
from cfp.core.errors import DomainError
from cfp.core.forms import options
from cfp.core.jobs import Job
from cfp.core.loading import load_worked_on
from cfp.core.params import whole_number
from cfp.core.roles import Role, role_required
from cfp.core.timezones import local_to_utc, to_zone
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import Proposal
from cfp.reviews import automatic
from cfp.reviews.forms import ApproveForm, AutomaticStartForm, PairForm
from cfp.reviews.models import ReviewerProfile
from cfp.reviews.staff_views import _staff_side
from cfp.reviews.views import bp


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
    call = load_worked_on(Call, call_id)
    side = _staff_side(call, agency_id)
    form = AutomaticStartForm()
    if request.method == "GET":
        form.random_cap.data = side.assignment_random_cap
        form.floor.data = side.assignment_floor
        form.diversity.data = side.assignment_diversity or ""
    if form.validate_on_submit():
        try:
            job = automatic.start_assignment_job(current_user, call, agency_id, random_cap=form.random_cap.data,
                                                 floor=form.floor.data, diversity=form.diversity.data or None)
        except DomainError as exc:
            form.random_cap.errors.append(exc.message)
        else:
            db.session.commit()
            return redirect(url_for("reviews.automatic_job", job_id=job.id))
    jobs = db.session.scalars(
        sa.select(Job).where(Job.kind == automatic.JOB_KIND).order_by(Job.id.desc()).limit(200)
    ).all()
    jobs = [j for j in jobs if j.params.get("call_id") == call.id and j.params.get("agency_id") == agency_id][:10]
    return render_template("reviews/automatic_start.html", call=call, side=side, form=form, jobs=jobs), \
        422 if form.errors else 200


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
        due = side.reviews_due_at
        if due is None or due <= utcnow():
            due = utcnow() + timedelta(days=30)
        approve_form.due_at.data = to_zone(due, current_user.effective_timezone).replace(tzinfo=None)
    advice = _advice(job, call, side) if job.status.value == "failed" else []
    new_pairs = [p for p in (job.result or {}).get("pairs", []) if not p["existing"]]
    return render_template("reviews/automatic_job.html", job=job, call=call, side=side, pair_form=pair_form,
                           approve_form=approve_form if new_pairs else None, editable=pair_form is not None,
                           new_pairs=new_pairs, advice=advice)


@bp.route("/automatic/jobs/<int:job_id>/progress")
@role_required(Role.staff)
def automatic_progress(job_id: int):
    """The run's progress for its page's bar, for whoever may open the page (staff of the
    side): the general job address answers the job's creator only, so a colleague's page
    could only reload."""
    job = _load_job(job_id)
    return jsonify(status=job.status.value, progress=job.progress, message=job.message)


def _advice(job: Job, call: Call, side) -> list[dict]:
    """Each reason a run failed, said as what staff can do, with the links to do it."""
    result = job.result or {}
    if "problems" not in result:  # a run from before the reasons carried ids
        return [{"text": reason, "links": []} for reason in result.get("reasons", [])]
    agency_id = side.agency_id
    pool = url_for("reviews.pool", agency_id=agency_id)
    dashboard = url_for("reviews.dashboard", call_id=call.id, agency_id=agency_id)
    earlier = job.params.get("rerun_of")
    invite = (_("Invite reviewers to the pool of %(side)s", side=side.agency.short_name), pool)
    fewer = (_("Ask fewer reviewers per proposal"), dashboard + "#side-settings")
    lower_min = (_("Lower the minimum number of proposals per reviewer"), dashboard + "#shared-settings")
    out = []
    for p in result["problems"]:
        kind, n, links = p["kind"], p.get("numbers", {}), []
        who, what = p.get("reviewer", ""), p.get("proposal", "")
        raise_load = (_("Raise the maximum load of %(who)s", who=who),
                      url_for("reviews.pool_reviewer", agency_id=agency_id, user_id=p["reviewer_id"])
                      ) if "reviewer_id" in p else None
        reviewers_of = (_("Reviewers of %(what)s", what=what),
                        url_for("reviews.assign", proposal_id=p["proposal_id"])) if "proposal_id" in p else None
        if kind == "reviewer_over_pinned":
            text = ngettext(
                "%(who)s would owe %(num)s review here (already assigned or pinned) but can take only %(room)s "
                "more (their maximum load is %(limit)s open reviews, counting those they owe in other calls). "
                "Raise their maximum load, or remove that pin.",
                "%(who)s would owe %(num)s reviews here (already assigned or pinned) but can take only %(room)s "
                "more (their maximum load is %(limit)s open reviews, counting those they owe in other calls). "
                "Raise their maximum load, or remove one of these pins.",
                p.get("owed", n.get("pinned", 0)), who=who, room=p.get("room", n.get("max")), limit=p.get("max_load"))
            links.append(raise_load)
            for pin in p.get("pins", []):
                if pin["existing"]:
                    links.append((_("%(what)s: already assigned, replace them on its Reviewers page",
                                    what=pin["proposal"]), url_for("reviews.assign", proposal_id=pin["proposal_id"])))
                elif earlier:
                    links.append((_("%(what)s: unpin it on the earlier run, then compute again",
                                    what=pin["proposal"]), url_for("reviews.automatic_job", job_id=earlier)))
        elif kind == "capacity":
            text = _("Your reviewers can take %(capacity)s more reviews and %(demand)s are needed. Invite "
                     "reviewers, raise their maximum loads, or ask fewer reviewers per proposal.", **n)
            links += [invite, (_("Raise maximum loads in the pool"), pool), fewer]
        elif kind == "min_loads":
            text = _("The reviewers' minimum loads add up to %(total)s, more than the %(demand)s reviews to "
                     "assign. Lower the minimum number of proposals per reviewer.", **n)
            links.append(lower_min)
        elif kind == "min_above_max":
            text = _("%(who)s must take at least %(min)s proposals but at most %(max)s. Raise their maximum "
                     "load or lower the minimum.", who=who, **n)
            links += [raise_load, lower_min]
        elif kind == "proposal_over_pinned":
            text = _("%(what)s has more reviewers pinned or assigned than the %(need)s it needs. Remove a pin "
                     "or ask more reviewers per proposal.", what=what, **n)
            links.append(reviewers_of)
            if earlier:
                links.append((_("Unpin on the earlier run"), url_for("reviews.automatic_job", job_id=earlier)))
            links.append((_("Reviewers per proposal"), dashboard + "#side-settings"))
        elif kind == "proposal_short":
            text = _("%(what)s needs %(need)s reviewers and only %(count)s of your pool can take it (the others "
                     "have a conflict of interest, were asked already, are unavailable or at their maximum). "
                     "Invite reviewers, raise maximum loads, ask fewer reviewers per proposal, or invite one "
                     "by hand.", what=what, **n)
            links += [invite, fewer, reviewers_of]
        elif kind == "reviewer_min_impossible":
            text = _("%(who)s must take at least %(min)s proposals but only %(possible)s are open to them. "
                     "Lower the minimum number of proposals per reviewer.", who=who, **n)
            links.append(lower_min)
        elif kind == "pinned_conflict":
            text = _("%(who)s is pinned to %(what)s despite a conflict of interest. Remove that pin.",
                     who=who, what=what)
            if earlier:
                links.append((_("Unpin on the earlier run"), url_for("reviews.automatic_job", job_id=earlier)))
        elif kind == "empty":
            text = _("There is no eligible proposal to assign, or no available reviewer in your pool.")
            links += [invite, (_("Proposals and their eligibility"), url_for("proposals.staff_index"))]
        elif kind == "generic":
            text = _("No assignment satisfies every constraint together: some proposals compete for the same "
                     "few available reviewers. Invite reviewers, raise maximum loads or ask fewer reviewers "
                     "per proposal.")
            links += [invite, fewer]
        else:
            text = p["text"]
        out.append({"text": text, "links": [link for link in links if link]})
    return out


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
    new = automatic.start_assignment_job(current_user, call, job.params["agency_id"], automatic.pinned_pairs(job),
                                         rerun_of=job.id)
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
