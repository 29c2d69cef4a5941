"""Aggregation of one side's reviews of a call, for the staff dashboard: per proposal the
weighted mean, per-criterion means, the spread with a flag for strong disagreement,
pass/fail against the thresholds, optionally scores normalised per reviewer (z-scores),
the progress of its assignments; and the distribution of scores. Read-only, two queries."""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from cfp.calls.models import Call
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import Proposal
from cfp.reviews.models import Assignment, AssignmentState, Review, ReviewScore, ReviewState

THREE = Decimal("0.001")
DISAGREEMENT_SHARE = Decimal("0.3")  # max − min ≥ 30% of the scale (1.5 on 0–5) is strong


@dataclass
class ProposalStats:
    proposal: Proposal
    progress: Counter = field(default_factory=Counter)
    scores: list[Decimal] = field(default_factory=list)  # weighted, one per submitted review
    reviewers: list[int] = field(default_factory=list)
    criterion_scores: dict[int, list[Decimal]] = field(default_factory=lambda: defaultdict(list))
    mean: Decimal | None = None
    criterion_means: dict[int, Decimal] = field(default_factory=dict)
    spread: Decimal | None = None
    disagreement: bool = False
    passed: bool | None = None
    normalised: Decimal | None = None


def _mean(values) -> Decimal | None:
    values = list(values)
    return (sum(values, Decimal(0)) / len(values)).quantize(THREE, rounding=ROUND_HALF_UP) if values else None


def side_statistics(call: Call, agency_id: int) -> tuple[list[ProposalStats], dict]:
    criteria = call.criteria
    scale_min = min((c.scale_min for c in criteria), default=Decimal(0))
    scale_max = max((c.scale_max for c in criteria), default=Decimal(5))
    step = min((c.scale_step for c in criteria), default=Decimal("0.5"))
    rows = db.session.execute(
        sa.select(Assignment.proposal_id, Assignment.state, Assignment.due_at, Assignment.reviewer_id,
                  Review.id, Review.weighted_score, Review.state)
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(Proposal.call_id == call.id, Assignment.agency_id == agency_id)
    ).all()
    proposal_ids = sorted({r[0] for r in rows})
    proposals = {p.id: p for p in db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(proposal_ids)))}
    stats = {pid: ProposalStats(proposals[pid]) for pid in proposal_ids}
    now = utcnow()
    submitted_reviews = {}
    for pid, state, due_at, reviewer_id, review_id, weighted, review_state in rows:
        s = stats[pid]
        if state in (AssignmentState.invited, AssignmentState.accepted, AssignmentState.overdue,
                     AssignmentState.submitted):
            s.progress["invited"] += 1
        if state in (AssignmentState.accepted, AssignmentState.overdue, AssignmentState.submitted):
            s.progress["accepted"] += 1
        if state == AssignmentState.submitted:
            s.progress["submitted"] += 1
        elif state == AssignmentState.overdue or (
                state in (AssignmentState.accepted, AssignmentState.invited) and due_at < now):
            s.progress["overdue"] += 1
        if review_state == ReviewState.submitted and weighted is not None:
            s.scores.append(weighted)
            s.reviewers.append(reviewer_id)
            submitted_reviews[review_id] = pid
    if submitted_reviews:
        for review_id, cid, score in db.session.execute(
                sa.select(ReviewScore.review_id, ReviewScore.criterion_id, ReviewScore.score)
                .where(ReviewScore.review_id.in_(list(submitted_reviews)))):
            stats[submitted_reviews[review_id]].criterion_scores[cid].append(score)
    # Per reviewer (z-scores): how each reviewer scores across this side's proposals.
    by_reviewer: dict[int, list[float]] = defaultdict(list)
    for s in stats.values():
        for reviewer_id, score in zip(s.reviewers, s.scores):
            by_reviewer[reviewer_id].append(float(score))
    everything = [float(x) for s in stats.values() for x in s.scores]
    grand_mean = statistics.fmean(everything) if everything else 0.0
    grand_sd = statistics.pstdev(everything) if len(everything) > 1 else 0.0
    reviewer_mean = {r: statistics.fmean(v) for r, v in by_reviewer.items()}
    reviewer_sd = {r: statistics.pstdev(v) if len(v) > 1 else 0.0 for r, v in by_reviewer.items()}
    for s in stats.values():
        s.mean = _mean(s.scores)
        s.criterion_means = {cid: _mean(v) for cid, v in s.criterion_scores.items()}
        if s.scores:
            s.spread = max(s.scores) - min(s.scores)
            s.disagreement = s.spread >= DISAGREEMENT_SHARE * (scale_max - scale_min)
            s.passed = not (call.overall_threshold is not None and s.mean < call.overall_threshold) and all(
                c.threshold is None or c.id not in s.criterion_means or s.criterion_means[c.id] >= c.threshold
                for c in criteria)
            zs = [((float(x) - reviewer_mean[r]) / reviewer_sd[r]) if reviewer_sd[r] > 0 else 0.0
                  for r, x in zip(s.reviewers, s.scores)]
            value = grand_mean + statistics.fmean(zs) * grand_sd
            s.normalised = Decimal(str(round(min(max(value, float(scale_min)), float(scale_max)), 3)))
    key = (lambda s: s.normalised) if call.normalise_review_scores else (lambda s: s.mean)
    ordered = sorted(stats.values(), key=lambda s: (key(s) is None, -(key(s) or 0), s.proposal.id))
    # The distribution of the weighted scores, in bins of the scale's step.
    bins = []
    edge = scale_min
    while edge <= scale_max:
        bins.append(edge)
        edge += step
    counts = Counter()
    for x in everything:
        index = min(int((Decimal(str(x)) - scale_min) / step), len(bins) - 1)
        counts[bins[index]] += 1
    distribution = {"bins": [(b, counts[b]) for b in bins], "max": max(counts.values(), default=0),
                    "reviews": len(everything)}
    return ordered, distribution
