"""Writers for the review stage: assignment, answers, conflicts of interest,
scoring, and each side's ranking. None of them commits."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.calls.models import CALL_TRANSITIONS, Call, CallSide, CallState
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.languages import items
from cfp.core.outbox import queue_email
from cfp.core.roles import Role
from cfp.core.states import change_state
from cfp.core.tasks import queue_task
from cfp.core.timezones import format_instant
from cfp.core.types import utcnow
from cfp.core.urls import external_url
from cfp.extensions import db
from cfp.proposals.models import PROPOSAL_TRANSITIONS, Proposal, ProposalState
from cfp.reviews.models import (
    ACTIVE_ASSIGNMENT_STATES,
    ASSIGNMENT_TRANSITIONS,
    Assignment,
    AssignmentMethod,
    AssignmentState,
    RankingEntry,
    Recommendation,
    Review,
    ReviewerProfile,
    ReviewRevision,
    ReviewScore,
    ReviewState,
)

THREE = Decimal("0.001")


def _move_assignment(assignment: Assignment, target: AssignmentState):
    return change_state(assignment, target, table=ASSIGNMENT_TRANSITIONS, what=_("The assignment"))


def _move_proposal(proposal: Proposal, target: ProposalState):
    return change_state(proposal, target, table=PROPOSAL_TRANSITIONS, what=_("The proposal"))


# Addresses at these domains say nothing about an institution.
PUBLIC_EMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
    "icloud.com", "qq.com", "163.com", "126.com", "foxmail.com", "sina.com", "proton.me",
    "protonmail.com", "gmx.com", "skynet.be", "telenet.be", "example.org", "example.com",
})


def _norm(text: str | None) -> str:
    return " ".join((text or "").casefold().replace(",", " ").replace(".", " ").split())


def _domain(email: str | None) -> str:
    return (email or "").rpartition("@")[2].strip().lower()


def detected_conflict(proposal: Proposal, reviewer, profile: ReviewerProfile | None = None) -> str | None:
    """A reason when the reviewer cannot review the proposal: they are its PI or a member,
    share an institution or an (institutional) email domain with a PI or a member, or
    declared a collaboration with one of them (their profile's conflicts, a name a line)."""
    if proposal.pi_side(reviewer) is not None:
        return _("the reviewer is a PI of the proposal")
    email = (reviewer.email or "").lower()
    if any((m.email or "").lower() == email for m in proposal.members if m.email):
        return _("the reviewer is a member of the proposal")
    people = [(s.pi.name, s.pi.email, s.pi.affiliation) for s in proposal.sides if s.pi is not None]
    people += [(m.name, m.email, m.affiliation) for m in proposal.members]
    # Institutions: each side's (the PI's) and the members' affiliations.
    institutions = {_norm(s.institution) for s in proposal.sides} | {_norm(m.affiliation) for m in proposal.members}
    institutions.discard("")
    if _norm(reviewer.affiliation) and _norm(reviewer.affiliation) in institutions:
        return _("the reviewer works at %(inst)s, like a member of the proposal", inst=reviewer.affiliation)
    domain = _domain(reviewer.email)
    if domain and domain not in PUBLIC_EMAIL_DOMAINS and any(_domain(p[1]) == domain for p in people):
        return _("the reviewer shares the email domain %(domain)s with a member of the proposal",
                 domain=domain)
    if profile is None:
        profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=reviewer.id))
    declared = {_norm(line) for line in (profile.conflicts if profile else "").splitlines()}
    declared.discard("")
    for name, _email, _aff in people:
        if _norm(name) in declared:
            return _("the reviewer declared a collaboration with %(name)s", name=name)
    return None


