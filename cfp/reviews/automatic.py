"""Automatic assignment as a job: staff start it for one call and side, a Celery task
computes affinities and the optimal assignment (cfp/reviews/assignment.py), writing its
progress to a Job; staff preview and adjust the proposed pairs, then approve them."""
from __future__ import annotations

import secrets
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _

from cfp.auth.models import User
from cfp.calls.models import Call
from cfp.core.audit import log_action
from cfp.core.errors import DomainError, NotAllowed
from cfp.core.jobs import Job, JobStatus, fails_cleanly
from cfp.core.roles import Role
from cfp.core.tasks import queue_task
from cfp.core.types import utcnow
from cfp.extensions import db
from cfp.proposals.models import Proposal, ProposalState
from cfp.reviews.assignment import (
    DEFAULT_K,
    RESERVE,
    SCALE,
    AssignmentInfeasible,
    Instance,
    Reason,
    solve,
    text_affinity,
    top_candidates,
)
from cfp.reviews.assignment.fairness import (
    floor_assignment,
    randomised,
    shared_groups,
    weakest_pair,
    without_groups,
    worst_average,
)
from cfp.reviews.groups import GROUPS
from cfp.reviews.infeasible import problems
from cfp.reviews.models import (
    ACTIVE_ASSIGNMENT_STATES,
    OPEN_ASSIGNMENT_STATES,
    Assignment,
    AssignmentMethod,
    ReviewerProfile,
)

JOB_KIND = "reviews.assignment"
ASSIGNABLE_STATES = (ProposalState.eligible, ProposalState.in_review)


class JobCancelled(Exception):
    """Staff cancelled the job; it stops within about a second, inside a phase too."""


def proposal_text(p: Proposal) -> str:
    return " ".join([p.title or "", p.abstract or "", (p.keywords or "").replace(";", " ")])


def reviewer_text(profile: ReviewerProfile) -> str:
    return " ".join([profile.keywords or "", profile.keywords or "", profile.expertise or ""])


@dataclass
class Candidate:
    """A reviewer of the side who could be invited to review a proposal."""

    profile: ReviewerProfile
    affinity: float  # 0..1, the proposal's text against the reviewer's expertise
    load: int  # reviews they still owe, in every call
    conflict: str | None  # why they may not review it, if they may not


def candidates_for(proposal: Proposal, agency_id: int) -> list[Candidate]:
    """The side's pool for one proposal, best affinity first, without those already asked
    to review it (whatever they answered)."""
    from cfp.reviews.operations import detected_conflict

    asked = set(db.session.scalars(sa.select(Assignment.reviewer_id).filter_by(proposal_id=proposal.id)))
    profiles = [
        p for p in db.session.scalars(
            sa.select(ReviewerProfile).filter_by(agency_id=agency_id).order_by(ReviewerProfile.id))
        if p.user_id not in asked and p.user.active and p.user.has_role(Role.reviewer, agency_id)
    ]
    if not profiles:
        return []
    load = dict(db.session.execute(
        sa.select(Assignment.reviewer_id, sa.func.count())
        .where(Assignment.reviewer_id.in_([p.user_id for p in profiles]),
               Assignment.state.in_(OPEN_ASSIGNMENT_STATES))
        .group_by(Assignment.reviewer_id)).all())
    row = text_affinity([proposal_text(proposal)], [reviewer_text(p) for p in profiles]).rows(np.array([0]))[0]
    candidates = [Candidate(p, round(float(row[j]), 3), load.get(p.user_id, 0), detected_conflict(proposal, p.user, p))
                  for j, p in enumerate(profiles)]
    candidates.sort(key=lambda c: (-c.affinity, c.load, c.profile.user.name))
    return candidates


