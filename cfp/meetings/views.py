"""Pages of the Joint Committee's meetings and decisions (and a decision's letters)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from cfp.calls.models import Call, JointCommittee
from cfp.core.errors import DomainError
from cfp.core.forms import options
from cfp.core.listing import offset_page
from cfp.core.loading import load_visible
from cfp.core.params import whole_number
from cfp.core.roles import Role, role_required
from cfp.extensions import db
from cfp.meetings.forms import (
    AgendaItemForm,
    AttachListForm,
    AttendeeForm,
    DecisionForm,
    EditDecisionForm,
    MeetingForm,
    MeetingStatusForm,
    SupersedeForm,
    WrittenDecisionForm,
)
from cfp.meetings.models import (
    MEETING_TRANSITIONS,
    AgendaItem,
    Decision,
    DecisionKind,
    Meeting,
    MeetingMode,
    MeetingStatus,
)
from cfp.meetings.operations import (
    add_agenda_item,
    add_attendee,
    approve_decision,
    attach_project_list,
    change_meeting_status,
    create_meeting,
    draft_decision,
    draft_superseding_decision,
    draft_written_decision,
    edit_decision,
    previous_meeting,
    projects_adopted_at,
    record_adoption_at_meeting,
    written_decisions,
)
from cfp.projects.models import Project
from cfp.selection.models import ProjectList, ProjectListState
from cfp.selection.operations import letter_summary, release_letter, release_letters

bp = Blueprint("meetings", __name__, url_prefix="/meetings")


def _committee() -> JointCommittee:
    """The committee whose meetings the page shows: `?committee=`, among the user's."""
    committee = JointCommittee.chosen(current_user, request.args.get("committee", type=whole_number))
    if committee is None:
        abort(404)
    return committee


def _sides_choices(committee):
    return options((a.id, f"{a.short_name} ({a.country})") for a in committee.agencies)


@bp.route("", methods=["GET", "POST"])
@role_required(Role.secretariat, Role.cochair, Role.staff, Role.admin)
def index():
    committee = _committee()
    form = MeetingForm()
    form.host_agency_id.choices = _sides_choices(committee)
    if form.validate_on_submit():
        if not current_user.is_secretariat_of(committee.id):
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
            return redirect(url_for("meetings.meeting", meeting_id=meeting.id))
    items = offset_page(sa.select(Meeting).filter_by(committee_id=committee.id)
                        .order_by(Meeting.number.desc(), Meeting.id))
    if not form.is_submitted():
        last = db.session.scalar(sa.select(sa.func.max(Meeting.number)).filter_by(committee_id=committee.id))
        form.number.data = (last or 0) + 1
    written = offset_page(sa.select(Decision).where(
        Decision.committee_id == committee.id, Decision.written_procedure.is_(True))
        .options(selectinload(Decision.reported_at_meeting)).order_by(Decision.id.desc()),
        param="written_page")
    return render_template("meetings/meetings.html", committee=committee, meetings=items, form=form,
                           written=written, written_form=WrittenDecisionForm())


@bp.route("/<int:meeting_id>")
@login_required
def meeting(meeting_id: int):
    meeting = load_visible(Meeting, meeting_id)
    attendee_form = AttendeeForm()
    attendee_form.agency_id.choices = _sides_choices(meeting.committee)
    decision_form = DecisionForm()
    decision_form.agenda_item_id.choices = options([(i.id, f"{i.label} {i.title}") for i in meeting.agenda_items])
    previous = previous_meeting(meeting)
    status_form = MeetingStatusForm()
    status_form.status.choices = options([(st.value, st.label) for st in MeetingStatus
                                          if st in MEETING_TRANSITIONS[meeting.status]])
    return render_template("meetings/meeting.html", meeting=meeting, attendee_form=attendee_form,
                           item_form=AgendaItemForm(), decision_form=decision_form,
                           status_form=status_form,
                           previous=previous, previous_projects=projects_adopted_at(previous),
                           written=written_decisions(meeting))