def assign_reviewer(actor, proposal: Proposal, reviewer, agency_id: int, due_at: datetime,
                    method: AssignmentMethod = AssignmentMethod.manual) -> Assignment:
    """Invite a reviewer of the side. ``actor`` None is the system (an automatic
    replacement run by a worker); every other check applies all the same."""
    if actor is not None and not actor.has_role(Role.staff, agency_id, proposal.call.committee_id):
        raise NotAllowed(_("Only staff of this side may assign its reviewers."))
    if proposal.state not in (ProposalState.eligible, ProposalState.in_review):
        raise DomainError(_("Only an eligible proposal can be sent to reviewers (this one is “%(s)s”).",
                            s=proposal.state.label))
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=reviewer.id))
    if profile is None or profile.agency_id != agency_id or not reviewer.has_role(Role.reviewer, agency_id):
        raise DomainError(_("%(name)s is not in this side's reviewer pool.", name=reviewer.name))
    conflict = detected_conflict(proposal, reviewer, profile)
    if conflict:
        raise DomainError(_("Conflict of interest: %(why)s.", why=conflict))
    if db.session.scalar(sa.select(Assignment.id).filter_by(proposal_id=proposal.id, reviewer_id=reviewer.id)):
        raise DomainError(_("%(name)s is already assigned to this proposal.", name=reviewer.name))
    if due_at <= utcnow():
        raise DomainError(_("The due date must be in the future."))
    side = proposal.call.side(agency_id)
    if side is not None and not side.review_stage_open:
        raise DomainError(_("The review stage of %(side)s is closed: reopen it on the review dashboard "
                            "to invite reviewers.", side=side.agency.short_name))
    assignment = Assignment(
        proposal=proposal, reviewer=reviewer, agency_id=agency_id, due_at=due_at,
        method=method, assigned_by_id=actor.id if actor is not None else None, state=AssignmentState.invited,
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
    if not accept:
        _queue_replacement(assignment.id)
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
        _queue_replacement(assignment.id)
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
    """Save a draft review, or submit it (every criterion scored on its scale). A submitted
    review is revised by submitting it again, checked the same way; each submission is
    kept as a revision and the side's ranking is recomputed."""
    if not assignment.can_review(actor):
        raise NotAllowed(_("You cannot review this proposal (accept the invitation and declare your interests first)."))
    call = assignment.proposal.call
    # One rule: a review may be saved, submitted and revised until staff close that side's
    # review stage. The due date is what reminders refer to, not a lock.
    side = call.side(assignment.agency_id)
    if not side.review_stage_open:
        raise DomainError(_("The staff of %(side)s closed the review stage on %(when)s; the review is frozen.",
                            side=side.agency.short_name,
                            when=format_instant(side.review_closed_at, actor.effective_timezone)))
    review = assignment.review
    revising = review is not None and review.state == ReviewState.submitted
    if review is None:
        review = Review(assignment=assignment)
        db.session.add(review)
    elif revising and not submit:
        raise DomainError(_("A submitted review does not go back to a draft: submit your revision."))
    before_score = review.weighted_score
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
                                list=items(missing)))
        if not review.comments_to_applicants.strip():
            raise DomainError(_("Write comments to the applicants before submitting."))
        revision = _record_revision(review, call.criteria)
        if revising:
            log_action(actor, "review.revise", review, before={"weighted_score": before_score},
                       after={"weighted_score": review.weighted_score, "revision": revision.number})
        else:
            review.state = ReviewState.submitted
            review.submitted_at = revision.submitted_at
            before = _move_assignment(assignment, AssignmentState.submitted)
            log_action(actor, "review.submit", review, before={"assignment_state": before},
                       after={"weighted_score": review.weighted_score})
            _mark_reviewed_if_complete(assignment.proposal)
        _queue_ranking(call.id, assignment.agency_id)
    else:
        log_action(actor, "review.save", review, after={"weighted_score": review.weighted_score})
    return review


def _record_revision(review: Review, criteria) -> ReviewRevision:
    """Keep what is submitted now as the review's next revision."""
    revision = ReviewRevision(
        number=len(review.revisions) + 1, submitted_at=utcnow(),
        scores={str(c.id): f"{review.score_for(c):.1f}" for c in criteria if review.score_for(c) is not None},
        weighted_score=review.weighted_score, comments_to_applicants=review.comments_to_applicants,
        confidential_comments=review.confidential_comments, recommendation=review.recommendation)
    review.revisions.append(revision)
    return revision


def _queue_ranking(call_id: int, agency_id: int) -> None:
    queue_task("reviews.recompute_ranking", call_id, agency_id)