def side_problem(call: Call, agency_id: int, pins: list[tuple[int, int]] = (), diversity: str | None = None):
    """The instance for one side of a call: its assignable proposals, its reviewer pool,
    conflicts, the side's current assignments (kept, like staff pins) and the loads
    reviewers already carry in other calls.

    A reviewer's maximum load bounds the reviews they still owe (invited, accepted,
    overdue), as everywhere else: reviews they submitted, in this call or another, take
    none of it. So their capacity here is their maximum less what they owe elsewhere,
    plus the reviews they already submitted here (kept as pins, which count against it)."""
    from cfp.reviews.operations import detected_conflict

    side = next((s for s in call.sides if s.agency_id == agency_id), None)
    if side is None:
        raise DomainError(_("This call has no such side."))
    proposals = db.session.scalars(
        sa.select(Proposal).where(Proposal.call_id == call.id, Proposal.state.in_(ASSIGNABLE_STATES))
        .options(sa.orm.selectinload(Proposal.members)).order_by(Proposal.id)
    ).all()
    profiles = [
        p for p in db.session.scalars(
            sa.select(ReviewerProfile).filter_by(agency_id=agency_id).order_by(ReviewerProfile.id))
        if p.user.active and p.user.has_role(Role.reviewer, agency_id) and p.available_on(utcnow().date())
    ]
    p_index = {p.id: i for i, p in enumerate(proposals)}
    r_index = {pr.user_id: j for j, pr in enumerate(profiles)}
    active = db.session.execute(
        sa.select(Assignment.proposal_id, Assignment.reviewer_id, Proposal.call_id, Assignment.state)
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .where(Assignment.reviewer_id.in_(list(r_index)), Assignment.state.in_(ACTIVE_ASSIGNMENT_STATES))
    ).all()
    other_load = np.zeros(len(profiles), dtype=np.int64)  # reviews owed elsewhere
    done_here = np.zeros(len(profiles), dtype=np.int64)  # reviews submitted here, kept as pins
    kept: set[tuple[int, int]] = set()
    for proposal_id, reviewer_id, call_id, state in active:
        j = r_index[reviewer_id]
        if call_id == call.id and proposal_id in p_index:
            kept.add((p_index[proposal_id], j))
            done_here[j] += state not in OPEN_ASSIGNMENT_STATES
        elif state in OPEN_ASSIGNMENT_STATES:
            other_load[j] += 1
    # Reviewers who answered no (declined, conflict) are never proposed again for that proposal.
    past = db.session.execute(
        sa.select(Assignment.proposal_id, Assignment.reviewer_id)
        .where(Assignment.proposal_id.in_(list(p_index)), Assignment.reviewer_id.in_(list(r_index)),
               Assignment.state.not_in(ACTIVE_ASSIGNMENT_STATES))
    ).all()
    conflicts = {(p_index[a], r_index[b]) for a, b in past}
    found = conflict_pairs(proposals, profiles)
    conflicts |= found
    conflict_reasons = {(i, j): detected_conflict(proposals[i], profiles[j].user, profiles[j]) for i, j in found}
    # A proposal that already has more reviewers than the side asks (invited by hand meanwhile)
    # keeps them all and gets no more: that is no reason to fail.
    need = np.full(len(proposals), side.reviewers_per_proposal, dtype=np.int64)
    if kept:
        assigned = np.bincount([i for i, _j in kept], minlength=len(proposals))
        need = np.maximum(need, assigned)
    for proposal_id, reviewer_id in pins:
        if proposal_id in p_index and reviewer_id in r_index:
            kept.add((p_index[proposal_id], r_index[reviewer_id]))
    max_load = np.array([max(pr.max_load - int(other_load[j]), 0) + int(done_here[j])
                         for j, pr in enumerate(profiles)], dtype=np.int64)
    instance = Instance(
        affinity=text_affinity([proposal_text(p) for p in proposals], [reviewer_text(pr) for pr in profiles])
        if proposals and profiles else None,
        need=need, max_load=max_load,
        min_load=np.array([min(side_min_load(call), pr.max_load) for pr in profiles], dtype=np.int64),
        conflicts=sorted(conflicts), pins=sorted(kept),
        proposal_labels=[p.reference or p.acronym or p.title for p in proposals],
        reviewer_labels=[pr.user.name for pr in profiles],
        groups=GROUPS[diversity](profiles) if diversity else None,
    ) if proposals and profiles else None
    return instance, proposals, profiles, conflict_reasons


