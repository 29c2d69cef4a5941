from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from cfp.calls.models import Call, JointCommittee
from cfp.committee.forms import (
    AgendaItemForm, AttachListForm, AttendeeForm, DecisionForm, MeetingForm, OutcomeForm,
)
from cfp.committee.models import (
    AgendaItem, Decision, DecisionKind, Meeting, MeetingMode, MeetingStatus, Project, ProjectList,
    ProjectListEntry, ProjectListState,
)
from cfp.committee.operations import (
    add_agenda_item, add_attendee, approve_decision, attach_project_list, create_meeting,
    draft_decision, draft_project_list, envelope_use, project_years,
    propose_project_list, record_adoption_at_meeting, release_letters, set_entry_amounts,
    set_outcome,
)
from cfp.committee.operations import joint_ranking as compute_joint_ranking
from cfp.core.errors import DomainError
from cfp.core.roles import Role, role_required
from cfp.extensions import db
from cfp.proposals.models import Proposal, ProposalState
from cfp.core.forms import options

bp = Blueprint("committee", __name__, url_prefix="/committee")

JOINT_ROLES = (Role.secretariat, Role.cochair, Role.admin)


def _committee() -> JointCommittee:
    committee = db.session.scalar(sa.select(JointCommittee).order_by(JointCommittee.id))
    if committee is None:
        abort(404)
    return committee


def _sides_choices(committee):
    return options((a.id, f"{a.short_name} ({a.country})") for a in committee.agencies)


@bp.route("/meetings", methods=["GET", "POST"])
@role_required(Role.secretariat, Role.cochair, Role.staff, Role.admin)
def meetings():
    committee = _committee()
    form = MeetingForm()
    form.host_agency_id.choices = _sides_choices(committee)
    if form.validate_on_submit():
        if not current_user.is_secretariat:
            abort(403)
        try:
            meeting = create_meeting(
                current_user, committee, number=form.number.data, date_=form.date.data,
                mode=MeetingMode(form.mode.data), host_agency_id=form.host_agency_id.data,
                city=form.city.data or "", status=MeetingStatus(form.status.data),
                date_note=form.date_note.data or "",
            )
        except DomainError as exc:
            db.session.rollback()
            form.number.errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("The %(title)s is created.", title=meeting.title), "success")
            return redirect(url_for("committee.meeting", meeting_id=meeting.id))
    items = db.session.scalars(sa.select(Meeting).filter_by(committee_id=committee.id)
                               .order_by(Meeting.number.desc())).all()
    if not form.is_submitted():
        form.number.data = (items[0].number + 1) if items else 1
    return render_template("committee/meetings.html", committee=committee, meetings=items, form=form)


