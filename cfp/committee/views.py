from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from cfp.calls.models import Call, JointCommittee
from cfp.committee.forms import (
    AgendaItemForm,
    AttachListForm,
    AttendeeForm,
    DecisionForm,
    EditDecisionForm,
    MeetingForm,
    MeetingStatusForm,
    MoveEntryForm,
    OutcomeForm,
    ProjectStatusForm,
    ReportForm,
    ScoreMethodForm,
    SupersedeForm,
    TieBreakForm,
    TripForm,
    WrittenDecisionForm,
)
from cfp.committee.models import (
    MEETING_TRANSITIONS,
    AgendaItem,
    Decision,
    DecisionKind,
    DecisionState,
    EntryKind,
    Meeting,
    MeetingMode,
    MeetingStatus,
    Project,
    ProjectList,
    ProjectListEntry,
    ProjectListState,
    ProjectStatus,
    ReportKind,
    ReportState,
    ScoreMethod,
    TieBreak,
)
from cfp.committee.operations import (
    add_agenda_item,
    add_attendee,
    approve_decision,
    archive_call,
    attach_project_list,
    break_tie,
    change_meeting_status,
    compare_scenarios,
    create_meeting,
    decide_project,
    decision_letters,
    draft_decision,
    draft_project_list,
    draft_superseding_decision,
    draft_written_decision,
    edit_decision,
    envelope_use,
    mobility_against_plan,
    move_entry,
    plan_funding,
    previous_meeting,
    project_years,
    projects_adopted_at,
    propose_project_list,
    record_adoption_at_meeting,
    record_trip,
    release_letter,
    release_letters,
    score_method,
    set_entry_amounts,
    set_outcome,
    set_score_method,
    set_year_envelopes,
    submit_report,
    written_decisions,
    year_envelopes,
)
from cfp.committee.operations import joint_ranking as compute_joint_ranking
from cfp.core.errors import DomainError
from cfp.core.forms import options
from cfp.core.roles import Role, role_required
from cfp.extensions import db
from cfp.proposals.models import Proposal, ProposalState

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
    written = db.session.scalars(sa.select(Decision).where(
        Decision.committee_id == committee.id, Decision.written_procedure.is_(True))
        .options(selectinload(Decision.reported_at_meeting)).order_by(Decision.id.desc())).all()
    return render_template("committee/meetings.html", committee=committee, meetings=items, form=form,
                           written=written, written_form=WrittenDecisionForm())


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
    previous = previous_meeting(meeting)
    status_form = MeetingStatusForm()
    status_form.status.choices = options([(st.value, st.label) for st in MeetingStatus
                                          if st in MEETING_TRANSITIONS[meeting.status]])
    return render_template("committee/meeting.html", meeting=meeting, attendee_form=attendee_form,
                           item_form=AgendaItemForm(), decision_form=decision_form,
                           status_form=status_form,
                           previous=previous, previous_projects=projects_adopted_at(previous),
                           written=written_decisions(meeting))


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
    supersede_form = SupersedeForm()
    supersede_form.agenda_item_id.choices = _supersede_choices(decision)
    superseded_by = db.session.scalars(sa.select(Decision).filter_by(supersedes_id=decision.id)).all()
    return render_template("committee/decision.html", decision=decision, attach_form=attach_form,
                           projects=projects, held=held, edit_form=EditDecisionForm(obj=decision),
                           supersede_form=supersede_form, superseded_by=superseded_by)


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
    method_form = ScoreMethodForm(method=score_method(call).value)
    ties: dict = {}
    for r in rows:
        if r.tied:
            ties.setdefault(r.combined, []).append(r)
    tie_breaks = db.session.scalars(sa.select(TieBreak).filter_by(call_id=call.id).order_by(TieBreak.id)).all()
    refs = {r.proposal.id: r.proposal.reference for r in rows}
    return render_template("committee/joint_ranking.html", call=call, rows=rows,
                           outcome_form=OutcomeForm(), lists=lists, method_form=method_form,
                           method=score_method(call), ties=ties, tie_breaks=tie_breaks, refs=refs)


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