def conflict_pairs(proposals: list[Proposal], profiles: list[ReviewerProfile]) -> set[tuple[int, int]]:
    """Every (proposal, reviewer) pair that detected_conflict refuses, found through indexes
    (institution, email domain, email, declared name, account) rather than by trying each
    pair: linear in the number of people, not in proposals × reviewers."""
    from cfp.reviews.operations import PUBLIC_EMAIL_DOMAINS, _domain, _norm

    by_user, by_email, by_institution, by_domain, by_declared = (defaultdict(set) for _ in range(5))
    for j, profile in enumerate(profiles):
        user = profile.user
        by_user[user.id].add(j)
        by_email[(user.email or "").lower()].add(j)
        if _norm(user.affiliation):
            by_institution[_norm(user.affiliation)].add(j)
        domain = _domain(user.email)
        if domain and domain not in PUBLIC_EMAIL_DOMAINS:
            by_domain[domain].add(j)
        for line in (profile.conflicts or "").splitlines():
            if _norm(line):
                by_declared[_norm(line)].add(j)
    pairs = set()
    for i, proposal in enumerate(proposals):
        hit = set()
        people = [(side.pi.name, side.pi.email) for side in proposal.sides if side.pi is not None]
        people += [(m.name, m.email) for m in proposal.members]
        for side in proposal.sides:
            hit |= by_user.get(side.pi_user_id, set())
            hit |= by_institution.get(_norm(side.institution), set())
        for member in proposal.members:
            hit |= by_email.get((member.email or "").lower(), set()) if member.email else set()
            hit |= by_institution.get(_norm(member.affiliation), set()) if _norm(member.affiliation) else set()
        for name, email in people:
            domain = _domain(email)
            if domain and domain not in PUBLIC_EMAIL_DOMAINS:
                hit |= by_domain.get(domain, set())
            hit |= by_declared.get(_norm(name), set())
        pairs.update((i, j) for j in hit)
    return pairs


def side_min_load(call: Call) -> int:
    return int(getattr(call, "reviewer_min_load", 0) or 0)


DIVERSITY = tuple(GROUPS)


def start_assignment_job(actor, call: Call, agency_id: int, pins: list[tuple[int, int]] = (),
                         rerun_of: int | None = None, random_cap: int | None = ...,
                         floor: bool = ..., diversity: str | None = ...) -> Job:
    """Queue a run; `pins` (kept from the run `rerun_of`, if any) are kept in the result.

    The fairness options become the side's settings; each one left out keeps the side's
    setting: `random_cap` (a percentage, or None for off), `floor` (a floor for every
    proposal), `diversity` ("institution", or None for off). A randomised run records the
    seed it draws with; the run's params record every option it ran with."""
    if not actor.has_role(Role.staff, agency_id, call.committee_id):
        raise NotAllowed(_("Only staff of this side may assign its reviewers."))
    side = call.side(agency_id)
    before = {"random_cap": side.assignment_random_cap, "floor": side.assignment_floor,
              "diversity": side.assignment_diversity}
    after = {"random_cap": before["random_cap"] if random_cap is ... else random_cap,
             "floor": before["floor"] if floor is ... else bool(floor),
             "diversity": before["diversity"] if diversity is ... else (diversity or None)}
    if after["random_cap"] is not None and not 1 <= after["random_cap"] <= 100:
        raise DomainError(_("The cap on each pair's probability is a percentage between 1 and 100."))
    if after["diversity"] is not None and after["diversity"] not in DIVERSITY:
        raise DomainError(_("Unknown diversity rule."))
    if after["floor"] and after["random_cap"]:
        raise DomainError(_("Choose either a floor for every proposal or a randomised assignment, not both."))
    if after != before:
        log_action(actor, "call_side.assignment_fairness", side, before=before, after=after)
        side.assignment_random_cap = after["random_cap"]
        side.assignment_floor = after["floor"]
        side.assignment_diversity = after["diversity"]
    params = {"call_id": call.id, "agency_id": agency_id, "pins": [list(p) for p in pins]}
    if side.assignment_random_cap:
        params["random_cap"] = side.assignment_random_cap
        params["seed"] = secrets.randbelow(2**31)
    if side.assignment_floor:
        params["floor"] = True
    if side.assignment_diversity:
        params["diversity"] = side.assignment_diversity
    if rerun_of is not None:
        params["rerun_of"] = rerun_of
    job = Job(kind=JOB_KIND, status=JobStatus.queued, progress=0, created_by_id=actor.id, params=params,
              message=_("Waiting for a worker…"))
    db.session.add(job)
    db.session.flush()
    log_action(actor, "assignment_job.start", job, after={"call_id": call.id, "agency_id": agency_id})
    queue_task("reviews.compute_assignment", job.id)
    return job