def queue_ranking_recomputation(actor, call: Call) -> int:
    """Recompute the rankings of the sides `actor` is staff of, in the background."""
    sides = [a for a in call.agencies if actor.has_role(Role.staff, a, call.committee_id)]
    for agency in sides:
        _queue_ranking(call.id, agency.id)
    return len(sides)


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
            if (criterion.threshold is not None and values
                    and sum(values, Decimal(0)) / len(values) < criterion.threshold):
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
    if call.normalise_review_scores:
        # Ranked by the means of scores normalised per reviewer (z-scores, see aggregation).
        from cfp.reviews.aggregation import side_statistics

        db.session.flush()
        normalised = {s.proposal.id: s.normalised for s in side_statistics(call, agency_id)[0]}
        key = {e.proposal_id: normalised.get(e.proposal_id) if e.mean_score is not None else None for e in entries}
    else:
        key = {e.proposal_id: e.mean_score for e in entries}
    entries.sort(key=lambda e: (key[e.proposal_id] is None, -(key[e.proposal_id] or 0), e.proposal_id))
    for rank, entry in enumerate(entries, start=1):
        entry.rank = rank if entry.mean_score is not None else None
    return entries


# ------------------------------------------------------------------ the invitation workflow

OPEN_FOR_REPLACEMENT = (AssignmentState.invited, AssignmentState.accepted, AssignmentState.overdue)
ENDED_WITHOUT_REVIEW = (AssignmentState.declined, AssignmentState.conflict, AssignmentState.replaced)


def _queue_replacement(assignment_id: int) -> None:
    queue_task("reviews.replace_assignment", assignment_id)


def next_best_reviewer(assignment: Assignment):
    """The side's best available reviewer for the proposal, by affinity: in the side's pool,
    never asked for this proposal before, below their maximum load, without a conflict."""
    from cfp.reviews.assignment import text_affinity
    from cfp.reviews.automatic import proposal_text, reviewer_text

    proposal = assignment.proposal
    asked = set(db.session.scalars(sa.select(Assignment.reviewer_id).filter_by(proposal_id=proposal.id)))
    load = dict(db.session.execute(
        sa.select(Assignment.reviewer_id, sa.func.count())
        .where(Assignment.state.in_(ACTIVE_ASSIGNMENT_STATES - {AssignmentState.submitted}))
        .group_by(Assignment.reviewer_id)).all())
    profiles = [
        p for p in db.session.scalars(
            sa.select(ReviewerProfile).filter_by(agency_id=assignment.agency_id).order_by(ReviewerProfile.id))
        if p.user_id not in asked and p.user.active and p.user.has_role(Role.reviewer, assignment.agency_id)
        and p.available_on(utcnow().date())
        and load.get(p.user_id, 0) < p.max_load and detected_conflict(proposal, p.user, p) is None
    ]
    if not profiles:
        return None
    affinity = text_affinity([proposal_text(proposal)], [reviewer_text(p) for p in profiles])
    row = affinity.rows(np.array([0]))[0]
    best = max(range(len(profiles)), key=lambda j: (row[j], -load.get(profiles[j].user_id, 0), -profiles[j].id))
    return profiles[best].user


def replace_assignment(actor, assignment: Assignment) -> Assignment | None:
    """Invite the next best reviewer in place of one who declined, declared a conflict, did
    not answer in time or was replaced by staff. Idempotent: an assignment replaced once is
    never replaced again."""
    if assignment.replaced_by_id is not None:
        return assignment.replaced_by
    if assignment.state in OPEN_FOR_REPLACEMENT:
        before = _move_assignment(assignment, AssignmentState.replaced)
        log_action(actor, "assignment.replaced", assignment, before={"state": before},
                   after={"state": assignment.state})
    elif assignment.state not in ENDED_WITHOUT_REVIEW:
        return None
    proposal = assignment.proposal
    if proposal.state not in (ProposalState.eligible, ProposalState.in_review):
        return None
    if not proposal.call.side(assignment.agency_id).review_stage_open:
        return None  # the side closed its review stage: nobody is invited any more
    reviewer = next_best_reviewer(assignment)
    if reviewer is None:
        log_action(actor, "assignment.no_replacement", assignment,
                   after={"reason": "no available reviewer in the side's pool"})
        return None
    side = proposal.call.side(assignment.agency_id)
    due_at = max(assignment.due_at, utcnow() + timedelta(days=side.reviewer_answer_days + 7))
    replacement = assign_reviewer(actor, proposal, reviewer, assignment.agency_id, due_at,
                                  method=AssignmentMethod.automatic)
    assignment.replaced_by_id = replacement.id
    log_action(actor, "assignment.replacement", assignment, after={"replaced_by_id": replacement.id,
                                                                    "reviewer_id": reviewer.id})
    return replacement