@bp.route("/calls/<int:call_id>/archive", methods=["POST"])
@role_required(Role.secretariat)
def archive(call_id: int):
    call = db.get_or_404(Call, call_id)
    if not call.can_view(current_user):
        abort(404)
    rejected = archive_call(current_user, call)
    db.session.commit()
    flash(_("The call %(ref)s is closed for good; %(n)s proposals left on the reserve list are "
            "not funded and their PIs are told.", ref=call.reference, n=len(rejected)), "success")
    return redirect(url_for("committee.joint_ranking", call_id=call.id))


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
        reason = request.form.get("reason", "")
        try:
            for entry in plist.entries:
                amounts = {}
                for agency in plist.call.agencies:
                    for year in years:
                        raw = request.form.get(f"amount-{entry.id}-{agency.id}-{year}")
                        if raw is not None:  # a field left out keeps its amount
                            amounts[(agency.id, year)] = Decimal(raw.strip() or "0")
                set_entry_amounts(current_user, entry, amounts, reason=reason)
        except (InvalidOperation, DomainError) as exc:
            # Nothing is saved; the page comes back with what was typed and the reason.
            db.session.rollback()
            flash(getattr(exc, "message", _("Amounts must be numbers.")), "danger")
            return _render_project_list(list_id, typed=request.form), 422
        db.session.commit()
        flash(_("Amounts saved."), "success")
        return redirect(url_for("committee.project_list", list_id=plist.id))
    return _render_project_list(list_id)


def _render_project_list(list_id: int, typed=None):
    plist = db.session.scalar(sa.select(ProjectList).where(ProjectList.id == list_id).options(
        selectinload(ProjectList.entries).selectinload(ProjectListEntry.amounts)))
    years = list(range(1, project_years(plist.call) + 1))
    return render_template("committee/project_list.html", plist=plist, years=years,
                           used=envelope_use(plist), envelopes=year_envelopes(plist.call),
                           move_form=MoveEntryForm(), typed=typed or {})


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
    return render_template("committee/project.html", project=project, **_project_forms(project))


# --- joint selection: score method, ties, funding plan, scenarios ------------------------

def _joint_call(call_id: int) -> Call:
    call = db.get_or_404(Call, call_id)
    if not call.can_view(current_user):
        abort(404)
    return call


@bp.route("/joint/<int:call_id>/method", methods=["POST"])
@role_required(Role.secretariat)
def score_method_setting(call_id: int):
    call = _joint_call(call_id)
    form = ScoreMethodForm()
    if form.validate_on_submit():
        set_score_method(current_user, call, ScoreMethod(form.method.data))
        db.session.commit()
        flash(_("The joint ranking now uses: %(m)s.", m=ScoreMethod(form.method.data).label), "success")
    return redirect(url_for("committee.joint_ranking", call_id=call.id))


@bp.route("/joint/<int:call_id>/ties", methods=["POST"])
@role_required(Role.secretariat)
def tie_break(call_id: int):
    call = _joint_call(call_id)
    form = TieBreakForm()
    if not form.validate_on_submit():
        flash(_("Give the order of the tied proposals and the reason."), "danger")
        return redirect(url_for("committee.joint_ranking", call_id=call.id))
    refs = [r.strip() for r in form.order.data.replace("\n", ",").split(",") if r.strip()]
    by_ref = dict(db.session.execute(sa.select(Proposal.reference, Proposal.id).where(
        Proposal.call_id == call.id, Proposal.reference.in_(refs))).all())
    unknown = [r for r in refs if r not in by_ref]
    if unknown:
        flash(_("Unknown references: %(refs)s.", refs=", ".join(unknown)), "danger")
        return redirect(url_for("committee.joint_ranking", call_id=call.id))
    break_tie(current_user, call, [by_ref[r] for r in refs], form.reason.data)
    db.session.commit()
    flash(_("The order of the tied proposals is recorded."), "success")
    return redirect(url_for("committee.joint_ranking", call_id=call.id))


@bp.route("/calls/<int:call_id>/plan", methods=["POST"])
@role_required(Role.secretariat)
def plan(call_id: int):
    call = _joint_call(call_id)
    plist = plan_funding(current_user, call)
    db.session.commit()
    flash(plist.notes, "info")
    return redirect(url_for("committee.project_list", list_id=plist.id))