def cancel_assignment_job(actor, job: Job) -> Job:
    if not can_manage_job(actor, job):
        raise NotAllowed(_("You cannot cancel this job."))
    if job.status in (JobStatus.queued, JobStatus.running):
        job.cancel_requested = True
        if job.status == JobStatus.queued:
            job.status = JobStatus.cancelled
            job.finished_at = utcnow()
        log_action(actor, "assignment_job.cancel", job, after={"cancel_requested": True})
    return job


def can_manage_job(user, job: Job) -> bool:
    if not (user.is_authenticated and job.kind == JOB_KIND and job.params is not None):
        return False
    call = db.session.get(Call, job.params.get("call_id"))
    return call is not None and user.has_role(Role.staff, job.params.get("agency_id"), call.committee_id)


def _step(job_id: int, progress: int, message: str) -> None:
    """Record progress in its own short transaction; stop if staff asked to cancel.

    The transaction that read since the last step ends first, and the one that reads the
    flag ends too: on SQLite (WAL) a transaction that read cannot then write once another
    process wrote meanwhile (the web app does on every page view), and fails at once."""
    db.session.commit()
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(progress=progress, message=message))
    cancelled = db.session.scalar(sa.select(Job.cancel_requested).where(Job.id == job_id))
    db.session.commit()
    if cancelled:
        raise JobCancelled


class JobProgress:
    """The solver's progress(phase, round, fraction) written to the job: candidates take
    10–60%, then each round of solve and certificate half of what is left (the number of
    rounds is not known in advance). Written, and the cancel flag read, at most once per
    ``every`` seconds (and at each change of phase), so the solver is never slowed down
    and a cancel stops it within about a second, inside a phase as well.

    A run with fairness options solves several times (the floor: the plain optimum, the
    search, the proof, the best at the floor); ``begin(step, steps)`` gives each its own
    slice of the 60–98%, and the message says which step it is."""

    def __init__(self, job_id: int, every: float = 1.0):
        self.job_id, self.every = job_id, every
        self.last, self.last_phase, self.best = 0.0, None, 0
        self.step, self.steps = 0, 1

    def begin(self, step: int, steps: int) -> None:
        self.step, self.steps = step, max(steps, 1)

    def percent(self, phase: str, round_: int, fraction: float | None) -> int:
        fraction = 0.0 if fraction is None else min(max(fraction, 0.0), 1.0)
        if phase == "candidates":
            return int(10 + 50 * fraction)
        if phase == "floor":  # each threshold tried halves what is left of the search
            within = 1 - 0.5 ** round_
        else:
            done, width = 1 - 0.5 ** (round_ - 1), 0.5 ** round_
            within = done + width * (0.5 * fraction if phase == "flow" else 0.5 + 0.5 * fraction)
        return int(60 + 38 * (self.step + within) / self.steps)

    def message(self, phase: str, round_: int, fraction: float | None) -> str:
        what = self._message(phase, round_, fraction)
        if self.steps > 1 and phase != "candidates":
            return _("Step %(step)s of %(steps)s: %(what)s", step=self.step + 1, steps=self.steps, what=what)
        return what

    def _message(self, phase: str, round_: int, fraction: float | None) -> str:
        if phase == "candidates":
            return _("Finding each proposal's best reviewers: %(pct)s%% of the proposals…",
                     pct=int(100 * (fraction or 0)))
        if phase == "flow":
            return _("Solving (round %(round)s)…", round=round_)
        if phase == "floor":
            return _("Looking for the highest floor every proposal can reach (threshold %(round)s)…",
                     round=round_)
        if phase == "repair":
            return _("Offering reviewers with room to the proposals short of reviewers (round %(round)s)…",
                     round=round_)
        return _("Proving the result optimal over every pair (round %(round)s)…", round=round_)

    def __call__(self, phase: str, round_: int, fraction: float | None) -> None:
        now = time.monotonic()
        if (phase, round_) == self.last_phase and now - self.last < self.every:
            return
        self.last, self.last_phase = now, (phase, round_)
        self.best = max(self.best, self.percent(phase, round_, fraction))  # a second solve never goes back
        _step(self.job_id, self.best, self.message(phase, round_, fraction))