@bp.route("/<int:meeting_id>/attendees", methods=["POST"])
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
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/items", methods=["POST"])
@role_required(Role.secretariat)
def agenda_item(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    form = AgendaItemForm()
    if form.validate_on_submit():
        add_agenda_item(current_user, meeting, form.title.data)
        db.session.commit()
    else:
        flash(_("Give the agenda item a title."), "danger")
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/decisions", methods=["POST"])
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
        return redirect(url_for("meetings.decision", decision_id=decision.id))
    flash(_("Give the decision a title."), "danger")
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id))


@bp.route("/decisions/<int:decision_id>")
@login_required
def decision(decision_id: int):
    decision = load_visible(Decision, decision_id)
    attach_form = AttachListForm()
    lists = []
    if decision.kind == DecisionKind.adopt_project_list:
        lists = db.session.scalars(sa.select(ProjectList).join(Call, Call.id == ProjectList.call_id).where(
            ProjectList.state == ProjectListState.proposed, Call.committee_id == decision.committee_id)
            .order_by(ProjectList.id)).all()
    attach_form.project_list_id.choices = options([(pl.id, f"{pl.call.reference} v{pl.version}") for pl in lists])
    projects = db.session.scalars(sa.select(Project).filter_by(decision_id=decision.id).order_by(Project.code)).all()
    from cfp.core.outbox import MessageStatus, OutboxMessage

    held = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.idempotency_key.like(f"letter-{decision.id}-%"), OutboxMessage.status == MessageStatus.held))
    supersede_form = SupersedeForm()
    supersede_form.agenda_item_id.choices = _supersede_choices(decision)
    superseded_by = db.session.scalars(sa.select(Decision).filter_by(supersedes_id=decision.id)).all()
    return render_template("meetings/decision.html", decision=decision, attach_form=attach_form,
                           projects=projects, held=held, edit_form=EditDecisionForm(obj=decision),
                           supersede_form=supersede_form, superseded_by=superseded_by)


@bp.route("/decisions/<int:decision_id>/attach", methods=["POST"])
@role_required(Role.secretariat)
def attach(decision_id: int):
    decision = load_visible(Decision, decision_id)
    form = AttachListForm()
    form.project_list_id.choices = options([(pl_id, "") for pl_id in db.session.scalars(  # its committee's only
        sa.select(ProjectList.id).join(Call, Call.id == ProjectList.call_id)
        .where(Call.committee_id == decision.committee_id))])
    if form.validate_on_submit():
        attach_project_list(current_user, decision, db.session.get(ProjectList, form.project_list_id.data))
        db.session.commit()
        flash(_("The project list is tabled under decision %(n)s.", n=decision.number), "success")
    return redirect(url_for("meetings.decision", decision_id=decision.id))


@bp.route("/decisions/<int:decision_id>/approve", methods=["POST"])
@role_required(Role.cochair)
def approve(decision_id: int):
    decision = load_visible(Decision, decision_id)
    if not decision.can_approve(current_user):
        abort(403)
    approve_decision(current_user, decision)
    db.session.commit()
    flash(_("Your approval is recorded.") if decision.state.value == "draft"
          else _("Both co-chairs approved: decision %(n)s is adopted.", n=decision.number), "success")
    return redirect(url_for("meetings.decision", decision_id=decision.id))


@bp.route("/decisions/<int:decision_id>/record", methods=["POST"])
@role_required(Role.secretariat)
def record(decision_id: int):
    decision = load_visible(Decision, decision_id)
    record_adoption_at_meeting(current_user, decision)
    db.session.commit()
    flash(_("Decision %(n)s is adopted.", n=decision.number), "success")
    return redirect(url_for("meetings.decision", decision_id=decision.id))


@bp.route("/decisions/<int:decision_id>/release", methods=["POST"])
@role_required(Role.secretariat)
def release(decision_id: int):
    decision = load_visible(Decision, decision_id)
    released = release_letters(current_user, decision)
    db.session.commit()
    flash(_("%(n)s letters released.", n=released), "success")
    return redirect(url_for("meetings.decision", decision_id=decision.id))


