"""Pages of the selection: joint ranking, outcomes and ties, funding plan, envelopes,
scenarios, project lists, and archiving a call's selection."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from cfp import local_referrer
from cfp.calls.models import Call, CallState
from cfp.core.errors import DomainError
from cfp.core.listing import list_page, offset_page
from cfp.core.loading import load_visible, load_worked_on
from cfp.core.params import whole_number
from cfp.core.roles import JOINT_ROLES, Role, role_required
from cfp.core.scope import within
from cfp.extensions import db
from cfp.meetings.models import Decision, DecisionKind, DecisionState
from cfp.projects.models import Project
from cfp.proposals.models import Proposal, ProposalState
from cfp.selection.amendments import draft_amendment, list_difference
from cfp.selection.forms import (
    MoveEntryForm,
    OutcomeForm,
    ScoreMethodForm,
    TieBreakForm,
)
from cfp.selection.funding import (
    compare_scenarios,
    draft_project_list,
    envelope_use,
    envelope_use_by_year,
    move_entry,
    plan_funding,
    plan_lines,
    propose_project_list,
    set_entry_amounts,
    set_year_envelopes,
    year_envelopes,
)
from cfp.selection.lists import joint_ranking_rows, joint_ranking_spec
from cfp.selection.models import (
    EntryKind,
    ProjectList,
    ProjectListEntry,
    ProjectListState,
    ScoreMethod,
    TieBreak,
)
from cfp.selection.operations import archive_call
from cfp.selection.ranking import (
    attach_proposals,
    break_tie,
    chart_scale,
    kept_order,
    score_chart,
    score_method,
    set_outcome,
    set_score_method,
)
from cfp.selection.shared import (
    first_budget_year,
    set_first_budget_year,
    set_shared_envelopes,
    shared_use,
)

bp = Blueprint("selection", __name__, url_prefix="/selection")


@bp.route("/joint")
@role_required(*JOINT_ROLES)
def joint_ranking_index():
    calls = offset_page(sa.select(Call).where(Call.state.not_in([CallState.draft, CallState.approved]),
                                              within(current_user, Call.committee_id))
                        .order_by(Call.opens_at.desc(), Call.id))
    return render_template("selection/joint_index.html", calls=calls)


@bp.route("/joint/<int:call_id>")
@role_required(*JOINT_ROLES)
def joint_ranking(call_id: int):
    call = load_worked_on(Call, call_id)
    # The order needs every row (normalised scores, vetoes, tie-breaks), kept while its
    # inputs hold; the page shows a slice, each row with its place in the whole ranking.
    order = kept_order(call)
    listing = joint_ranking_spec(call).read()
    rows = list_page(joint_ranking_rows(call, order.rows, listing, order.places))
    rows.items = [r if r.proposal is not None else r.copy() for r in rows.items]  # the kept rows stay bare
    attach_proposals(rows.items, sides=False)  # the page's rows only
    lists = db.session.scalars(sa.select(ProjectList).filter_by(call_id=call.id)
                               .order_by(ProjectList.version.desc())).all()
    method_form = ScoreMethodForm(method=score_method(call).value)
    # The ties of the rows shown (each with all its members); the others are counted.
    shown = {r.combined for r in rows.items if r.tied}
    ties_elsewhere = len([score for score in order.ties if score not in shown])
    ties = {score: group for score, group in order.ties.items() if score in shown}
    tie_breaks = db.session.scalars(sa.select(TieBreak).filter_by(call_id=call.id).order_by(TieBreak.id)).all()
    refs = {pid: ref for t in tie_breaks for pid in t.proposal_ids if (ref := order.reference(pid))}
    outcome_form = OutcomeForm()
    # Every row's form offers the same choices: their labels translated once.
    outcome_choices = [(c.value, str(c.label)) for c in outcome_form.outcome.choices]
    return render_template("selection/joint_ranking.html", call=call, rows=rows,
                           outcome_form=outcome_form, outcome_choices=outcome_choices,
                           lists=lists, method_form=method_form,
                           method=score_method(call), ties=ties, ties_elsewhere=ties_elsewhere,
                           tie_breaks=tie_breaks, refs=refs, places=order.places, listing=listing,
                           chart=_joint_chart(call, order))


def _joint_chart(call: Call, order) -> Markup | None:
    """The joint ranking's chart, drawn once per kept order, scale, threshold and language:
    its marks and their titles were most of the page's CPU (10,000 proposals: 400 marks
    naming 2,000 references)."""
    if not order.rows:
        return None

    def draw():
        return Markup(render_template("selection/_joint_chart.html", call=call, chart=score_chart(call, order.rows)))

    key = ("chart", tuple(a.short_name for a in call.agencies), chart_scale(call), call.overall_threshold,
           str(get_locale()))
    return order.derived(key, draw)


@bp.route("/joint/outcome/<int:proposal_id>", methods=["POST"])
@role_required(Role.secretariat)
def outcome(proposal_id: int):
    proposal = load_visible(Proposal, proposal_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        set_outcome(current_user, proposal, ProposalState(form.outcome.data))
        db.session.commit()
        flash(_("%(ref)s: %(state)s.", ref=proposal.reference, state=proposal.state.label), "success")
    # Back to the page of the ranking it was set on.
    return redirect(local_referrer(url_for("selection.joint_ranking", call_id=proposal.call_id)))


@bp.route("/calls/<int:call_id>/archive", methods=["POST"])
@role_required(Role.secretariat)
def archive(call_id: int):
    call = load_worked_on(Call, call_id)
    rejected = archive_call(current_user, call)
    db.session.commit()
    flash(_("The call %(ref)s is closed for good; %(n)s proposals left on the reserve list are "
            "not funded and their PIs are told.", ref=call.reference, n=len(rejected)), "success")
    return redirect(url_for("selection.joint_ranking", call_id=call.id))


@bp.route("/calls/<int:call_id>/lists", methods=["POST"])
@role_required(Role.secretariat)
def new_list(call_id: int):
    call = load_worked_on(Call, call_id)
    plist = draft_project_list(current_user, call)
    db.session.commit()
    return redirect(url_for("selection.project_list", list_id=plist.id))


@bp.route("/lists/<int:list_id>", methods=["GET", "POST"])
@role_required(*JOINT_ROLES)
def project_list(list_id: int):
    plist = visible_list(list_id)
    years = list(range(1, plist.call.project_years + 1))
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
        return redirect(url_for("selection.project_list", list_id=plist.id))
    return _render_project_list(list_id)


def visible_list(list_id: int) -> ProjectList:
    """A project list with its entries and amounts, if the user may see it (404)."""
    plist = db.session.scalar(sa.select(ProjectList).where(ProjectList.id == list_id).options(
        selectinload(ProjectList.entries).selectinload(ProjectListEntry.amounts)))
    if plist is None or not plist.can_view(current_user):
        abort(404)
    return plist


def _render_project_list(list_id: int, typed=None):
    plist = db.session.scalar(sa.select(ProjectList).where(ProjectList.id == list_id).options(
        selectinload(ProjectList.entries).selectinload(ProjectListEntry.amounts)))
    years = list(range(1, plist.call.project_years + 1))
    return render_template("selection/project_list.html", plist=plist, years=years, tables=_table_under(plist),
                           used=envelope_use(plist), envelopes=year_envelopes(plist.call),
                           move_form=MoveEntryForm(), typed=typed or {}, plan=plan_lines(plist),
                           difference=list_difference(plist))


def _table_under(plist: ProjectList) -> list[Decision]:
    """A proposed list not yet tabled: the committee's draft decisions that could carry it
    (the page links to them: the next step, without hunting for it)."""
    if plist.state != ProjectListState.proposed or plist.decision_id is not None:
        return []
    return list(db.session.scalars(sa.select(Decision).where(
        Decision.committee_id == plist.call.committee_id, Decision.state == DecisionState.draft,
        Decision.kind == DecisionKind.adopt_project_list).options(selectinload(Decision.meeting))
        .order_by(Decision.id)))


@bp.route("/lists/<int:list_id>/amend", methods=["POST"])
@role_required(Role.secretariat)
def amend(list_id: int):
    plist = db.get_or_404(ProjectList, list_id)
    amendment = draft_amendment(current_user, plist)
    db.session.commit()
    flash(_("Version %(v)s amends version %(old)s: change it, propose it, and table it under a decision "
            "that supersedes decision %(n)s.", v=amendment.version, old=plist.version,
            n=plist.decision.number if plist.decision else "—"), "info")
    return redirect(url_for("selection.project_list", list_id=amendment.id))


@bp.route("/lists/<int:list_id>/propose", methods=["POST"])
@role_required(Role.secretariat)
def propose(list_id: int):
    plist = db.get_or_404(ProjectList, list_id)
    propose_project_list(current_user, plist)
    db.session.commit()
    flash(_("The list is proposed; table it under a decision to adopt it."), "success")
    return redirect(url_for("selection.project_list", list_id=plist.id))


@bp.route("/joint/<int:call_id>/method", methods=["POST"])
@role_required(Role.secretariat)
def score_method_setting(call_id: int):
    call = load_worked_on(Call, call_id)
    form = ScoreMethodForm()
    if form.validate_on_submit():
        set_score_method(current_user, call, ScoreMethod(form.method.data))
        db.session.commit()
        flash(_("The joint ranking now uses: %(m)s.", m=ScoreMethod(form.method.data).label), "success")
    return redirect(url_for("selection.joint_ranking", call_id=call.id))


@bp.route("/joint/<int:call_id>/ties", methods=["POST"])
@role_required(Role.secretariat)
def tie_break(call_id: int):
    call = load_worked_on(Call, call_id)
    form = TieBreakForm()
    if not form.validate_on_submit():
        flash(_("Give the order of the tied proposals and the reason."), "danger")
        return redirect(url_for("selection.joint_ranking", call_id=call.id))
    refs = [r.strip() for r in form.order.data.replace("\n", ",").split(",") if r.strip()]
    by_ref = dict(db.session.execute(sa.select(Proposal.reference, Proposal.id).where(
        Proposal.call_id == call.id, Proposal.reference.in_(refs))).all())
    unknown = [r for r in refs if r not in by_ref]
    if unknown:
        flash(_("Unknown references: %(refs)s.", refs=", ".join(unknown)), "danger")
        return redirect(url_for("selection.joint_ranking", call_id=call.id))
    break_tie(current_user, call, [by_ref[r] for r in refs], form.reason.data)
    db.session.commit()
    flash(_("The order of the tied proposals is recorded."), "success")
    return redirect(url_for("selection.joint_ranking", call_id=call.id))


@bp.route("/calls/<int:call_id>/plan", methods=["POST"])
@role_required(Role.secretariat)
def plan(call_id: int):
    call = load_worked_on(Call, call_id)
    plist = plan_funding(current_user, call)
    db.session.commit()
    flash(_("The funding plan is drafted as version %(v)s of the list; below, why each proposal is "
            "in it, on the reserve or out.", v=plist.version), "success")
    return redirect(url_for("selection.project_list", list_id=plist.id))


@bp.route("/calls/<int:call_id>/envelopes", methods=["GET", "POST"])
@role_required(*JOINT_ROLES)
def envelopes(call_id: int):
    call = load_worked_on(Call, call_id)
    years = list(range(1, call.project_years + 1))
    if request.method == "POST":
        if not current_user.is_secretariat_of(call.committee_id):
            abort(403)
        try:
            amounts = {}
            for side in call.sides:
                for year in years:
                    raw = request.form.get(f"envelope-{side.agency_id}-{year}")
                    if raw is not None and raw.strip():
                        amounts[(side.agency_id, year)] = Decimal(raw.strip())
            set_year_envelopes(current_user, call, amounts)
        except (InvalidOperation, DomainError) as exc:
            db.session.rollback()
            flash(getattr(exc, "message", _("Amounts must be numbers.")), "danger")
            return _render_envelopes(call, typed=request.form), 422
        db.session.commit()
        flash(_("Envelopes per year saved."), "success")
        return redirect(url_for("selection.envelopes", call_id=call.id))
    return _render_envelopes(call)


def _render_envelopes(call: Call, typed=None):
    """The envelopes page; after a refused save, with what was typed."""
    years = list(range(1, call.project_years + 1))
    first = first_budget_year(call)
    shared = {(u.agency_id, u.budget_year): u for u in shared_use(call.committee)}
    return render_template("selection/envelopes.html", call=call, years=years, envelopes=year_envelopes(call),
                           use=envelope_use_by_year(call), first_budget_year=first, shared=shared,
                           budget_years=[first + y - 1 for y in years] if first else [], typed=typed or {})


@bp.route("/calls/<int:call_id>/shared-envelopes", methods=["POST"])
@role_required(Role.secretariat)
def shared_envelopes(call_id: int):
    """The call's first budget year, and the committee's shared envelopes of the budget
    years its projects run in."""
    call = load_worked_on(Call, call_id)
    try:
        raw_year = request.form.get("first_budget_year", "").strip()
        set_first_budget_year(current_user, call, int(raw_year) if raw_year else None)
        first = first_budget_year(call)
        amounts = {}
        for side in call.sides:
            for year in range(1, call.project_years + 1) if first else []:
                raw = request.form.get(f"shared-{side.agency_id}-{first + year - 1}")
                if raw is not None:
                    amounts[(side.agency_id, first + year - 1)] = Decimal(raw.strip()) if raw.strip() else None
        set_shared_envelopes(current_user, call.committee, amounts)
    except (ValueError, InvalidOperation, DomainError) as exc:
        db.session.rollback()
        flash(getattr(exc, "message", _("The budget year and the amounts must be numbers.")), "danger")
        return _render_envelopes(call, typed=request.form), 422
    db.session.commit()
    flash(_("Shared envelopes saved."), "success")
    return redirect(url_for("selection.envelopes", call_id=call.id))


@bp.route("/calls/<int:call_id>/scenarios")
@role_required(*JOINT_ROLES)
def scenarios(call_id: int):
    call = load_worked_on(Call, call_id)
    lists = scenario_lists(call, request.args)
    years = list(range(1, call.project_years + 1))
    proposals = {e.proposal_id: e.proposal for pl in lists for e in pl.entries}
    return render_template("selection/scenarios.html", call=call, years=years,
                           scenarios=compare_scenarios(call, lists), proposals=proposals,
                           envelopes=year_envelopes(call))


def scenario_lists(call: Call, args) -> list[ProjectList]:
    """The versions of the call's list compared (`?v=` chooses some), page and export alike."""
    lists = db.session.scalars(sa.select(ProjectList).where(ProjectList.call_id == call.id).options(
        selectinload(ProjectList.entries).selectinload(ProjectListEntry.amounts))
        .order_by(ProjectList.version)).all()
    chosen = args.getlist("v", type=whole_number)
    if chosen:
        lists = [pl for pl in lists if pl.version in chosen]
    return lists


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
    return redirect(url_for("selection.project_list", list_id=entry.project_list_id))


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


from cfp.selection import exports  # noqa: F401  (its routes, on this blueprint)