@fails_cleanly
def run_assignment_job(job_id: int) -> dict | None:
    """The body of the Celery task: idempotent (a finished job is left as it is)."""
    job = db.session.get(Job, job_id)
    if job is None or job.status in (JobStatus.done, JobStatus.failed, JobStatus.cancelled):
        return None
    if job.cancel_requested:
        job.status, job.finished_at = JobStatus.cancelled, utcnow()
        db.session.commit()
        return None
    job.status = JobStatus.running
    params = dict(job.params or {})
    db.session.commit()
    try:
        _step(job_id, 2, _("Reading proposals and the reviewer pool; computing affinities…"))
        call = db.session.get(Call, params["call_id"])
        diversity = params.get("diversity")
        instance, proposals, profiles, _reasons = side_problem(
            call, params["agency_id"], [tuple(p) for p in params.get("pins", [])], diversity=diversity)
        # Plain values: the commits below expire ORM objects.
        proposal_rows = [(p.id, p.reference or p.title) for p in proposals]
        reviewer_rows = [(pr.user_id, pr.user.name) for pr in profiles]
        limits = [pr.max_load for pr in profiles]
        if instance is None:
            raise AssignmentInfeasible([Reason("empty", _("there are no eligible proposals or no reviewers "
                                                           "in this side's pool"))])
        _step(job_id, 10, _("Affinities computed; finding each proposal's best reviewers…"))
        progress = JobProgress(job_id)
        randomness = floored = diverse = None
        extra_seconds = {}
        if not (params.get("random_cap") or params.get("floor") or diversity):
            solution = solve(instance, progress=progress)
        else:
            # One pass over the affinities serves every solve: the plain instance's
            # candidates, restricted to the pairs the diversity rule leaves.
            base = without_groups(instance) if diversity else instance
            t0 = time.perf_counter()
            candidates = top_candidates(base, DEFAULT_K + RESERVE, progress=partial(progress, "candidates", 0))
            extra_seconds["candidates"] = time.perf_counter() - t0
            own = candidates.restricted(instance) if diversity else candidates
            steps = (4 if params.get("floor") else 1 if not params.get("random_cap") else 2) + bool(diversity)
            progress.begin(0, steps)
            if params.get("random_cap"):
                drawn = randomised(instance, params["random_cap"], params["seed"], candidates=own,
                                   progress=progress)
                progress.begin(1, steps)
                optimum = solve(instance, candidates=own, progress=progress)
                solution = drawn.solution
                randomness = {"cap_percent": drawn.cap_percent, "seed": drawn.seed,
                              "expected_total": round(drawn.expected_total, 6),
                              "drawn_total": round(solution.total / SCALE, 6),
                              "optimum": round(optimum.total / SCALE, 6),
                              "certified": drawn.fractional.certified and optimum.certified}
            elif params.get("floor"):
                result = floor_assignment(instance, candidates=own, progress=progress,
                                          step=partial(progress.begin, steps=steps))
                solution, optimum = result.solution, result.plain
                floored = {
                    "floor": None if result.floor is None else round(result.floor / SCALE, 6),
                    "plain_weakest": _rounded((weakest_pair(optimum) or 0) / SCALE),
                    "worst_average": _rounded(worst_average(solution, instance.n)),
                    "plain_worst_average": _rounded(worst_average(optimum, instance.n)),
                    "optimum": round(optimum.total / SCALE, 6),
                    "cost": round(result.cost / SCALE, 6),
                    "proved": result.proved and solution.certified and optimum.certified,
                    "thresholds": result.probes}
                extra_seconds.update({f"floor_{k}": v for k, v in result.seconds.items()})
            else:
                solution = optimum = solve(instance, candidates=own, progress=progress)
            if diversity:
                progress.begin(steps - 1, steps)
                plain = solve(base, candidates=candidates, progress=progress)
                diverse = {"by": diversity, "optimum": round(optimum.total / SCALE, 6),
                           "unconstrained": round(plain.total / SCALE, 6),
                           "cost": round((plain.total - optimum.total) / SCALE, 6),
                           "shared_without": shared_groups(plain, instance.group),
                           "certified": optimum.certified and plain.certified}
        _step(job_id, 99, _("Saving the result…"))
    except JobCancelled:
        db.session.rollback()
        db.session.execute(sa.update(Job).where(Job.id == job_id)
                           .values(status=JobStatus.cancelled, finished_at=utcnow(), message=_("Cancelled.")))
        db.session.commit()
        return None
    except AssignmentInfeasible as exc:
        db.session.rollback()
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(
            status=JobStatus.failed, progress=100, finished_at=utcnow(),
            message=_("No valid assignment exists."),
            result={"reasons": exc.reasons,
                    "problems": problems(exc, instance, proposal_rows, reviewer_rows, limits, params)}))
        db.session.commit()
        return None
    existing = {(a, b) for a, b in db.session.execute(
        sa.select(Assignment.proposal_id, Assignment.reviewer_id)
        .where(Assignment.proposal_id.in_([pid for pid, _label in proposal_rows]),
               Assignment.agency_id == params["agency_id"],
               Assignment.state.in_(ACTIVE_ASSIGNMENT_STATES)))}
    pairs = []
    for (i, j), affinity, pinned in zip(solution.pairs.tolist(), solution.affinity.tolist(),
                                       solution.pinned.tolist()):
        (proposal_id, proposal_label), (reviewer_id, reviewer_name) = proposal_rows[i], reviewer_rows[j]
        pairs.append({
            "proposal_id": proposal_id, "proposal": proposal_label,
            "reviewer_id": reviewer_id, "reviewer": reviewer_name,
            "affinity": round(affinity, 6), "pinned": bool(pinned),
            "existing": (proposal_id, reviewer_id) in existing,
        })
    pairs.sort(key=lambda p: (p["proposal"], -p["affinity"]))
    seconds = {**extra_seconds, **{k: v for k, v in solution.phases.items() if isinstance(v, float)}}
    result = {"pairs": pairs, "total_affinity": round(solution.total / SCALE, 6),
              "certified_optimal": solution.certified and randomness is None, "gap": solution.gap / SCALE,
              "rounds": solution.rounds, "random": randomness, "floor": floored, "diversity": diverse,
              "seconds": {k: round(v, 3) for k, v in seconds.items()}}
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(
        status=JobStatus.done, progress=100, finished_at=utcnow(), result=result,
        message=_("Done: %(n)s pairs, total affinity %(t)s.", n=len(pairs), t=result["total_affinity"])))
    db.session.commit()
    return result


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _editable(actor, job: Job) -> dict:
    if not can_manage_job(actor, job):
        raise NotAllowed(_("You cannot change this proposed assignment."))
    if job.status != JobStatus.done or not job.result or "pairs" not in job.result:
        raise DomainError(_("This assignment is not ready to be checked."))
    if job.result.get("approved_at"):
        raise DomainError(_("This assignment is already approved."))
    return dict(job.result)


