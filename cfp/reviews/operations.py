"""Writers for the review stage: assignment, answers, conflicts of interest,
scoring, and each side's ranking. None of them commits."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.calls.models import CALL_TRANSITIONS, Call, CallState
from cfp.core.aftercommit import after_commit
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.outbox import queue_email
from cfp.core.urls import external_url
from cfp.core.roles import Role
from cfp.core.states import change_state
from cfp.core.timezones import format_instant
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import PROPOSAL_TRANSITIONS, Proposal, ProposalState
from cfp.reviews.models import (
    ACTIVE_ASSIGNMENT_STATES, ASSIGNMENT_TRANSITIONS, Assignment, AssignmentMethod,
    AssignmentState, RankingEntry, Recommendation, Review, ReviewerProfile, ReviewScore,
    ReviewState,
)

THREE = Decimal("0.001")


def _move_assignment(assignment: Assignment, target: AssignmentState):
    return change_state(assignment, target, table=ASSIGNMENT_TRANSITIONS, what=_("The assignment"))


def _move_proposal(proposal: Proposal, target: ProposalState):
    return change_state(proposal, target, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))


def detected_conflict(proposal: Proposal, reviewer) -> str | None:
    """A reason when the reviewer obviously cannot review the proposal."""
    if proposal.pi_side(reviewer) is not None:
        return _("the reviewer is a PI of the proposal")
    email = (reviewer.email or "").lower()
    if any((m.email or "").lower() == email for m in proposal.members if m.email):
        return _("the reviewer is a member of the proposal")
    return None


def assign_reviewer(actor, proposal: Proposal, reviewer, agency_id: int, due_at: datetime,
                    method: AssignmentMethod = AssignmentMethod.manual) -> Assignment:
    if not actor.has_role(Role.staff, agency_id):
        raise NotAllowed(_("Only staff of this side may assign its reviewers."))
    if proposal.state not in (ProposalState.eligible, ProposalState.in_review):
        raise DomainError(_("Only an eligible proposal can be sent to reviewers (this one is “%(s)s”).",
                            s=proposal.state.label))
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=reviewer.id))
    if profile is None or profile.agency_id != agency_id or not reviewer.has_role(Role.reviewer, agency_id):
        raise DomainError(_("%(name)s is not in this side's reviewer pool.", name=reviewer.name))
    conflict = detected_conflict(proposal, reviewer)
    if conflict:
        raise DomainError(_("Conflict of interest: %(why)s.", why=conflict))
    if db.session.scalar(sa.select(Assignment.id).filter_by(proposal_id=proposal.id, reviewer_id=reviewer.id)):
        raise DomainError(_("%(name)s is already assigned to this proposal.", name=reviewer.name))
    if due_at <= utcnow():
        raise DomainError(_("The due date must be in the future."))
    assignment = Assignment(
        proposal=proposal, reviewer=reviewer, agency_id=agency_id, due_at=due_at,
        method=method, assigned_by_id=actor.id, state=AssignmentState.invited,
    )
    db.session.add(assignment)
    if proposal.state == ProposalState.eligible:
        _move_proposal(proposal, ProposalState.in_review)
    call = proposal.call
    if call.state == CallState.closed:
        change_state(call, CallState.in_review, table=CALL_TRANSITIONS, what=_("The call"))
        log_action(actor, "call.state", call, before={"state": CallState.closed}, after={"state": call.state})
    db.session.flush()
    queue_email(
        to=reviewer, template="review_invitation", key=f"review-invitation-{assignment.id}",
        context={"assignment": assignment, "proposal": proposal,
                 "due_at": format_instant(due_at, reviewer.effective_timezone),
                 "link": external_url("reviews.assignment", assignment_id=assignment.id)},
    )
    log_action(actor, "assignment.create", assignment,
               after={"proposal_id": proposal.id, "reviewer_id": reviewer.id, "agency_id": agency_id,
                      "due_at": due_at, "method": method})
    return assignment


def answer_invitation(actor, assignment: Assignment, accept: bool) -> Assignment:
    if not assignment.can_answer(actor):
        raise NotAllowed(_("This invitation is not open for an answer."))
    target = AssignmentState.accepted if accept else AssignmentState.declined
    before = _move_assignment(assignment, target)
    assignment.answered_at = utcnow()
    log_action(actor, "assignment.answer", assignment, before={"state": before}, after={"state": target})
    return assignment


def declare_interests(actor, assignment: Assignment, conflict: bool, reason: str = "") -> Assignment:
    """Before seeing a proposal the reviewer declares whether they have a conflict."""
    if not assignment.is_reviewer(actor) or assignment.state not in (AssignmentState.accepted, AssignmentState.overdue):
        raise NotAllowed(_("You cannot make this declaration now."))
    if assignment.no_conflict_declared_at is not None:
        raise DomainError(_("You already declared that you have no conflict of interest."))
    if conflict:
        if not reason.strip():
            raise DomainError(_("Say briefly what the conflict is."))
        before = _move_assignment(assignment, AssignmentState.conflict)
        assignment.conflict_reason = reason.strip()
        log_action(actor, "assignment.conflict", assignment, before={"state": before},
                   after={"state": assignment.state, "reason": assignment.conflict_reason})
    else:
        assignment.no_conflict_declared_at = utcnow()
        log_action(actor, "assignment.no_conflict", assignment, after={"declared": True})
    return assignment


def weighted_score(review: Review, criteria) -> Decimal | None:
    weights = {c.id: c.weight for c in criteria}
    scores = {s.criterion_id: s.score for s in review.scores}
    if set(scores) != set(weights):
        return None
    total = sum(weights.values(), Decimal(0))
    value = sum((weights[c] * scores[c] for c in weights), Decimal(0)) / total
    return value.quantize(THREE, rounding=ROUND_HALF_UP)


def save_review(actor, assignment: Assignment, scores: dict[int, Decimal | None],
                comments_to_applicants: str, confidential_comments: str,
                recommendation: Recommendation | None, submit: bool) -> Review:
    """Save a draft review, or submit it (every criterion scored on its scale)."""
    if not assignment.can_review(actor):
        raise NotAllowed(_("You cannot review this proposal (accept the invitation and declare your interests first)."))
    call = assignment.proposal.call
    deadline = max(assignment.due_at, call.review_due_at or assignment.due_at)
    if utcnow() > deadline:
        raise DomainError(_("The review deadline (%(when)s) has passed; the review is frozen.",
                            when=format_instant(deadline, actor.effective_timezone)))
    review = assignment.review
    if review is None:
        review = Review(assignment=assignment)
        db.session.add(review)
    elif review.state == ReviewState.submitted:
        raise DomainError(_("This review is already submitted."))
    criteria = {c.id: c for c in call.criteria}
    errors = []
    for cid, value in scores.items():
        criterion = criteria.get(cid)
        if criterion is None:
            continue
        if value is not None and not criterion.valid_score(Decimal(value)):
            errors.append(_("%(name)s: the score must be between %(lo)s and %(hi)s in steps of %(step)s.",
                            name=criterion.name, lo=criterion.scale_min, hi=criterion.scale_max,
                            step=criterion.scale_step))
    if errors:
        raise DomainError(" ".join(str(e) for e in errors))
    existing = {s.criterion_id: s for s in review.scores}
    for cid, value in scores.items():
        if cid not in criteria:
            continue
        if value is None:
            if cid in existing:
                review.scores.remove(existing[cid])
            continue
        if cid in existing:
            existing[cid].score = Decimal(value)
        else:
            review.scores.append(ReviewScore(criterion_id=cid, score=Decimal(value)))
    review.comments_to_applicants = comments_to_applicants or ""
    review.confidential_comments = confidential_comments or ""
    review.recommendation = recommendation
    db.session.flush()
    db.session.refresh(review, ["scores"])
    review.weighted_score = weighted_score(review, call.criteria)
    if submit:
        missing = [c.name for c in call.criteria if review.score_for(c) is None]
        if missing:
            raise DomainError(_("Score every criterion before submitting. Missing: %(list)s.",
                                list=", ".join(missing)))
        if not review.comments_to_applicants.strip():
            raise DomainError(_("Write comments to the applicants before submitting."))
        review.state = ReviewState.submitted
        review.submitted_at = utcnow()
        before = _move_assignment(assignment, AssignmentState.submitted)
        log_action(actor, "review.submit", review, before={"assignment_state": before},
                   after={"weighted_score": review.weighted_score})
        _mark_reviewed_if_complete(assignment.proposal)
        after_commit(lambda c=call.id, a=assignment.agency_id: _queue_ranking(c, a))
    else:
        log_action(actor, "review.save", review, after={"weighted_score": review.weighted_score})
    return review


def _queue_ranking(call_id: int, agency_id: int) -> None:
    from workers.reviews import recompute_ranking

    recompute_ranking.delay(call_id, agency_id)


def _mark_reviewed_if_complete(proposal: Proposal) -> None:
    """A proposal is reviewed when each side has its number of submitted reviews
    and no accepted or invited review is still pending."""
    if proposal.state != ProposalState.in_review:
        return
    assignments = db.session.scalars(sa.select(Assignment).filter_by(proposal_id=proposal.id)).all()
    for side in proposal.call.sides:
        mine = [a for a in assignments if a.agency_id == side.agency_id]
        submitted = [a for a in mine if a.state == AssignmentState.submitted]
        pending = [a for a in mine if a.state in ACTIVE_ASSIGNMENT_STATES - {AssignmentState.submitted}]
        if len(submitted) < side.reviewers_per_proposal or pending:
            return
    _move_proposal(proposal, ProposalState.reviewed)
    log_action(None, "proposal.reviewed", proposal, before={"state": ProposalState.in_review},
               after={"state": ProposalState.reviewed})


RANKED_STATES = [
    ProposalState.in_review, ProposalState.reviewed, ProposalState.recommended,
    ProposalState.reserve, ProposalState.not_recommended, ProposalState.funded, ProposalState.rejected,
]


def compute_side_ranking(call_id: int, agency_id: int) -> list[RankingEntry]:
    """Rank a call's proposals from one side's submitted reviews only: the mean of
    the reviews' weighted scores; a proposal passes when that mean reaches the
    overall threshold and each criterion's mean reaches its threshold."""
    call = db.session.get(Call, call_id)
    rows = db.session.execute(
        sa.select(Assignment.proposal_id, Review.weighted_score, ReviewScore.criterion_id, ReviewScore.score, Review.id)
        .join(Review, Review.assignment_id == Assignment.id)
        .join(ReviewScore, ReviewScore.review_id == Review.id)
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .where(Proposal.call_id == call_id, Assignment.agency_id == agency_id,
               Review.state == ReviewState.submitted, Proposal.state.in_(RANKED_STATES))
    ).all()
    review_scores: dict[int, dict[int, Decimal]] = defaultdict(dict)
    per_criterion: dict[int, dict[int, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    for proposal_id, w, cid, score, review_id in rows:
        review_scores[proposal_id][review_id] = w
        per_criterion[proposal_id][cid].append(score)
    # Rejected proposals keep their place only if this side reviewed them
    # (not those rejected for ineligibility).
    proposal_ids = [
        pid for pid, state in db.session.execute(
            sa.select(Proposal.id, Proposal.state)
            .where(Proposal.call_id == call_id, Proposal.state.in_(RANKED_STATES))
        )
        if state != ProposalState.rejected or pid in review_scores
    ]
    existing = {e.proposal_id: e for e in db.session.scalars(
        sa.select(RankingEntry).filter_by(call_id=call_id, agency_id=agency_id))}
    now = utcnow()
    entries = []
    for pid in proposal_ids:
        weights = list(review_scores.get(pid, {}).values())
        mean = (sum(weights, Decimal(0)) / len(weights)).quantize(THREE) if weights else None
        passed = mean is not None
        if passed and call.overall_threshold is not None and mean < call.overall_threshold:
            passed = False
        for criterion in call.criteria:
            values = per_criterion[pid].get(criterion.id, [])
            if criterion.threshold is not None and values:
                if sum(values, Decimal(0)) / len(values) < criterion.threshold:
                    passed = False
        entry = existing.pop(pid, None) or RankingEntry(call_id=call_id, agency_id=agency_id, proposal_id=pid)
        entry.reviews_count = len(weights)
        entry.mean_score = mean
        entry.passed = passed
        entry.computed_at = now
        db.session.add(entry)
        entries.append(entry)
    for stale in existing.values():
        db.session.delete(stale)
    entries.sort(key=lambda e: (e.mean_score is None, -(e.mean_score or 0), e.proposal_id))
    for rank, entry in enumerate(entries, start=1):
        entry.rank = rank if entry.mean_score is not None else None
    return entries