@bp.route("/calls/<int:call_id>/envelopes", methods=["GET", "POST"])
@role_required(*JOINT_ROLES)
def envelopes(call_id: int):
    call = _joint_call(call_id)
    years = list(range(1, project_years(call) + 1))
    if request.method == "POST":
        if not current_user.is_secretariat:
            abort(403)
        try:
            amounts = {}
            for side in call.sides:
                for year in years:
                    raw = request.form.get(f"envelope-{side.agency_id}-{year}")
                    if raw is not None and raw.strip():
                        amounts[(side.agency_id, year)] = Decimal(raw.strip())
            set_year_envelopes(current_user, call, amounts)
        except InvalidOperation:
            db.session.rollback()
            flash(_("Amounts must be numbers."), "danger")
        else:
            db.session.commit()
            flash(_("Envelopes per year saved."), "success")
        return redirect(url_for("committee.envelopes", call_id=call.id))
    return render_template("committee/envelopes.html", call=call, years=years, envelopes=year_envelopes(call))


@bp.route("/calls/<int:call_id>/scenarios")
@role_required(*JOINT_ROLES)
def scenarios(call_id: int):
    call = _joint_call(call_id)
    lists = db.session.scalars(sa.select(ProjectList).where(ProjectList.call_id == call.id).options(
        selectinload(ProjectList.entries).selectinload(ProjectListEntry.amounts))
        .order_by(ProjectList.version)).all()
    chosen = request.args.getlist("v", type=int)
    if chosen:
        lists = [pl for pl in lists if pl.version in chosen]
    years = list(range(1, project_years(call) + 1))
    proposals = {e.proposal_id: e.proposal for pl in lists for e in pl.entries}
    return render_template("committee/scenarios.html", call=call, years=years,
                           scenarios=compare_scenarios(call, lists), proposals=proposals,
                           envelopes=year_envelopes(call))


@bp.route("/entries/<int:entry_id>/move", methods=["POST"])
@role_required(Role.secretariat)
def move(entry_id: int):
    entry = db.get_or_404(ProjectListEntry, entry_id)
    form = MoveEntryForm()
    if form.validate_on_submit():
        move_entry(current_user, entry, kind=EntryKind(form.kind.data), position=form.position.data - 1,
                   reason=form.reason.data)
        db.session.commit()
        flash(_("%(ref)s moved.", ref=entry.proposal.reference), "success")
    else:
        flash(_("Give the list, the position and the reason."), "danger")
    return redirect(url_for("committee.project_list", list_id=entry.project_list_id))


# --- meetings and decisions ---------------------------------------------------------------

@bp.route("/meetings/<int:meeting_id>/status", methods=["POST"])
@role_required(Role.secretariat)
def meeting_status(meeting_id: int):
    meeting = db.get_or_404(Meeting, meeting_id)
    form = MeetingStatusForm()
    if form.validate_on_submit():
        change_meeting_status(current_user, meeting, MeetingStatus(form.status.data))
        db.session.commit()
        flash(_("The %(title)s is %(status)s.", title=meeting.title, status=meeting.status.label), "success")
    return redirect(url_for("committee.meeting", meeting_id=meeting.id))