@bp.route("/meetings/<int:meeting_id>")
@login_required
def meeting(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    if not meeting.can_view(current_user):
        abort(404)
    attendee_form = AttendeeForm()
    attendee_form.agency_id.choices = _sides_choices(meeting.committee)
    decision_form = DecisionForm()
    decision_form.agenda_item_id.choices = options([(i.id, f"{i.label} {i.title}") for i in meeting.agenda_items])
    return render_template("committee/meeting.html", meeting=meeting, attendee_form=attendee_form,
                           item_form=AgendaItemForm(), decision_form=decision_form)


@bp.route("/meetings/<int:meeting_id>/attendees", methods=["POST"])
@role_required(Role.secretariat)
def attendee(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    form = AttendeeForm()
    form.agency_id.choices = _sides_choices(meeting.committee)
    if form.validate_on_submit():
        add_attendee(current_user, meeting, agency_id=form.agency_id.data, name=form.name.data,
                     name_original=form.name_original.data or None, title=form.title.data or "",
                     organisation=form.organisation.data or "", is_cochair=form.is_cochair.data)
        db.session.commit()
    else:
        flash(_("Give the attendee's name and side."), "danger")
    return redirect(url_for("committee.meeting", meeting_id=meeting.id))


@bp.route("/meetings/<int:meeting_id>/items", methods=["POST"])
@role_required(Role.secretariat)
def agenda_item(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    form = AgendaItemForm()
    if form.validate_on_submit():
        add_agenda_item(current_user, meeting, form.title.data)
        db.session.commit()
    else:
        flash(_("Give the agenda item a title."), "danger")
    return redirect(url_for("committee.meeting", meeting_id=meeting.id))


@bp.route("/meetings/<int:meeting_id>/decisions", methods=["POST"])
@role_required(Role.secretariat)
def new_decision(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    form = DecisionForm()
    form.agenda_item_id.choices = options([(i.id, i.title) for i in meeting.agenda_items])
    if form.validate_on_submit():
        item = db.session.get(AgendaItem, form.agenda_item_id.data)
        if item is None or item.meeting_id != meeting.id:
            abort(404)
        decision = draft_decision(current_user, item, kind=DecisionKind(form.kind.data),
                                  title=form.title.data, text=form.text.data or "")
        db.session.commit()
        return redirect(url_for("committee.decision", decision_id=decision.id))
    flash(_("Give the decision a title."), "danger")
    return redirect(url_for("committee.meeting", meeting_id=meeting.id))


def _load_decision(decision_id: int) -> Decision:
    decision = db.get_or_404(Decision, decision_id)
    if not (current_user.is_authenticated and (current_user.is_secretariat or current_user.is_admin
                                                or current_user.has_role(Role.cochair)
                                                or current_user.has_role(Role.staff))):
        abort(404)
    return decision


@bp.route("/decisions/<int:decision_id>")
@login_required
def decision(decision_id: int):
    decision = _load_decision(decision_id)
    attach_form = AttachListForm()
    lists = []
    if decision.kind == DecisionKind.adopt_project_list:
        lists = db.session.scalars(sa.select(ProjectList).where(
            ProjectList.state == ProjectListState.proposed)).all()
    attach_form.project_list_id.choices = options([(pl.id, f"{pl.call.reference} v{pl.version}") for pl in lists])
    projects = db.session.scalars(sa.select(Project).filter_by(decision_id=decision.id).order_by(Project.code)).all()
    from cfp.core.outbox import MessageStatus, OutboxMessage

    held = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-%"), OutboxMessage.status == MessageStatus.held))
    return render_template("committee/decision.html", decision=decision, attach_form=attach_form,
                           projects=projects, held=held)


@bp.route("/decisions/<int:decision_id>/attach", methods=["POST"])
@role_required(Role.secretariat)
def attach(decision_id: int):
    decision = _load_decision(decision_id)
    form = AttachListForm()
    form.project_list_id.choices = options([(pl.id, "") for pl in db.session.scalars(sa.select(ProjectList))])
    if form.validate_on_submit():
        attach_project_list(current_user, decision, db.session.get(ProjectList, form.project_list_id.data))
        db.session.commit()
        flash(_("The project list is tabled under decision %(n)s.", n=decision.number), "success")
    return redirect(url_for("committee.decision", decision_id=decision.id))


@bp.route("/decisions/<int:decision_id>/approve", methods=["POST"])
@role_required(Role.cochair)
def approve(decision_id: int):
    decision = _load_decision(decision_id)
    if not decision.can_approve(current_user):
        abort(403)
    approve_decision(current_user, decision)
    db.session.commit()
    flash(_("Your approval is recorded.") if decision.state.value == "draft"
          else _("Both co-chairs approved: decision %(n)s is adopted.", n=decision.number), "success")
    return redirect(url_for("committee.decision", decision_id=decision.id))


@bp.route("/decisions/<int:decision_id>/record", methods=["POST"])
@role_required(Role.secretariat)
def record(decision_id: int):
    decision = _load_decision(decision_id)
    record_adoption_at_meeting(current_user, decision)
    db.session.commit()
    flash(_("Decision %(n)s is adopted.", n=decision.number), "success")
    return redirect(url_for("committee.decision", decision_id=decision.id))


@bp.route("/decisions/<int:decision_id>/release", methods=["POST"])
@role_required(Role.secretariat)
def release(decision_id: int):
    decision = _load_decision(decision_id)
    released = release_letters(current_user, decision)
    db.session.commit()
    flash(_("%(n)s letters released.", n=released), "success")
    return redirect(url_for("committee.decision", decision_id=decision.id))


@bp.route("/joint")
@role_required(*JOINT_ROLES)
def joint_ranking_index():
    calls = db.session.scalars(sa.select(Call).order_by(Call.opens_at.desc())).all()
    return render_template("committee/joint_index.html", calls=calls)


@bp.route("/joint/<int:call_id>")
@role_required(*JOINT_ROLES)
def joint_ranking(call_id: int):
    call = db.get_or_404(Call, call_id)
    if not call.can_view(current_user):
        abort(404)
    rows = compute_joint_ranking(call)
    lists = db.session.scalars(sa.select(ProjectList).filter_by(call_id=call.id)
                               .order_by(ProjectList.version.desc())).all()
    return render_template("committee/joint_ranking.html", call=call, rows=rows,
                           outcome_form=OutcomeForm(), lists=lists)


@bp.route("/joint/outcome/<int:proposal_id>", methods=["POST"])
@role_required(Role.secretariat)
def outcome(proposal_id: int):
    proposal = db.get_or_404(Proposal, proposal_id)
    if not proposal.can_view(current_user):
        abort(404)
    form = OutcomeForm()
    if form.validate_on_submit():
        set_outcome(current_user, proposal, ProposalState(form.outcome.data))
        db.session.commit()
        flash(_("%(ref)s: %(state)s.", ref=proposal.reference, state=proposal.state.label), "success")
    return redirect(url_for("committee.joint_ranking", call_id=proposal.call_id))


@bp.route("/calls/<int:call_id>/lists", methods=["POST"])
@role_required(Role.secretariat)
def new_list(call_id: int):
    call = db.get_or_404(Call, call_id)
    plist = draft_project_list(current_user, call)
    db.session.commit()
    return redirect(url_for("committee.project_list", list_id=plist.id))


@bp.route("/lists/<int:list_id>", methods=["GET", "POST"])
@role_required(*JOINT_ROLES)
def project_list(list_id: int):
    plist = db.session.scalar(sa.select(ProjectList).where(ProjectList.id == list_id).options(
        selectinload(ProjectList.entries).selectinload(ProjectListEntry.amounts)))
    if plist is None:
        abort(404)
    years = list(range(1, project_years(plist.call) + 1))
    if request.method == "POST":
        if not plist.can_edit(current_user):
            abort(403)
        try:
            for entry in plist.entries:
                amounts = {}
                for agency in plist.call.agencies:
                    for year in years:
                        raw = request.form.get(f"amount-{entry.id}-{agency.id}-{year}", "").strip()
                        amounts[(agency.id, year)] = Decimal(raw or "0")
                set_entry_amounts(current_user, entry, amounts)
        except (InvalidOperation, DomainError) as exc:
            db.session.rollback()
            flash(getattr(exc, "message", _("Amounts must be numbers.")), "danger")
        else:
            db.session.commit()
            flash(_("Amounts saved."), "success")
        return redirect(url_for("committee.project_list", list_id=plist.id))
    return render_template("committee/project_list.html", plist=plist, years=years, used=envelope_use(plist))


@bp.route("/lists/<int:list_id>/propose", methods=["POST"])
@role_required(Role.secretariat)
def propose(list_id: int):
    plist = db.get_or_404(ProjectList, list_id)
    propose_project_list(current_user, plist)
    db.session.commit()
    flash(_("The list is proposed; table it under a decision to adopt it."), "success")
    return redirect(url_for("committee.project_list", list_id=plist.id))


@bp.route("/projects/<int:project_id>")
@login_required
def project(project_id: int):
    project = db.get_or_404(Project, project_id)
    if not project.can_view(current_user):
        abort(404)
    return render_template("committee/project.html", project=project)