def staff_replace_reviewer(actor, assignment: Assignment) -> Assignment | None:
    if not assignment.can_manage(actor):
        raise NotAllowed(_("Only staff of this side may replace its reviewers."))
    if assignment.state not in OPEN_FOR_REPLACEMENT:
        raise DomainError(_("Only an open assignment can be replaced (this one is “%(s)s”).", s=assignment.state.label))
    replacement = replace_assignment(actor, assignment)
    if replacement is None:
        raise DomainError(_("No other reviewer of this side is available for this proposal."))
    return replacement


def extend_due_date(actor, assignment: Assignment, due_at: datetime) -> Assignment:
    if not assignment.can_manage(actor):
        raise NotAllowed(_("Only staff of this side may change its due dates."))
    if assignment.state not in OPEN_FOR_REPLACEMENT:
        raise DomainError(_("Only an open assignment has a due date to change."))
    if due_at <= max(assignment.due_at, utcnow()):
        raise DomainError(_("The new due date must be later than the current one and in the future."))
    before = assignment.due_at
    assignment.due_at = due_at
    if assignment.state == AssignmentState.overdue:
        _move_assignment(assignment, AssignmentState.accepted)
    log_action(actor, "assignment.extend", assignment, before={"due_at": before}, after={"due_at": due_at})
    return assignment


def expire_invitations(now: datetime | None = None) -> list[int]:
    """Invitations unanswered after their side's answer period: the ids to replace."""
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(Assignment.id, Assignment.invited_at, CallSide.reviewer_answer_days)
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .join(CallSide, sa.and_(CallSide.call_id == Proposal.call_id, CallSide.agency_id == Assignment.agency_id))
        .where(Assignment.state == AssignmentState.invited, CallSide.review_closed_at.is_(None))
        .order_by(Assignment.id)
    ).all()
    return [aid for aid, invited_at, days in rows if invited_at + timedelta(days=days) <= now]


def remind_reviewers(now: datetime | None = None) -> int:
    """Reminders before the due date and after it, and overdue marking. Each email has an
    idempotency key per assignment and reason, so running this twice sends nothing twice."""
    now = now or utcnow()
    sent = 0
    rows = db.session.scalars(
        sa.select(Assignment).join(Proposal, Proposal.id == Assignment.proposal_id)
        .where(Assignment.state.in_([AssignmentState.accepted, AssignmentState.overdue]))
        .options(sa.orm.joinedload(Assignment.proposal).joinedload(Proposal.call))
    ).unique().all()
    for a in rows:
        call = a.proposal.call
        if not call.side(a.agency_id).review_stage_open:
            continue  # that side's stage is closed: nothing more to submit, nobody to remind
        before_days, after_days = call.review_reminder_days_before, call.review_reminder_days_after
        if a.state == AssignmentState.accepted and a.due_at <= now:
            _move_assignment(a, AssignmentState.overdue)
            log_action(None, "assignment.overdue", a, before={"state": AssignmentState.accepted},
                       after={"state": AssignmentState.overdue})
        if before_days and a.due_at - timedelta(days=before_days) <= now < a.due_at:
            sent += _reminder(a, f"reminder-{a.id}-before-{before_days}d", "review_reminder")
        if a.state == AssignmentState.overdue and now >= a.due_at + timedelta(days=after_days):
            sent += _reminder(a, f"reminder-{a.id}-after-{after_days}d", "review_overdue")
    return sent


def _reminder(a: Assignment, key: str, template: str) -> int:
    from cfp.core.outbox import OutboxMessage

    if db.session.scalar(sa.select(OutboxMessage.id).filter_by(idempotency_key=key)) is not None:
        return 0
    queue_email(to=a.reviewer, template=template, key=key,
                context={"assignment": a, "proposal": a.proposal,
                         "due_at": format_instant(a.due_at, a.reviewer.effective_timezone),
                         "link": external_url("reviews.assignment", assignment_id=a.id)})
    return 1