def remove_pair(actor, job: Job, proposal_id: int, reviewer_id: int) -> Job:
    result = _editable(actor, job)
    pairs = [p for p in result["pairs"]
             if not (p["proposal_id"] == proposal_id and p["reviewer_id"] == reviewer_id and not p["existing"])]
    if len(pairs) == len(result["pairs"]):
        raise DomainError(_("There is no such pair to remove (existing assignments are changed on the proposal)."))
    job.result = {**result, "pairs": pairs, "adjusted": True}
    log_action(actor, "assignment_job.remove", job, after={"proposal_id": proposal_id, "reviewer_id": reviewer_id})
    return job


def toggle_pin(actor, job: Job, proposal_id: int, reviewer_id: int) -> Job:
    result = _editable(actor, job)
    pairs = [dict(p) for p in result["pairs"]]
    for p in pairs:
        if p["proposal_id"] == proposal_id and p["reviewer_id"] == reviewer_id:
            p["pinned"] = not p["pinned"]
            break
    else:
        raise DomainError(_("There is no such pair."))
    job.result = {**result, "pairs": pairs}
    log_action(actor, "assignment_job.pin", job, after={"proposal_id": proposal_id, "reviewer_id": reviewer_id})
    return job


def add_pair(actor, job: Job, proposal_id: int, reviewer_id: int) -> Job:
    """Add a pair by hand, checked like a manual assignment (pool, conflicts, duplicates)."""
    from cfp.reviews.operations import detected_conflict

    result = _editable(actor, job)
    params = job.params
    proposal = db.session.get(Proposal, proposal_id)
    reviewer = db.session.get(User, reviewer_id)
    profile = db.session.scalar(sa.select(ReviewerProfile).filter_by(user_id=reviewer_id)) if reviewer else None
    if proposal is None or proposal.call_id != params["call_id"] or proposal.state not in ASSIGNABLE_STATES:
        raise DomainError(_("This proposal cannot be sent to reviewers."))
    if profile is None or profile.agency_id != params["agency_id"]:
        raise DomainError(_("This person is not in this side's reviewer pool."))
    conflict = detected_conflict(proposal, reviewer, profile)
    if conflict:
        raise DomainError(_("Conflict of interest: %(why)s.", why=conflict))
    if any(p["proposal_id"] == proposal_id and p["reviewer_id"] == reviewer_id for p in result["pairs"]):
        raise DomainError(_("%(name)s is already proposed for this proposal.", name=reviewer.name))
    pair = {"proposal_id": proposal.id, "proposal": proposal.reference or proposal.title,
            "reviewer_id": reviewer.id, "reviewer": reviewer.name, "affinity": None,
            "pinned": True, "existing": False}
    job.result = {**result, "pairs": [*result["pairs"], pair], "adjusted": True}
    log_action(actor, "assignment_job.add", job, after={"proposal_id": proposal_id, "reviewer_id": reviewer_id})
    return job


