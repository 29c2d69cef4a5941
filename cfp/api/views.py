"""The REST API's operations. Each is a short view, as the pages are: load the object
within the user's scope (404 outside it), check the right with the model's own
permission method (403), call the one operation the page calls, commit at the edge.
`current_user` is the token's owner (cfp.api.auth)."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import abort, g, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from cfp.api import schemas as s
from cfp.api.auth import authenticate, require_token
from cfp.api.problems import REFUSED, STALE_VERSION, from_http_exception, problem
from cfp.calls.models import Call, CallState
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.listing import Page, list_page, offset_page
from cfp.core.loading import load_visible, load_worked_on
from cfp.core.outbox import MessageStatus, OutboxMessage
from cfp.core.roles import JOINT_ROLES, Role
from cfp.core.scope import within
from cfp.core.tasks import QueuedTask, TaskStatus
from cfp.extensions import db
from cfp.meetings.models import Decision, DecisionState
from cfp.projects.models import Project
from cfp.proposals.content import ProposalContent
from cfp.proposals.models import Proposal, ProposalSide
from cfp.proposals.operations import StaleProposal, save_proposal
from cfp.reviews.models import Assignment, RankingEntry, Review
from cfp.reviews.operations import save_review
from cfp.selection.ranking import attach_proposals
from cfp.selection.ranking import joint_ranking as compute_joint_ranking

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description="Calls, proposals, reviews, rankings and projects")
bp.before_request(authenticate)

PUBLIC_CALL_STATES = [state for state in CallState if state != CallState.draft]
PUBLIC_DECISION_STATES = (DecisionState.adopted, DecisionState.superseded)
TOKEN = [{"token": []}]
OPTIONAL_TOKEN = [{}, {"token": []}]


@bp.errorhandler(HTTPException)
def _http_error(error):
    return from_http_exception(error)


@bp.errorhandler(StaleProposal)
def _stale(error):
    db.session.rollback()
    current = db.session.get(Proposal, error.proposal.id).version
    return problem(409, _("Someone saved this proposal since the version your change is based on: "
                          "it is now version %(v)s. Read it again, then send your change with "
                          "that version.", v=current),
                   type_=STALE_VERSION, title="Conflict", current_version=current)


@bp.errorhandler(NotAllowed)
def _not_allowed(error):
    db.session.rollback()
    return problem(403, error.message, type_=REFUSED)


@bp.errorhandler(DomainError)
def _refused(error):
    """A rule of the domain refused the change: nothing is kept, the reason is told."""
    db.session.rollback()
    return problem(422, error.message, type_=REFUSED)


def errors(*codes: int):
    """Document the problems an operation may answer (and 429: a client whose address
    sent too many unknown tokens or wrong passwords is slowed down)."""
    import http

    def decorator(view):
        for code in (*codes, 429):
            view = bp.alt_response(code, response=http.HTTPStatus(code).name)(view)
        return view
    return decorator


def paged(listing: Page, items: list, **extra) -> dict:
    """A page of a list with its links (the same query, another page)."""
    args = {k: v for k, v in request.args.items() if k != "page"}

    def link(number):
        return url_for(request.endpoint, **(request.view_args or {}), **args, page=number)

    size = _page_size()
    return {"items": items, "page": listing.number, "per_page": size, "pages": listing.pages,
            "total": listing.total, "links": {
                "self": link(listing.number), "first": link(1), "last": link(listing.pages),
                "next": link(listing.number + 1) if listing.has_next else None,
                "prev": link(listing.number - 1) if listing.has_prev else None}, **extra}


def _page_size() -> int:
    from cfp.core.listing import page_size

    return page_size()


# ---------------------------------------------------------------------------- account


@bp.route("/me")
@bp.doc(security=TOKEN, tags=["Account"], summary="The token's owner and the token's scope")
@bp.response(200, s.MeSchema)
@errors(401)
def me():
    require_token()
    token = g.api_token
    return {"id": current_user.id, "name": current_user.name, "email": current_user.email,
            "roles": sorted({r.role.value for r in current_user.roles}),
            "token_name": token.name, "token_scope": token.scope}


# ---------------------------------------------------------------------------- calls


def _call(call: Call) -> dict:
    return {
        "id": call.id, "reference": call.reference, "title": call.title,
        "description": call.description or "", "state": call.state, "instrument": call.instrument,
        "stages": call.stages, "opens_at": call.opens_at, "closes_at": call.closes_at,
        "full_closes_at": call.full_closes_at, "duration_months": call.duration_months,
        "sides": [{"agency_id": side.agency_id, "agency": side.agency.short_name, "currency": side.currency,
                   "budget_envelope": side.budget_envelope, "max_request": side.max_request}
                  for side in call.sides],
        "priority_areas": [{"id": a.id, "name": a.name} for a in call.priority_areas],
        "criteria": [{"id": c.id, "name": c.name, "weight": c.weight, "scale_min": c.scale_min,
                      "scale_max": c.scale_max, "scale_step": c.scale_step} for c in call.criteria],
    }


@bp.route("/calls")
@bp.doc(security=OPTIONAL_TOKEN, tags=["Calls"], summary="Calls: the announced ones (and drafts for their committee)")
@bp.arguments(s.CallFilter, location="query", as_kwargs=True)
@bp.response(200, s.paged(s.CallSchema, "CallPage"))
@errors(401, 403, 404)
def calls(state=None, **_page):
    # The calls page's query: announced calls are public; drafts are their committee's.
    query = sa.select(Call).where(sa.or_(Call.state.in_(PUBLIC_CALL_STATES),
                                         within(current_user, Call.committee_id, Role.staff,
                                                Role.secretariat)))
    if state is not None:
        query = query.where(Call.state == state)
    listing = offset_page(query.order_by(Call.opens_at.desc(), Call.id).options(
        selectinload(Call.sides), selectinload(Call.priority_areas), selectinload(Call.criteria)))
    return paged(listing, [_call(c) for c in listing])


@bp.route("/calls/<int:call_id>")
@bp.doc(security=OPTIONAL_TOKEN, tags=["Calls"], summary="A call")
@bp.response(200, s.CallSchema)
@errors(401, 403, 404)
def call(call_id: int):
    return _call(load_visible(Call, call_id))


# ---------------------------------------------------------------------------- proposals


def _proposal(p: Proposal) -> dict:
    return {
        "id": p.id, "reference": p.reference, "call_id": p.call_id, "call_reference": p.call.reference,
        "title": p.title, "acronym": p.acronym or "", "abstract": p.abstract or "",
        "keywords": p.keywords or "", "priority_area_id": p.priority_area_id,
        "duration_months": p.duration_months, "state": p.state, "version": p.version,
        "submitted_at": p.submitted_at,
        "sides": [{"agency_id": side.agency_id, "agency": side.agency.short_name,
                   "institution": side.institution or "", "requested_amount": side.requested_amount,
                   "principal_investigator": side.pi_display_name or None} for side in p.sides],
    }


@bp.route("/proposals")
@bp.doc(security=TOKEN, tags=["Proposals"], summary="Your proposals (as a principal investigator)")
@bp.arguments(s.ProposalFilter, location="query", as_kwargs=True)
@bp.response(200, s.paged(s.ProposalSchema, "ProposalPage"))
@errors(401, 403, 404)
def proposals(state=None, **_page):
    require_token()
    mine = sa.select(ProposalSide.proposal_id).where(ProposalSide.pi_user_id == current_user.id)
    query = sa.select(Proposal).where(Proposal.id.in_(mine))
    if state is not None:
        query = query.where(Proposal.state == state)
    listing = offset_page(query.order_by(Proposal.created_at.desc(), Proposal.id.desc()).options(
        selectinload(Proposal.call), selectinload(Proposal.sides).selectinload(ProposalSide.agency),
        selectinload(Proposal.sides).selectinload(ProposalSide.pi)))
    return paged(listing, [_proposal(p) for p in listing])


@bp.route("/proposals/<int:proposal_id>")
class ProposalResource(MethodView):
    """One rule for reading and changing a proposal (a path answers 405 only to a method
    it has none of, and an id out of range 404 whatever the method)."""

    @bp.doc(security=TOKEN, tags=["Proposals"], summary="A proposal you may see")
    @bp.response(200, s.ProposalSchema)
    @errors(401, 403, 404)
    def get(self, proposal_id: int):
        require_token()
        return _proposal(load_visible(Proposal, proposal_id))

    @bp.doc(security=TOKEN, tags=["Proposals"], summary="Change a draft (as the editor saves it)",
            description=("The fields given replace the stored ones. `version` is the version the "
                         "change is based on: if your partner saved since, the change is refused "
                         "with 409 and the current version."))
    @bp.arguments(s.ProposalChange)
    @bp.response(200, s.ProposalSchema)
    @errors(400, 401, 403, 404, 409, 422)
    def patch(self, change, proposal_id: int):
        require_token()
        proposal = load_visible(Proposal, proposal_id)
        if not proposal.can_edit(current_user):
            abort(403, _("This proposal can no longer be edited."))
        area = change.get("priority_area_id", proposal.priority_area_id)
        content = ProposalContent(
            title=change.get("title", proposal.title), acronym=change.get("acronym", proposal.acronym),
            abstract=change.get("abstract", proposal.abstract),
            keywords=change.get("keywords", proposal.keywords), priority_area_id=area or None,
            duration_months=change.get("duration_months", proposal.duration_months))
        save_proposal(current_user, proposal, change["version"], content)
        db.session.commit()
        return _proposal(db.session.get(Proposal, proposal_id))


# ---------------------------------------------------------------------------- reviews


def _review(review: Review | None) -> dict | None:
    if review is None:
        return None
    return {"id": review.id, "assignment_id": review.assignment_id, "state": review.state,
            "scores": [{"criterion_id": sc.criterion_id, "score": sc.score}
                       for sc in sorted(review.scores, key=lambda sc: sc.criterion_id)],
            "weighted_score": review.weighted_score,
            "comments_to_applicants": review.comments_to_applicants or "",
            "confidential_comments": review.confidential_comments or "",
            "recommendation": review.recommendation, "submitted_at": review.submitted_at}


def _assignment(a: Assignment) -> dict:
    return {"id": a.id, "proposal_id": a.proposal_id, "proposal_reference": a.proposal.reference,
            "proposal_title": a.proposal.title, "call_reference": a.proposal.call.reference,
            "agency_id": a.agency_id, "state": a.state, "due_at": a.due_at,
            "no_conflict_declared_at": a.no_conflict_declared_at,
            # The review form's content is the reviewer's own (staff read reviews on their pages).
            "review": _review(a.review) if a.is_reviewer(current_user) else None}


def _load_assignment(assignment_id: int) -> Assignment:
    """As the review pages load one: its reviewer, or staff of its side (404 otherwise)."""
    assignment = db.get_or_404(Assignment, assignment_id)
    if not (assignment.is_reviewer(current_user) or assignment.can_manage(current_user)):
        abort(404)
    return assignment


@bp.route("/assignments")
@bp.doc(security=TOKEN, tags=["Reviews"], summary="Your review assignments")
@bp.arguments(s.AssignmentFilter, location="query", as_kwargs=True)
@bp.response(200, s.paged(s.AssignmentSchema, "AssignmentPage"))
@errors(401, 403, 404)
def assignments(state=None, **_page):
    require_token()
    query = sa.select(Assignment).where(Assignment.reviewer_id == current_user.id)
    if state is not None:
        query = query.where(Assignment.state == state)
    listing = offset_page(query.order_by(Assignment.due_at, Assignment.id).options(
        selectinload(Assignment.proposal).selectinload(Proposal.call),
        selectinload(Assignment.review)))
    return paged(listing, [_assignment(a) for a in listing])


@bp.route("/assignments/<int:assignment_id>")
@bp.doc(security=TOKEN, tags=["Reviews"], summary="An assignment: yours, or of your side for its staff")
@bp.response(200, s.AssignmentSchema)
@errors(401, 403, 404)
def assignment(assignment_id: int):
    require_token()
    return _assignment(_load_assignment(assignment_id))


@bp.route("/assignments/<int:assignment_id>/review", methods=["PUT"])
@bp.doc(security=TOKEN, tags=["Reviews"], summary="Save or submit your review", description=(
    "The review form's rules: accept the invitation and declare no conflict first (on the "
    "site); to submit, score every criterion on its scale and write comments to the applicants."))
@bp.arguments(s.ReviewInput)
@bp.response(200, s.AssignmentSchema)
@errors(400, 401, 403, 404, 422)
def put_review(data, assignment_id: int):
    require_token()
    assignment = _load_assignment(assignment_id)
    if not assignment.can_review(current_user):
        abort(403, _("You cannot review this proposal (accept the invitation and declare your "
                     "interests first)."))
    criteria = {str(c.id): c.id for c in assignment.proposal.call.criteria}
    unknown = sorted(set(data["scores"]) - set(criteria))
    if unknown:
        abort(422, _("No criterion %(id)s in this call.", id=unknown[0]))
    scores = {criteria[key]: None if value is None else Decimal(str(value))
              for key, value in data["scores"].items()}
    save_review(current_user, assignment, scores, data["comments_to_applicants"],
                data["confidential_comments"], data["recommendation"], submit=data["submit"])
    db.session.commit()
    return _assignment(db.session.get(Assignment, assignment_id))


@bp.route("/reviews")
@bp.doc(security=TOKEN, tags=["Reviews"], summary="Your reviews (drafts and submitted)")
@bp.arguments(s.ReviewFilter, location="query", as_kwargs=True)
@bp.response(200, s.paged(s.ReviewSchema, "ReviewPage"))
@errors(401, 403, 404)
def reviews(state=None, **_page):
    require_token()
    query = (sa.select(Review).join(Assignment, Assignment.id == Review.assignment_id)
             .where(Assignment.reviewer_id == current_user.id))
    if state is not None:
        query = query.where(Review.state == state)
    listing = offset_page(query.order_by(Review.id))
    return paged(listing, [_review(r) for r in listing])


# ---------------------------------------------------------------------------- rankings


@bp.route("/calls/<int:call_id>/rankings/<int:agency_id>")
@bp.doc(security=TOKEN, tags=["Rankings"], summary="A side's ranking of a call", description=(
    "As the ranking page: a side's staff read their own side's ranking; the secretariat "
    "and the co-chairs of the call's committee read both."))
@bp.arguments(s.PageArgs, location="query", as_kwargs=True)
@bp.response(200, s.SideRankingSchema)
@errors(401, 403, 404)
def side_ranking(call_id: int, agency_id: int, **_page):
    require_token()
    call = load_worked_on(Call, call_id)
    if call.side(agency_id) is None:
        abort(404)
    joint = (current_user.is_secretariat_of(call.committee_id) or current_user.is_cochair_of(call.committee_id)
             or current_user.is_admin)
    if not (joint or current_user.has_role(Role.staff, agency_id, call.committee_id)):
        abort(403, _("A side's ranking is for that side's staff, and for the secretariat and "
                     "the co-chairs at the joint stage."))
    listing = offset_page(
        sa.select(RankingEntry).filter_by(call_id=call.id, agency_id=agency_id)
        .options(selectinload(RankingEntry.proposal))
        .order_by(RankingEntry.rank.is_(None), RankingEntry.rank, RankingEntry.id))
    items = [{"proposal_id": e.proposal_id, "reference": e.proposal.reference, "title": e.proposal.title,
              "rank": e.rank, "mean_score": e.mean_score, "reviews_count": e.reviews_count,
              "passed": e.passed} for e in listing]
    return paged(listing, items, call_id=call.id, agency_id=agency_id)


@bp.route("/calls/<int:call_id>/joint-ranking")
@bp.doc(security=TOKEN, tags=["Rankings"], summary="The joint ranking of a call (secretariat, co-chairs)")
@bp.arguments(s.PageArgs, location="query", as_kwargs=True)
@bp.response(200, s.JointRankingSchema)
@errors(401, 403, 404)
def joint_ranking(call_id: int, **_page):
    require_token()
    if not any(current_user.has_role(r) for r in JOINT_ROLES):  # the page's role_required
        abort(403, _("The joint ranking is for the secretariat and the co-chairs."))
    call = load_worked_on(Call, call_id)
    ranking = compute_joint_ranking(call, with_proposals=False)
    listing = list_page(ranking)
    attach_proposals(listing.items)
    items = [{
        "position": listing.first + i, "proposal_id": r.proposal_id, "reference": r.reference,
        "title": r.proposal.title, "state": r.proposal.state, "combined": r.combined,
        "passes_both": r.passes_both, "tied": r.tied, "vetoed_by": r.vetoed_by,
        "sides": [{"agency_id": aid, "rank": e.rank if e is not None else None,
                   "mean_score": e.mean_score if e is not None else None,
                   "normalised": r.normalised.get(aid),
                   "passed": e.passed if e is not None else None} for aid, e in r.sides.items()],
    } for i, r in enumerate(listing.items)]
    return paged(listing, items, call_id=call.id)


# ---------------------------------------------------------------------------- projects


def _project(pr: Project) -> dict:
    p = pr.proposal
    row = {"id": pr.id, "code": pr.code, "title": p.title, "acronym": p.acronym or "",
           "call_reference": p.call.reference, "decision": pr.decision.number,
           "meeting": pr.decision.meeting.number if pr.decision.meeting else None,
           "sides": [{"agency_id": side.agency_id, "principal_investigator": side.pi_display_name or None,
                      "institution": side.institution or ""} for side in p.sides]}
    if pr.can_view(current_user):  # the project's own page: its PIs, the committee's people
        row.update(status=pr.status, start_date=pr.start_date, end_date=pr.end_date,
                   allocations=[{"agency_id": a.agency_id, "year": a.year, "amount": a.amount,
                                 "currency": a.currency} for a in pr.allocations],
                   reports=[{"kind": r.kind, "state": r.state, "due_on": r.due_on,
                             "submitted_at": r.submitted_at} for r in pr.reports])
    return row


def _adopted():
    return (sa.select(Project).join(Decision, Project.decision_id == Decision.id)
            .where(Decision.state.in_(PUBLIC_DECISION_STATES)))


@bp.route("/projects")
@bp.doc(security=OPTIONAL_TOKEN, tags=["Projects"], summary="Adopted projects (public fields; more for those who may see a project)")
@bp.arguments(s.ProjectFilter, location="query", as_kwargs=True)
@bp.response(200, s.paged(s.ProjectSchema, "ProjectPage"))
@errors(401, 403, 404)
def projects(status=None, **_page):
    query = _adopted()
    if status is not None:
        query = query.where(Project.status == status)
    listing = offset_page(query.order_by(Project.code, Project.id).options(
        selectinload(Project.decision).selectinload(Decision.meeting),
        selectinload(Project.proposal).selectinload(Proposal.sides).selectinload(ProposalSide.pi),
        selectinload(Project.proposal).selectinload(Proposal.call),
        selectinload(Project.allocations), selectinload(Project.reports)))
    return paged(listing, [_project(pr) for pr in listing])


@bp.route("/projects/<int:project_id>")
@bp.doc(security=OPTIONAL_TOKEN, tags=["Projects"], summary="An adopted project")
@bp.response(200, s.ProjectSchema)
@errors(401, 403, 404)
def project(project_id: int):
    pr = db.session.scalar(_adopted().where(Project.id == project_id))
    if pr is None:
        abort(404)
    return _project(pr)


# ---------------------------------------------------------------------------- outbox


def _queue_state(model, status_column, queued, created) -> dict:
    counts = dict(db.session.execute(sa.select(status_column, sa.func.count()).group_by(status_column)).all())
    oldest = db.session.scalar(sa.select(sa.func.min(created)).where(status_column == queued))
    if oldest is not None and oldest.tzinfo is None:
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    return {"counts": {getattr(k, "value", k): v for k, v in counts.items()}, "oldest_queued_at": oldest}


@bp.route("/admin/outbox")
@bp.doc(security=TOKEN, tags=["Administration"], summary="The outboxes' state: tasks and emails by status, the oldest queued")
@bp.response(200, s.OutboxSchema)
@errors(401, 403)
def outbox():
    require_token()
    if not current_user.is_admin:
        abort(403, _("For administrators."))
    return {"tasks": _queue_state(QueuedTask, QueuedTask.status, TaskStatus.queued, QueuedTask.created_at),
            "emails": _queue_state(OutboxMessage, OutboxMessage.status, MessageStatus.queued,
                                   OutboxMessage.created_at)}
