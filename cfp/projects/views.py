"""Pages of funded projects: the project, its reports, renewal or stop, mobility done, the
staff dashboard and the public list of adopted projects."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from cfp.calls.models import Agency
from cfp.core.forms import options
from cfp.core.listing import offset_page
from cfp.core.loading import load_visible
from cfp.core.roles import Role, role_required
from cfp.extensions import db
from cfp.meetings.models import Decision, DecisionState, Meeting
from cfp.projects.forms import (
    ProjectStatusForm,
    ReportForm,
    TripForm,
)
from cfp.projects.lists import project_query, project_spec
from cfp.projects.models import (
    Project,
    ProjectAllocation,
    ProjectStatus,
    ReportKind,
    ReportState,
)
from cfp.projects.operations import (
    attachment_path,
    decide_project,
    mobility_against_plan,
    record_trip,
    submit_report,
)
from cfp.proposals.models import Proposal
from cfp.selection.models import ProjectList

bp = Blueprint("projects", __name__, url_prefix="/projects")


@bp.route("/<int:project_id>")
@login_required
def project(project_id: int):
    project = load_visible(Project, project_id)
    return render_template("projects/project.html", project=project, **_project_forms(project))


@bp.route("/adopted")
def adopted_projects():
    """Public: per meeting, the projects its decisions adopted."""
    projects = offset_page(  # newest meeting first; a page's projects grouped by their meeting
        sa.select(Project).join(Decision, Project.decision_id == Decision.id)
        .outerjoin(Meeting, Meeting.id == Decision.meeting_id)
        .where(Decision.state.in_([DecisionState.adopted, DecisionState.superseded]))
        .options(selectinload(Project.decision).selectinload(Decision.meeting),
                 selectinload(Project.proposal).selectinload(Proposal.sides))
        .order_by(Meeting.number.desc().nulls_last(), Project.code, Project.id))
    groups: dict = {}
    for pr in projects:
        groups.setdefault(pr.decision.meeting, []).append(pr)
    ordered = sorted(groups.items(), key=lambda kv: -(kv[0].number if kv[0] else 0))
    return render_template("projects/adopted_projects.html", groups=ordered, page=projects)


@bp.route("/dashboard")
@role_required(Role.secretariat, Role.staff, Role.cochair, Role.admin)
def dashboard():
    from cfp.core.types import utcnow

    listing = project_spec(current_user).read()
    projects = listing.page(project_query(current_user))  # a page's projects grouped by call
    today = utcnow().date()
    calls: dict = {}
    for pr in projects:
        row = calls.setdefault(pr.project_list.call, {"projects": [], "totals": {}})
        due = [r for r in pr.reports if r.state == ReportState.due]
        row["projects"].append({"project": pr, "due": due,
                                "overdue": [r for r in due if r.due_on and r.due_on < today]})
    # Each call's totals are over all its projects, not the page's: summed by the database.
    call_ids = [call.id for call in calls]
    agencies = {a.id: a for a in db.session.scalars(sa.select(Agency))} if call_ids else {}
    for call_id, agency_id, year, currency, total in db.session.execute(
            sa.select(ProjectList.call_id, ProjectAllocation.agency_id, ProjectAllocation.year,
                      ProjectAllocation.currency, sa.func.sum(ProjectAllocation.amount))
            .join(Project, Project.id == ProjectAllocation.project_id)
            .join(ProjectList, ProjectList.id == Project.project_list_id)
            .where(ProjectList.call_id.in_(call_ids))
            .group_by(ProjectList.call_id, ProjectAllocation.agency_id, ProjectAllocation.year,
                      ProjectAllocation.currency)) if call_ids else ():
        call = next(c for c in calls if c.id == call_id)
        calls[call]["totals"][(agencies[agency_id], year, currency)] = Decimal(str(total))
    return render_template("projects/dashboard.html", calls=calls, page=projects, listing=listing)


def _is_pi(project: Project) -> bool:
    return any(side.pi_user_id == current_user.id for side in project.proposal.sides)


def _project_forms(project: Project) -> dict:
    status_form = ProjectStatusForm()
    status_form.decision_id.choices = options([(d.id, f"{d.number} {d.title}") for d in db.session.scalars(
        sa.select(Decision).where(Decision.committee_id == project.decision.committee_id,
                                  Decision.state == DecisionState.adopted, Decision.id != project.decision_id)
        .order_by(Decision.id.desc()))])
    trip_form = TripForm()
    trip_form.planned_trip_id.choices = options([(0, _("not planned"))] + [
        (t.id, ngettext("%(traveller)s, %(num)s day, year %(y)s", "%(traveller)s, %(num)s days, year %(y)s",
                        t.days, traveller=t.traveller, y=t.year)) for t in project.proposal.trips])
    agencies = project.proposal.call.agencies
    trip_form.direction.choices = options([(f"{a.id}-{b.id}", f"{a.short_name} → {b.short_name}")
                                           for a in agencies for b in agencies if a.id != b.id])
    return {"report_form": ReportForm(), "status_form": status_form, "trip_form": trip_form,
            "mobility": mobility_against_plan(project), "is_pi": _is_pi(project)}


@bp.route("/<int:project_id>/reports", methods=["POST"])
@login_required
def report(project_id: int):
    project = load_visible(Project, project_id)
    if not _is_pi(project):
        abort(403)
    form = ReportForm()
    if form.validate_on_submit():
        upload = request.files.get("attachment")
        attachment = (upload.filename, upload.read()) if upload and upload.filename else None
        submit_report(current_user, project, ReportKind(form.kind.data), form.text.data, attachment)
        db.session.commit()
        flash(_("The report is submitted."), "success")
    else:
        flash(_("Write the report before submitting it."), "danger")
    return redirect(url_for("projects.project", project_id=project.id))


@bp.route("/<int:project_id>/reports/<int:report_id>/attachment")
@login_required
def report_attachment(project_id: int, report_id: int):
    project = load_visible(Project, project_id)
    report = next((r for r in project.reports if r.id == report_id and r.attachment_stored_name), None)
    if report is None:
        abort(404)
    return send_file(attachment_path(report), mimetype="application/pdf", as_attachment=True,
                     download_name=report.attachment_name)


@bp.route("/<int:project_id>/status", methods=["POST"])
@role_required(Role.secretariat)
def project_status(project_id: int):
    project = load_visible(Project, project_id)
    form = ProjectStatusForm()
    form.decision_id.choices = _project_forms(project)["status_form"].decision_id.choices
    if form.validate_on_submit():
        decide_project(current_user, project, db.session.get(Decision, form.decision_id.data),
                       ProjectStatus(form.status.data))
        db.session.commit()
        flash(_("Project %(code)s: %(s)s.", code=project.code, s=project.status.label), "success")
    else:
        flash(_("Choose the adopted decision and the new status."), "danger")
    return redirect(url_for("projects.project", project_id=project.id))


@bp.route("/<int:project_id>/trips", methods=["POST"])
@login_required
def trip(project_id: int):
    project = load_visible(Project, project_id)
    if not (_is_pi(project) or current_user.is_secretariat_of(project.proposal.call.committee_id)):
        abort(403)
    forms = _project_forms(project)
    form = TripForm()
    form.planned_trip_id.choices = forms["trip_form"].planned_trip_id.choices
    form.direction.choices = forms["trip_form"].direction.choices
    if form.validate_on_submit():
        src, dst = (int(x) for x in form.direction.data.split("-"))
        record_trip(current_user, project, planned_trip_id=form.planned_trip_id.data or None,
                    from_agency_id=src, to_agency_id=dst, traveller=form.traveller.data,
                    days=form.days.data, year=form.year.data, started_on=form.started_on.data)
        db.session.commit()
        flash(_("The trip is recorded."), "success")
    else:
        flash(_("Give the traveller, the days and the project year."), "danger")
    return redirect(url_for("projects.project", project_id=project.id))


from cfp.projects import exports  # noqa: F401  (its routes, on this blueprint)