@bp.route("/<int:meeting_id>/status", methods=["POST"])
@role_required(Role.secretariat)
def meeting_status(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    form = MeetingStatusForm()
    if form.validate_on_submit():
        change_meeting_status(current_user, meeting, MeetingStatus(form.status.data))
        db.session.commit()
        flash(_("The %(title)s is %(status)s.", title=meeting.title, status=meeting.status.label), "success")
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/minutes.pdf")
@login_required
def minutes(meeting_id: int):
    from cfp.meetings.minutes import minutes_pdf

    meeting = load_visible(Meeting, meeting_id)
    data = minutes_pdf(meeting)
    return current_app.response_class(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="minutes-meeting-{meeting.number}.pdf"'})


@bp.route("/decisions/written", methods=["POST"])
@role_required(Role.secretariat)
def written_decision():
    committee = _committee()
    form = WrittenDecisionForm()
    if form.validate_on_submit():
        decision = draft_written_decision(current_user, committee, kind=DecisionKind(form.kind.data),
                                          title=form.title.data, text=form.text.data or "")
        db.session.commit()
        return redirect(url_for("meetings.decision", decision_id=decision.id))
    flash(_("Give the decision a title."), "danger")
    return redirect(url_for("meetings.index"))


@bp.route("/decisions/<int:decision_id>/edit", methods=["POST"])
@role_required(Role.secretariat)
def edit(decision_id: int):
    decision = load_visible(Decision, decision_id)
    form = EditDecisionForm()
    if form.validate_on_submit():
        edit_decision(current_user, decision, title=form.title.data, text=form.text.data or "")
        db.session.commit()
        flash(_("Decision %(n)s saved.", n=decision.number), "success")
    else:
        flash(_("Give the decision a title."), "danger")
    return redirect(url_for("meetings.decision", decision_id=decision.id))


def _supersede_choices(decision: Decision):
    items = db.session.scalars(sa.select(AgendaItem).join(Meeting).where(
        Meeting.committee_id == decision.committee_id, Meeting.status != MeetingStatus.held)
        .order_by(Meeting.number, AgendaItem.number)).all()
    return options([(0, _("by written procedure"))] + [(i.id, f"{i.label} {i.title}") for i in items])


@bp.route("/decisions/<int:decision_id>/supersede", methods=["POST"])
@role_required(Role.secretariat)
def supersede(decision_id: int):
    decision = load_visible(Decision, decision_id)
    form = SupersedeForm()
    form.agenda_item_id.choices = _supersede_choices(decision)
    if not form.validate_on_submit():
        flash(_("Give the new decision a title."), "danger")
        return redirect(url_for("meetings.decision", decision_id=decision.id))
    item = db.session.get(AgendaItem, form.agenda_item_id.data) if form.agenda_item_id.data else None
    new = draft_superseding_decision(current_user, decision, item=item, title=form.title.data,
                                     text=form.text.data or "")
    db.session.commit()
    return redirect(url_for("meetings.decision", decision_id=new.id))


@bp.route("/decisions/<int:decision_id>/letters")
@role_required(Role.secretariat, Role.admin)
def letters(decision_id: int):
    decision = load_visible(Decision, decision_id)
    return render_template("meetings/letters.html", decision=decision, letters=letter_summary(decision))


@bp.route("/decisions/<int:decision_id>/letters/<int:message_id>/release", methods=["POST"])
@role_required(Role.secretariat)
def release_one(decision_id: int, message_id: int):
    from cfp.core.outbox import OutboxMessage

    decision = load_visible(Decision, decision_id)
    message = db.get_or_404(OutboxMessage, message_id)
    if not message.idempotency_key.startswith(f"letter-{decision.id}-"):
        abort(404)
    released = release_letter(current_user, decision, message)
    db.session.commit()
    flash(_("The letter to %(to)s is released.", to=message.recipient) if released
          else _("This letter was already released."), "success" if released else "info")
    return redirect(url_for("meetings.letters", decision_id=decision.id))