@bp.route("/meetings/<int:meeting_id>/minutes.pdf")
@login_required
def minutes(meeting_id: int):
    from cfp.committee.minutes import minutes_pdf

    meeting = db.get_or_404(Meeting, meeting_id)
    if not meeting.can_view(current_user):
        abort(404)
    data = minutes_pdf(meeting)
    return current_app.response_class(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="minutes-meeting-{meeting.number}.pdf"'})


@bp.route("/written", methods=["POST"])
@role_required(Role.secretariat)
def written_decision():
    committee = _committee()
    form = WrittenDecisionForm()
    if form.validate_on_submit():
        decision = draft_written_decision(current_user, committee, kind=DecisionKind(form.kind.data),
                                          title=form.title.data, text=form.text.data or "")
        db.session.commit()
        return redirect(url_for("committee.decision", decision_id=decision.id))
    flash(_("Give the decision a title."), "danger")
    return redirect(url_for("committee.meetings"))


@bp.route("/decisions/<int:decision_id>/edit", methods=["POST"])
@role_required(Role.secretariat)
def edit(decision_id: int):
    decision = _load_decision(decision_id)
    form = EditDecisionForm()
    if form.validate_on_submit():
        edit_decision(current_user, decision, title=form.title.data, text=form.text.data or "")
        db.session.commit()
        flash(_("Decision %(n)s saved.", n=decision.number), "success")
    else:
        flash(_("Give the decision a title."), "danger")
    return redirect(url_for("committee.decision", decision_id=decision.id))


def _supersede_choices(decision: Decision):
    items = db.session.scalars(sa.select(AgendaItem).join(Meeting).where(
        Meeting.committee_id == decision.committee_id, Meeting.status != MeetingStatus.held)
        .order_by(Meeting.number, AgendaItem.number)).all()
    return options([(0, _("by written procedure"))] + [(i.id, f"{i.label} {i.title}") for i in items])


@bp.route("/decisions/<int:decision_id>/supersede", methods=["POST"])
@role_required(Role.secretariat)
def supersede(decision_id: int):
    decision = _load_decision(decision_id)
    form = SupersedeForm()
    form.agenda_item_id.choices = _supersede_choices(decision)
    if not form.validate_on_submit():
        flash(_("Give the new decision a title."), "danger")
        return redirect(url_for("committee.decision", decision_id=decision.id))
    item = db.session.get(AgendaItem, form.agenda_item_id.data) if form.agenda_item_id.data else None
    new = draft_superseding_decision(current_user, decision, item=item, title=form.title.data,
                                     text=form.text.data or "")
    db.session.commit()
    return redirect(url_for("committee.decision", decision_id=new.id))


@bp.route("/decisions/<int:decision_id>/letters")
@role_required(Role.secretariat, Role.admin)
def letters(decision_id: int):
    decision = _load_decision(decision_id)
    return render_template("committee/letters.html", decision=decision, letters=decision_letters(decision))


@bp.route("/decisions/<int:decision_id>/letters/<int:message_id>/release", methods=["POST"])
@role_required(Role.secretariat)
def release_one(decision_id: int, message_id: int):
    from cfp.core.outbox import OutboxMessage

    decision = _load_decision(decision_id)
    message = db.get_or_404(OutboxMessage, message_id)
    if not message.idempotency_key.startswith(f"letter-{decision.id}-"):
        abort(404)
    released = release_letter(current_user, decision, message)
    db.session.commit()
    flash(_("The letter to %(to)s is released.", to=message.recipient) if released
          else _("This letter was already released."), "success" if released else "info")
    return redirect(url_for("committee.letters", decision_id=decision.id))


# --- adopted projects: public page, dashboard, reports, mobility ----------------------------

@bp.route("/adopted-projects")
def adopted_projects():
    """Public: per meeting, the projects its decisions adopted."""
    projects = db.session.scalars(sa.select(Project).join(Decision, Project.decision_id == Decision.id)
                                  .where(Decision.state.in_([DecisionState.adopted, DecisionState.superseded]))
                                  .options(selectinload(Project.decision).selectinload(Decision.meeting),
                                           selectinload(Project.proposal).selectinload(Proposal.sides))
                                  .order_by(Project.code)).all()
    groups: dict = {}
    for pr in projects:
        groups.setdefault(pr.decision.meeting, []).append(pr)
    ordered = sorted(groups.items(), key=lambda kv: -(kv[0].number if kv[0] else 0))
    return render_template("committee/adopted_projects.html", groups=ordered)


@bp.route("/dashboard")
@role_required(Role.secretariat, Role.staff, Role.cochair, Role.admin)
def dashboard():
    from cfp.core.types import utcnow

    projects = db.session.scalars(sa.select(Project).options(
        selectinload(Project.allocations), selectinload(Project.reports),
        selectinload(Project.project_list).selectinload(ProjectList.call)).order_by(Project.code)).all()
    today = utcnow().date()
    calls: dict = {}
    for pr in projects:
        row = calls.setdefault(pr.project_list.call, {"projects": [], "totals": {}})
        due = [r for r in pr.reports if r.state == ReportState.due]
        row["projects"].append({"project": pr, "due": due,
                                "overdue": [r for r in due if r.due_on and r.due_on < today]})
        for a in pr.allocations:
            key = (a.agency, a.year, a.currency)
            row["totals"][key] = row["totals"].get(key, Decimal(0)) + a.amount
    return render_template("committee/dashboard.html", calls=calls)


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
        (t.id, f"{t.traveller}, {t.days} d, {_('year %(y)s', y=t.year)}") for t in project.proposal.trips])
    agencies = project.proposal.call.agencies
    trip_form.direction.choices = options([(f"{a.id}-{b.id}", f"{a.short_name} → {b.short_name}")
                                           for a in agencies for b in agencies if a.id != b.id])
    return {"report_form": ReportForm(), "status_form": status_form, "trip_form": trip_form,
            "mobility": mobility_against_plan(project), "is_pi": _is_pi(project)}