def pinned_pairs(job: Job) -> list[tuple[int, int]]:
    return [(p["proposal_id"], p["reviewer_id"]) for p in (job.result or {}).get("pairs", []) if p["pinned"]]


def approve_assignment(actor, job: Job, due_at: datetime) -> list[Assignment]:
    """Create the proposed assignments (method automatic) and invite the reviewers; every
    pair goes through assign_reviewer's checks, and one refusal refuses them all."""
    from cfp.reviews.operations import assign_reviewer

    result = _editable(actor, job)
    created, errors = [], []
    for pair in result["pairs"]:
        if pair["existing"]:
            continue
        proposal = db.session.get(Proposal, pair["proposal_id"])
        reviewer = db.session.get(User, pair["reviewer_id"])
        try:
            with db.session.begin_nested():
                created.append(assign_reviewer(actor, proposal, reviewer, job.params["agency_id"], due_at,
                                               method=AssignmentMethod.automatic))
        except DomainError as exc:
            errors.append(f"{pair['proposal']} — {pair['reviewer']}: {exc.message}")
    if errors:
        raise DomainError(_("Nothing was approved: %(errors)s", errors="; ".join(errors)))
    job.result = {**result, "approved_at": utcnow().isoformat(), "approved_by": actor.id}
    log_action(actor, "assignment_job.approve", job, after={"created": len(created)})
    return created
