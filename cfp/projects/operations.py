"""Writers for funded projects: creation at adoption, reports, renewal or stop by a later
decision, mobility done against the plan."""
from __future__ import annotations

import calendar
import hashlib
import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from cfp.calls.models import Call
from cfp.core.aftercommit import unless_committed
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import OutboxMessage, queue_email
from cfp.core.roles import require_secretariat
from cfp.core.states import change_state
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.projects.models import (
    PROJECT_TRANSITIONS,
    Project,
    ProjectAllocation,
    ProjectReport,
    ProjectStatus,
    ReportKind,
    ReportState,
    TripDone,
)
from cfp.proposals.documents import human_size, safe_pdf_name, upload_folder
from cfp.proposals.pdf_checks import read_pdf

if TYPE_CHECKING:
    from cfp.meetings.models import Decision
    from cfp.selection.models import ProjectListEntry


def _add_months(day: date, months: int) -> date:
    """The same day `months` later (clamped to the month's last day)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def project_code(decision: Decision, call: Call, n: int) -> str:
    return f"{_code_prefix(decision, call)}{n:02d}"


def _code_prefix(decision: Decision, call: Call) -> str:
    session = f"S{decision.meeting.number}" if decision.meeting else f"WP{decision.id}"
    return f"{session}-{call.reference}-"


def _next_number(decision: Decision, call: Call) -> int:
    """One more than the call's projects adopted in the same session (a second list
    adopted at one meeting numbers its projects on)."""
    prefix = _code_prefix(decision, call)
    db.session.flush()
    codes = db.session.scalars(sa.select(Project.code).where(Project.code.startswith(prefix, autoescape=True)))
    return max((int(c[len(prefix):]) for c in codes if c[len(prefix):].isdigit()), default=0) + 1


def create_project(actor, decision: Decision, entry: ProjectListEntry) -> Project:
    """The project of a funded entry of the list `decision` adopts: its code (numbered on
    from the call's projects of the same session), dates, reports due and allocations."""
    plist = entry.project_list
    call = plist.call
    n = _next_number(decision, call)
    start = utcnow().date()
    end = _add_months(start, call.duration_months) - timedelta(days=1)
    project = Project(proposal=entry.proposal, code=project_code(decision, call, n), decision=decision,
                      project_list=plist, start_date=start, end_date=end)
    if call.project_years > 1:  # the interim report conditions the second year
        project.reports.append(ProjectReport(kind=ReportKind.interim, state=ReportState.due,
                                             due_on=_add_months(start, 11)))
    project.reports.append(ProjectReport(kind=ReportKind.final, state=ReportState.due,
                                         due_on=_add_months(end, 3)))
    for amount in entry.amounts:
        project.allocations.append(ProjectAllocation(
            agency_id=amount.agency_id, year=amount.year, amount=amount.amount,
            currency=call.side(amount.agency_id).currency))
    db.session.add(project)
    db.session.flush()
    log_action(actor, "project.create", project, after={"code": project.code, "proposal_id": entry.proposal_id})
    return project


def amend_allocations(actor, project: Project, decision: Decision, entry: ProjectListEntry) -> bool:
    """The project's allocations become the amounts of its entry in an amending list
    that `decision` adopts; True if any changed."""
    call = entry.project_list.call
    current = {(a.agency_id, a.year): a for a in project.allocations}
    new = {(a.agency_id, a.year): a.amount for a in entry.amounts}
    before = {f"{aid}/{year}": a.amount for (aid, year), a in current.items()}
    for key, amount in new.items():
        if key not in current:
            project.allocations.append(ProjectAllocation(agency_id=key[0], year=key[1], amount=amount,
                                                         currency=call.side(key[0]).currency))
        elif current[key].amount != amount:
            current[key].amount = amount
    for key, allocation in current.items():
        if key not in new:
            project.allocations.remove(allocation)
    after = {f"{a.agency_id}/{a.year}": a.amount for a in project.allocations}
    if after == before:
        return False
    log_action(actor, "project.allocations_amended", project, before=before,
               after=after | {"decision": decision.number})
    return True


def stop_by_decision(actor, project: Project, decision: Decision) -> None:
    """An amending list no longer funds the project."""
    before = change_state(project, ProjectStatus.stopped, table=PROJECT_TRANSITIONS, what=_("The project"),
                          attr="status")
    project.status_decision_id = decision.id
    log_action(actor, "project.status", project, before={"status": before},
               after={"status": ProjectStatus.stopped, "decision": decision.number})


def project_of(proposal_id: int) -> Project | None:
    return db.session.scalar(sa.select(Project).filter_by(proposal_id=proposal_id))


def projects_adopted_by(decision: Decision) -> list[Project]:
    return list(db.session.scalars(sa.select(Project).filter_by(decision_id=decision.id).order_by(Project.code)))


def submit_report(actor, project: Project, kind: ReportKind, text: str,
                  attachment: tuple[str, bytes] | None = None) -> ProjectReport:
    """Either PI submits the joint interim or final report, with one PDF annex if any
    (`attachment`: its file name and content)."""
    if not any(side.pi_user_id == actor.id for side in project.proposal.sides):
        raise NotAllowed(_("Only a principal investigator of the project may submit its reports."))
    if project.status in (ProjectStatus.completed, ProjectStatus.stopped):
        raise DomainError(_("The project is %(s)s.", s=project.status.label))
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write the report before submitting it."))
    if kind == ReportKind.final and project.status == ProjectStatus.active and project.project_list.call.project_years > 1:
        raise DomainError(_("The final report follows the renewal for the second year."))
    report = next((r for r in project.reports if r.kind == kind), None)
    if report is None:
        report = ProjectReport(project=project, kind=kind, state=ReportState.due)
        db.session.add(report)
    if report.state != ReportState.due:
        raise DomainError(_("This report is already submitted."))
    if attachment is not None and attachment[1]:
        _attach(report, *attachment)
    report.text, report.state = text, ReportState.submitted
    report.submitted_at, report.submitted_by_id = utcnow(), actor.id
    db.session.flush()
    log_action(actor, "project.report", project, after={"kind": kind, "report_id": report.id,
                                                        "attachment": report.attachment_name})
    return report


def decide_project(actor, project: Project, decision: Decision, status: ProjectStatus) -> Project:
    """An adopted later decision renews (second year, after the interim report) or
    stops the project; the final report completes it."""
    require_secretariat(actor, project.proposal.call.committee_id)
    if not decision.is_adopted:
        raise DomainError(_("Only an adopted decision can renew or stop a project."))
    if decision.id == project.decision_id:
        raise DomainError(_("Renewal or stop needs a later decision than the one that adopted the project."))
    interim = next((r for r in project.reports if r.kind == ReportKind.interim), None)
    if status == ProjectStatus.renewed and (interim is None or interim.state == ReportState.due):
        raise DomainError(_("The interim report conditions the second year; it is not submitted yet."))
    if status == ProjectStatus.completed:
        final = next((r for r in project.reports if r.kind == ReportKind.final), None)
        if final is None or final.state == ReportState.due:
            raise DomainError(_("The final report is not submitted yet."))
    before = change_state(project, status, table=PROJECT_TRANSITIONS, what=_("The project"), attr="status")
    project.status_decision_id = decision.id
    if interim is not None and status in (ProjectStatus.renewed, ProjectStatus.stopped):
        interim.state = ReportState.accepted if status == ProjectStatus.renewed else interim.state
    log_action(actor, "project.status", project, before={"status": before},
               after={"status": status, "decision": decision.number})
    return project


def record_trip(actor, project: Project, *, planned_trip_id: int | None, from_agency_id: int,
                to_agency_id: int, traveller: str, days: int, year: int, started_on=None) -> TripDone:
    if not (any(side.pi_user_id == actor.id for side in project.proposal.sides)
            or actor.is_secretariat_of(project.proposal.call.committee_id) or actor.is_admin):
        raise NotAllowed(_("Only a principal investigator or the secretariat may record a trip."))
    if days is None or days < 1 or year is None or year < 1:
        raise DomainError(_("Days and project year must be at least 1."))
    if planned_trip_id is not None and planned_trip_id not in {t.id for t in project.proposal.trips}:
        raise DomainError(_("This planned trip belongs to another project."))
    trip = TripDone(project_id=project.id, planned_trip_id=planned_trip_id, from_agency_id=from_agency_id,
                    to_agency_id=to_agency_id, traveller=traveller.strip(), days=days, year=year,
                    started_on=started_on, recorded_by_id=actor.id)
    db.session.add(trip)
    db.session.flush()
    log_action(actor, "project.trip", project, after={"trip_id": trip.id, "days": days, "year": year})
    return trip


def mobility_against_plan(project: Project) -> list[dict]:
    """Per planned trip: the trips done against it; then the trips done off plan."""
    done = db.session.scalars(sa.select(TripDone).filter_by(project_id=project.id).order_by(TripDone.id)).all()
    rows = []
    for trip in sorted(project.proposal.trips, key=lambda t: (t.year, t.id)):
        matched = [d for d in done if d.planned_trip_id == trip.id]
        rows.append({"planned": trip, "done": matched, "days_done": sum(d.days for d in matched)})
    extra = [d for d in done if d.planned_trip_id is None]
    if extra:
        rows.append({"planned": None, "done": extra, "days_done": sum(d.days for d in extra)})
    return rows


REMIND_DAYS_BEFORE = 30
OPEN = (ProjectStatus.active, ProjectStatus.renewed)


def remind_reports(today: date) -> int:
    """Beat: both PIs of a running project are reminded of a report due within
    REMIND_DAYS_BEFORE days, and once more when it is overdue; each reminder once (its
    outbox key). Returns the reminders written."""
    due = db.session.scalars(sa.select(ProjectReport).join(Project).where(
        ProjectReport.state == ReportState.due, ProjectReport.due_on.is_not(None),
        ProjectReport.due_on <= today + timedelta(days=REMIND_DAYS_BEFORE), Project.status.in_(OPEN))).all()
    written = 0
    for report in due:
        when = "overdue" if report.due_on < today else "before"
        for side in report.project.proposal.sides:
            if side.pi is None:
                continue
            key = f"report-{when}-{report.id}-{side.agency_id}"
            if db.session.scalar(sa.select(OutboxMessage.id).filter_by(idempotency_key=key)) is not None:
                continue
            queue_email(to=side.pi, template="report_reminder", key=key,
                        context={"report": report, "project": report.project, "overdue": when == "overdue"})
            written += 1
    return written


def _attach(report: ProjectReport, filename: str, data: bytes) -> None:
    """Check the annex as a proposal document is checked (a real PDF, no active content,
    within the upload limit) and store it outside the web root."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if limit and len(data) > limit:
        raise DomainError(_("The file is %(size)s; the limit is %(limit)s.", size=human_size(len(data)),
                            limit=human_size(limit)))
    read_pdf(data)  # refuses what is not a PDF, or holds active content
    report.attachment_stored_name = f"{secrets.token_hex(16)}.pdf"
    path = upload_folder() / report.attachment_stored_name
    path.write_bytes(data)
    unless_committed(lambda: path.unlink(missing_ok=True))  # nothing would refer to it
    report.attachment_name = safe_pdf_name(filename)
    report.attachment_size, report.attachment_sha256 = len(data), hashlib.sha256(data).hexdigest()


def attachment_path(report: ProjectReport) -> Path:
    return upload_folder() / report.attachment_stored_name