def _visible_project(project_id: int) -> Project:
    project = db.get_or_404(Project, project_id)
    if not project.can_view(current_user):
        abort(404)
    return project


@bp.route("/projects/<int:project_id>/reports", methods=["POST"])
@login_required
def report(project_id: int):
    project = _visible_project(project_id)
    if not _is_pi(project):
        abort(403)
    form = ReportForm()
    if form.validate_on_submit():
        submit_report(current_user, project, ReportKind(form.kind.data), form.text.data)
        db.session.commit()
        flash(_("The report is submitted."), "success")
    else:
        flash(_("Write the report before submitting it."), "danger")
    return redirect(url_for("committee.project", project_id=project.id))


@bp.route("/projects/<int:project_id>/status", methods=["POST"])
@role_required(Role.secretariat)
def project_status(project_id: int):
    project = _visible_project(project_id)
    form = ProjectStatusForm()
    form.decision_id.choices = _project_forms(project)["status_form"].decision_id.choices
    if form.validate_on_submit():
        decide_project(current_user, project, db.session.get(Decision, form.decision_id.data),
                       ProjectStatus(form.status.data))
        db.session.commit()
        flash(_("Project %(code)s: %(s)s.", code=project.code, s=project.status.label), "success")
    else:
        flash(_("Choose the adopted decision and the new status."), "danger")
    return redirect(url_for("committee.project", project_id=project.id))


@bp.route("/projects/<int:project_id>/trips", methods=["POST"])
@login_required
def trip(project_id: int):
    project = _visible_project(project_id)
    if not (_is_pi(project) or current_user.is_secretariat):
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
    return redirect(url_for("committee.project", project_id=project.id))


@bp.app_template_global()
def committee_outcome(proposal) -> dict | None:
    """What the proposal's page shows about the committee's decision: the project and
    decision links for anyone who may see the proposal; for applicants, the result and
    the comments to applicants only once their letter is released (never reviewers' names)."""
    from cfp.core.outbox import MessageStatus, OutboxMessage

    project = db.session.scalar(sa.select(Project).filter_by(proposal_id=proposal.id))
    lists = [e.project_list for e in db.session.scalars(
        sa.select(ProjectListEntry).filter_by(proposal_id=proposal.id)
        .options(selectinload(ProjectListEntry.project_list)))]
    letters = [m for m in db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.idempotency_key.like(f"letter-%-{proposal.id}-%")))
        if m.idempotency_key.split("-")[2] == str(proposal.id)]
    decision = project.decision if project else None
    if decision is None and letters:
        decision = db.session.get(Decision, max(int(m.idempotency_key.split("-")[1]) for m in letters))
    released = any(m.status != MessageStatus.held for m in letters
                   if decision is not None and m.idempotency_key.startswith(f"letter-{decision.id}-"))
    comments = []
    if released and proposal.is_applicant(current_user):
        from cfp.reviews.models import Assignment, Review, ReviewState

        comments = [c for c in db.session.scalars(sa.select(Review.comments_to_applicants).join(Assignment).where(
            Assignment.proposal_id == proposal.id, Review.state == ReviewState.submitted)) if c]
    return {"project": project, "decision": decision, "lists": lists, "released": released,
            "comments": comments}
